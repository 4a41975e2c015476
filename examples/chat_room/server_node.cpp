// A chat server as a child process of the demo: one command per line on stdin, one answer per
// line on file descriptor 3 (see common/node_process.hpp).
#include "chat_server.hpp"
#include "common/node_process.hpp"

#include <iostream>
#include <sstream>

namespace examples {

int run_server(const std::string& name, const std::vector<std::string>& seeds) {
  ChatServer server(name, seeds);
  answer("ready " + server.node().endpoint());
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command, nick, room;
    in >> command;
    if (command == "watch") {
      in >> room;
      server.watch_presence(room);
      answer("ok");
    } else if (command == "enter") {
      in >> nick >> room;
      auto r = server.enter(nick, room);
      answer(r ? "ok" : std::string(syn::to_string(r.error())));
    } else if (command == "leave") {
      in >> nick >> room;
      auto r = server.leave(nick, room);
      answer(r ? "ok" : std::string(syn::to_string(r.error())));
    } else if (command == "status") {
      std::string status;
      in >> nick >> room >> status;
      auto r = server.set_status(nick, room, status);
      answer(r ? r->meta.dump() : std::string(syn::to_string(r.error())));
    } else if (command == "say") {
      in >> nick >> room;
      std::string text;
      std::getline(in >> std::ws, text);
      answer(std::to_string(server.say(nick, room, text)));
    } else if (command == "poll") {
      in >> room;
      std::string question;
      std::getline(in >> std::ws, question);
      auto result = server.poll(room, question);
      std::string out = std::to_string(result.replies.size()) + " answers:";
      for (const auto& [member, reply] : result.replies) out += " " + reply.dump();
      out += ", no answer from " + std::to_string(result.bad_replies.size());
      answer(out);
    } else if (command == "members") {
      in >> room;
      answer(std::to_string(server.rooms().member_count(room)));
    } else if (command == "nodes") {
      answer(std::to_string(server.node().nodes().size()));
    } else if (command == "quit") {
      answer("bye");
      break;
    } else {
      answer("unknown command: " + command);
    }
  }
  return 0;
}

}  // namespace examples
