#pragma once
// The offline checker of MULTICAST.md: given what every member's callbacks recorded (syn-node's
// multicast_member in the process tests, the simulator's recorder in tests/sim: its views in
// order, each message with the view it was received in), lists
// every break of SPEC 8's rules that the logs can show. Messages are [tag, n] terms; a
// publisher's messages of one tag are numbered 1, 2, ... in publish order.
#include <syn/term.hpp>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace syn::test::multicast {

/// "<coordinator>#<number>", as syn-node names the view a message was received in.
inline std::string view_name(const Term& view) {
  return view.at("coordinator").get<std::string>() + "#" + std::to_string(view.at("number").get<std::uint64_t>());
}

/// Every rule broken, in words (empty: the logs keep SPEC 8). `records` maps a member's pid to
/// its record.
inline std::vector<std::string> check_multicast_logs(const std::map<std::string, Term>& records) {
  std::vector<std::string> broken;
  using Message = std::tuple<std::string, std::string, std::int64_t>;  // from, tag, n
  std::map<std::string, Term> members_of_view;                         // view name -> members
  // member -> view name -> the messages received in it
  std::map<std::string, std::map<std::string, std::set<Message>>> received_in;

  for (const auto& [member, rec] : records) {
    // 8.1.1: one member list per view, everywhere. 8.1.2: views in order.
    std::uint64_t last_number = 0;
    for (const auto& view : rec.at("views")) {
      auto name = view_name(view);
      auto [it, fresh] = members_of_view.emplace(name, view.at("members"));
      if (!fresh && it->second != view.at("members")) {
        broken.push_back("view " + name + " has two member lists: " + it->second.dump() + " and " +
                         view.at("members").dump() + " (at " + member + ")");
      }
      auto number = view.at("number").get<std::uint64_t>();
      if (number <= last_number) {
        broken.push_back(member + " installed view " + name + " after a view numbered " + std::to_string(last_number));
      }
      last_number = number;
      received_in[member][name];  // every view, even one in which nothing arrived
    }
    // 8.2.1: per publisher and tag, in publish order and each once. 8.2.2: the publisher is a
    // member of the view its message was received in.
    std::map<std::pair<std::string, std::string>, std::int64_t> last_of;
    for (const auto& r : rec.at("received")) {
      const auto& message = r.at("message");
      if (!message.is_array() || message.size() != 2) continue;  // not one of the numbered streams
      auto from = r.at("from").get<std::string>();
      auto tag = message[0].get<std::string>();
      auto n = message[1].get<std::int64_t>();
      auto& last = last_of[{from, tag}];
      if (n <= last) {
        broken.push_back(member + " received " + from + "'s " + tag + " #" + std::to_string(n) + " after #" +
                         std::to_string(last));
      }
      last = n;
      auto view = r.at("view").get<std::string>();
      auto in_view = members_of_view.find(view);
      bool publisher_in_view = false;
      if (in_view != members_of_view.end()) {
        for (const auto& pid : in_view->second) publisher_in_view |= pid == from;
      }
      if (!publisher_in_view) {
        broken.push_back(member + " received " + from + "'s " + tag + " #" + std::to_string(n) + " in view " + view +
                         ", which does not hold its publisher");
      }
      received_in[member][view].insert({from, tag, n});
    }
  }

  // 8.2.3: two members that install V and then the same next view received the same messages
  // in V (virtual synchrony).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, const std::set<Message>*>> seen;
  for (const auto& [member, rec] : records) {
    const auto& views = rec.at("views");
    for (std::size_t i = 0; i + 1 < views.size(); ++i) {
      auto from_view = view_name(views[i]), to_view = view_name(views[i + 1]);
      const auto* got = &received_in[member][from_view];
      auto [it, fresh] = seen.emplace(std::make_pair(from_view, to_view), std::make_pair(member, got));
      if (!fresh && *it->second.second != *got) {
        broken.push_back(member + " and " + it->second.first + " both went from view " + from_view + " to " + to_view +
                         " but received " + std::to_string(got->size()) + " and " +
                         std::to_string(it->second.second->size()) + " different messages in it");
      }
    }
  }
  return broken;
}

}  // namespace syn::test::multicast
