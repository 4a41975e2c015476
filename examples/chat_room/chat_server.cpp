#include "chat_server.hpp"

#include "common/cluster_key.hpp"

#include <cstdio>

namespace examples {

namespace {

syn::NodeOptions server_options(const std::string& name, const std::vector<std::string>& seeds) {
  syn::NodeOptions options;
  options.name = name;
  options.seeds = seeds;
  options.cluster_key_file = demo_cluster_key_file();  // the key the demo made (links encrypted)
  options.scopes = {"chat"};
  options.heartbeat_interval = std::chrono::milliseconds(100);
  options.peer_timeout = std::chrono::milliseconds(1000);
  return options;
}

std::string who(const syn::Member& m) { return m.meta.value("nick", std::string("?")) + "@" + m.pid.node(); }

}  // namespace

ChatServer::ChatServer(const std::string& name, const std::vector<std::string>& seeds)
    : node_(server_options(name, seeds)) {}

ChatServer::~ChatServer() {
  subscriptions_.clear();  // no presence lines while users disconnect
  std::lock_guard lock(mutex_);
  for (auto& [nick, user] : users_) {
    user->process.exit("server stopped");
    user->reader.join();
  }
}

void ChatServer::watch_presence(const std::string& room) {
  std::vector<syn::Member> present;
  std::string server = node_.name();
  auto subscription = rooms().monitor(
      room,
      [server, room](const syn::GroupEvent& event) {
        const char* what = event.type == syn::GroupEvent::Type::join    ? "arrives"
                           : event.type == syn::GroupEvent::Type::leave ? "leaves"
                                                                        : "is now";
        for (const auto& m : event.members) {
          std::string status = event.type == syn::GroupEvent::Type::update ? " " + m.meta.value("status", "") : "";
          std::printf("    [%s] presence in %s: %s %s%s\n", server.c_str(), room.c_str(), who(m).c_str(), what,
                      status.c_str());
        }
        std::fflush(stdout);
      },
      &present);
  std::printf("    [%s] presence in %s: %zu there when it started watching\n", server.c_str(), room.c_str(),
              present.size());
  std::fflush(stdout);
  std::lock_guard lock(mutex_);
  subscriptions_.push_back(std::move(subscription));
}

syn::Result<void> ChatServer::enter(const std::string& nick, const std::string& room) {
  auto user = std::make_unique<User>();
  user->nick = nick;
  user->process = node_.spawn();
  auto joined = rooms().join(room, user->process.pid(), {{"nick", nick}, {"status", "online"}});
  if (!joined) return joined;
  user->reader = std::thread([this, u = user.get()] { read_messages(*u); });
  std::lock_guard lock(mutex_);
  users_[nick] = std::move(user);
  return {};
}

void ChatServer::read_messages(User& user) {
  while (user.process.alive()) {
    auto message = user.process.receive(std::chrono::milliseconds(200));
    if (!message) continue;
    if (message->is_multi_call()) {
      // A poll: answer with this user's own meta (given with the request) and an answer.
      message->reply({{"nick", message->caller_meta().value("nick", "")}, {"answer", "yes!"}});
      continue;
    }
    std::printf("    [%s] %s reads: <%s> %s\n", node_.name().c_str(), user.nick.c_str(),
                message->body.value("from", "?").c_str(), message->body.value("text", "").c_str());
    std::fflush(stdout);
  }
}

syn::Result<void> ChatServer::leave(const std::string& nick, const std::string& room) {
  std::unique_ptr<User> user;
  {
    std::lock_guard lock(mutex_);
    auto it = users_.find(nick);
    if (it == users_.end()) return syn::unexpected(syn::Errc::undefined);
    user = std::move(it->second);
    users_.erase(it);
  }
  auto left = rooms().leave(room, user->process.pid());
  user->process.exit("normal");
  user->reader.join();
  return left;
}

syn::Result<syn::Member> ChatServer::set_status(const std::string& nick, const std::string& room,
                                                const std::string& status) {
  syn::Pid pid;
  {
    std::lock_guard lock(mutex_);
    auto it = users_.find(nick);
    if (it == users_.end()) return syn::unexpected(syn::Errc::undefined);
    pid = it->second->process.pid();
  }
  return rooms().update_member(room, pid, [&](const syn::Term& meta) {
    syn::Term next = meta;
    next["status"] = status;
    return next;
  });
}

std::size_t ChatServer::say(const std::string& nick, const std::string& room, const std::string& text) {
  return rooms().publish(room, {{"from", nick}, {"text", text}});
}

syn::MultiCallResult ChatServer::poll(const std::string& room, const std::string& question) {
  return rooms().multi_call(room, {{"question", question}}, std::chrono::milliseconds(1000));
}

}  // namespace examples
