#include "output.hpp"

#include "table.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace synctl {

namespace {

/// True when `text` holds a control character (a newline, an escape sequence): printed as it
/// is, a name could split an event into two lines or drive the operator's terminal.
bool has_control(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

/// A cell: strings as they are unless they hold control characters (then quoted, escaped as
/// JSON is), anything else as compact JSON (which escapes them too).
std::string cell(const syn::Term& value) {
  if (value.is_string() && !has_control(value.get_ref<const std::string&>())) return value.get<std::string>();
  return value.dump();
}

std::string field(const syn::Term& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? std::string() : cell(*it);
}

/// A node's incarnation: `creation` from a node of a build before it said `incarnation`.
std::string incarnation(const syn::Term& object) {
  return object.contains("incarnation") ? field(object, "incarnation") : field(object, "creation");
}

std::string join(const syn::Term& array) {
  std::string out;
  for (const auto& item : array) out += (out.empty() ? "" : ",") + cell(item);
  return out.empty() ? "-" : out;
}

std::string heard(const syn::Term& link) {
  if (link.value("state", "") != "up" && link.value("last_heard_ms", 0) == 0) return "-";
  return field(link, "last_heard_ms") + "ms ago";
}

void print_nodes(const syn::Term& a) {
  Table t({"NODE", "ENDPOINT", "INCARNATION", "STATE", "LAST HEARD", "DOWNS", "LAST DOWN", "PROTOCOL", "UNREAD"});
  for (const auto& l : a["links"]) {
    auto last_down = field(l, "last_down");
    auto protocol = l.value("protocol", 0);
    // A node of an older build answers without unread_bytes; a peer of protocol 4 or older
    // never says what it read.
    auto unread = l.contains("unread_bytes") && protocol >= 5 ? field(l, "unread_bytes") : "-";
    t.add({field(l, "node"), field(l, "endpoint"), incarnation(l), field(l, "state"), heard(l), field(l, "downs"),
           last_down.empty() ? "-" : last_down, protocol == 0 ? "-" : std::to_string(protocol), unread});
  }
  if (t.empty()) {
    std::printf("no peers\n");
    return;
  }
  t.print();
}

void print_scopes(const syn::Term& a) {
  Table t({"SCOPE", "NAMES", "LOCAL", "GROUPS", "MEMBERS", "MULTICAST", "REGISTRY NODES", "GROUPS NODES"});
  for (const auto& d : a["details"]) {
    t.add({field(d, "scope"), field(d, "names"), field(d, "local_names"), field(d, "groups"), field(d, "members"),
           field(d, "multicast_groups"), join(d["registry_nodes"]), join(d["groups_nodes"])});
  }
  if (t.empty()) {
    std::printf("no scopes\n");
    return;
  }
  t.print();
}

void print_names(const syn::Term& a) {
  Table t({"NAME", "PID", "META"});
  for (const auto& n : a["names"]) t.add({cell(n["name"]), field(n, "pid"), n["meta"].dump()});
  if (!t.empty()) t.print();
  std::printf("%zu shown, %s matching\n", a["names"].size(), field(a, "matching").c_str());
  if (!a["next"].is_null()) std::printf("more: --after '%s'\n", cell(a["next"]).c_str());
}

void print_pid_meta(const syn::Term& rows) {
  Table t({"PID", "META"});
  for (const auto& m : rows) t.add({field(m, "pid"), m["meta"].dump()});
  if (t.empty()) {
    std::printf("no members\n");
    return;
  }
  t.print();
}

void print_groups(const syn::Term& a) {
  Table t({"GROUP", "MEMBERS", "LOCAL"});
  for (const auto& g : a["groups"]) t.add({cell(g["group"]), field(g, "members"), field(g, "local_members")});
  if (t.empty()) {
    std::printf("no groups\n");
    return;
  }
  t.print();
}

void print_views(const syn::Term& a) {
  Table t({"GROUP", "COORDINATOR", "VIEW", "MEMBERS"});
  for (const auto& v : a["views"]) {
    t.add({cell(v["group"]), field(v, "coordinator"), field(v, "number"), join(v["members"])});
  }
  if (t.empty()) {
    std::printf("no multicast group with a member on this node\n");
    return;
  }
  t.print();
}

void print_fields(const syn::Term& a) {
  Table t({"COUNTER", "VALUE"});
  for (const auto& [key, value] : a.items()) {
    if (key != "ok" && key != "id") t.add({key, cell(value)});
  }
  t.print();
}

}  // namespace

int Printer::answer(const std::string& cmd, const syn::Term& a) const {
  bool negative = (cmd == "ready" && !a.value("ready", false)) || (cmd == "lookup" && !a.value("found", false));
  if (json_) {
    std::printf("%s\n", a.dump().c_str());
    return negative ? 1 : 0;
  }
  if (cmd == "nodes") print_nodes(a);
  if (cmd == "scopes") print_scopes(a);
  if (cmd == "names") print_names(a);
  if (cmd == "groups") print_groups(a);
  if (cmd == "members") print_pid_meta(a["members"]);
  if (cmd == "views") print_views(a);
  if (cmd == "stats") print_fields(a);
  if (cmd == "add_scopes" || cmd == "remove_scopes") {
    std::string list;
    for (const auto& scope : a["scopes"]) list += (list.empty() ? "" : " ") + scope.get<std::string>();
    std::printf("scopes: %s\n", list.empty() ? "(none)" : list.c_str());
  }
  if (cmd == "register" || cmd == "unregister" || cmd == "join" || cmd == "leave" || cmd == "kill") {
    std::printf("ok\n");
  }
  if (cmd == "metrics") std::printf("%s", field(a, "prometheus").c_str());
  if (cmd == "lookup") {
    if (negative) {
      std::printf("not registered\n");
    } else {
      std::printf("%s  meta %s\n", field(a, "pid").c_str(), a["meta"].dump().c_str());
    }
  }
  if (cmd == "health") {
    std::printf("alive: %s (incarnation %s) at %s, syn %s, protocol %s\n", field(a, "node").c_str(),
                incarnation(a).c_str(), field(a, "endpoint").c_str(), field(a, "version").c_str(),
                field(a, "protocol").c_str());
  }
  if (cmd == "ready") {
    if (!negative) {
      std::printf("ready\n");
    } else if (!a.value("seed_reached", false)) {
      std::printf("not ready: no seed reached yet\n");
    } else {
      std::string waiting;
      for (const auto& s : a["syncing"]) waiting += " " + field(s, "kind") + "/" + field(s, "scope");
      std::printf("not ready: syncing%s\n", waiting.c_str());
    }
  }
  return negative ? 1 : 0;
}

int Printer::failure(const syn::Term& a) const {
  std::fprintf(stderr, "synctl: %s (%s)\n", field(a, "error").c_str(), field(a, "code").c_str());
  return 2;
}

void Printer::event(const syn::Term& line) const {
  if (json_) {
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
    return;
  }
  std::time_t seconds = line.value("time_ms", std::int64_t{0}) / 1000;
  char clock[16] = "--:--:--";
  std::tm tm{};
  if (localtime_r(&seconds, &tm)) std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  std::string text = std::string(clock) + "  " + field(line, "event");
  for (const auto& [key, value] : line.items()) {
    if (key == "event" || key == "time_ms" || key == "node") continue;
    text += "  " + key + "=" + cell(value);
  }
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace synctl
