#pragma once
// A chat server: one syn node; rooms are groups of the "chat" scope, users are processes that
// join them with their nickname as meta. Messages to a room are published to its members on
// every server; presence comes from a subscription to the room (OTP pg style).
//
// The part to copy: join/leave/update_member, publish, multi_call, monitor.
#include <syn/syn.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace examples {

class ChatServer {
 public:
  ChatServer(const std::string& name, const std::vector<std::string>& seeds);
  ~ChatServer();

  syn::Node& node() { return node_; }
  syn::Groups rooms() { return node_.groups("chat"); }

  /// Shows who is in `room` now, then every arrival, departure and status change.
  void watch_presence(const std::string& room);
  /// A user connects to this server and enters a room.
  syn::Result<void> enter(const std::string& nick, const std::string& room);
  /// A user leaves the room (and disconnects).
  syn::Result<void> leave(const std::string& nick, const std::string& room);
  /// Changes a user's status (the member's meta) atomically.
  syn::Result<syn::Member> set_status(const std::string& nick, const std::string& room, const std::string& status);
  /// Publishes a line to everyone in the room, on every server; returns the recipients.
  std::size_t say(const std::string& nick, const std::string& room, const std::string& text);
  /// Asks everyone in the room a question and gathers the answers (scatter/gather).
  syn::MultiCallResult poll(const std::string& room, const std::string& question);

 private:
  struct User {
    std::string nick;
    syn::Process process;
    std::thread reader;
  };
  void read_messages(User& user);

  syn::Node node_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<User>> users_;
  std::vector<syn::Subscription> subscriptions_;
};

}  // namespace examples
