#include <syn/errors.hpp>
#include <syn/node.hpp>

#include <functional>
#include <map>

namespace syn {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw Error(Errc::bad_argument, "NodeOptions key '" + key + "' " + problem);
}

std::string read_string(const std::string& key, const Term& value) {
  if (!value.is_string()) bad(key, "must be a string");
  return value.get<std::string>();
}

std::vector<std::string> read_strings(const std::string& key, const Term& value) {
  if (!value.is_array()) bad(key, "must be an array of strings");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) bad(key, "must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool read_bool(const std::string& key, const Term& value) {
  if (!value.is_boolean()) bad(key, "must be true or false");
  return value.get<bool>();
}

std::chrono::milliseconds read_millis(const std::string& key, const Term& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) {
    bad(key, "must be a positive integer (milliseconds)");
  }
  return std::chrono::milliseconds(value.get<std::int64_t>());
}

std::size_t read_size(const std::string& key, const Term& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0) bad(key, "must be a positive integer (bytes)");
  return static_cast<std::size_t>(value.get<std::uint64_t>());
}

/// A size where 0 says "no bound".
std::size_t read_size_or_zero(const std::string& key, const Term& value) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) bad(key, "must be a non-negative integer (bytes)");
  return static_cast<std::size_t>(value.get<std::uint64_t>());
}

}  // namespace

NodeOptions NodeOptions::from_json(const Term& json) {
  if (!json.is_object()) throw Error(Errc::bad_argument, "NodeOptions must be a JSON object");
  NodeOptions o;
  using Reader = std::function<void(const std::string&, const Term&)>;
  const std::map<std::string, Reader> readers = {
      {"name", [&](auto& k, auto& v) { o.name = read_string(k, v); }},
      {"listen", [&](auto& k, auto& v) { o.listen = read_string(k, v); }},
      {"advertise", [&](auto& k, auto& v) { o.advertise = read_string(k, v); }},
      {"seeds", [&](auto& k, auto& v) { o.seeds = read_strings(k, v); }},
      {"scopes", [&](auto& k, auto& v) { o.scopes = read_strings(k, v); }},
      {"auto_connect", [&](auto& k, auto& v) { o.auto_connect = read_bool(k, v); }},
      {"strict_mode", [&](auto& k, auto& v) { o.strict_mode = read_bool(k, v); }},
      {"heartbeat_interval", [&](auto& k, auto& v) { o.heartbeat_interval = read_millis(k, v); }},
      {"peer_timeout", [&](auto& k, auto& v) { o.peer_timeout = read_millis(k, v); }},
      {"call_timeout", [&](auto& k, auto& v) { o.call_timeout = read_millis(k, v); }},
      {"cluster_key", [&](auto& k, auto& v) { o.cluster_key = read_string(k, v); }},
      {"cluster_key_file", [&](auto& k, auto& v) { o.cluster_key_file = read_string(k, v); }},
      {"cluster_keys_accepted", [&](auto& k, auto& v) { o.cluster_keys_accepted = read_strings(k, v); }},
      {"allow_insecure", [&](auto& k, auto& v) { o.allow_insecure = read_bool(k, v); }},
      {"max_term_bytes", [&](auto& k, auto& v) { o.max_term_bytes = read_size(k, v); }},
      {"control", [&](auto& k, auto& v) { o.control = read_string(k, v); }},
      {"control_writes", [&](auto& k, auto& v) { o.control_writes = read_bool(k, v); }},
      {"max_protocol_version",
       [&](auto& k, auto& v) {
         if (!v.is_number_integer() || v.template get<std::int64_t>() < 0 ||
             v.template get<std::int64_t>() > 0xffffffffLL) {
           bad(k, "must be a protocol version (a non-negative integer)");
         }
         o.max_protocol_version = v.template get<std::uint32_t>();
       }},
      {"max_link_backlog", [&](auto& k, auto& v) { o.max_link_backlog = read_size_or_zero(k, v); }},
      {"multicast_max_in_flight", [&](auto& k, auto& v) { o.multicast_max_in_flight = read_size(k, v); }},
      {"multicast_max_lag", [&](auto& k, auto& v) { o.multicast_max_lag = read_millis(k, v); }},
      {"view_change_timeout", [&](auto& k, auto& v) { o.view_change_timeout = read_millis(k, v); }},
      {"event_handler", [&](auto& k, auto&) { bad(k, "cannot be set from JSON (set it in code)"); }},
      {"conflict_resolver", [&](auto& k, auto&) { bad(k, "cannot be set from JSON (set it in code)"); }},
  };
  for (const auto& [key, value] : json.items()) {
    auto it = readers.find(key);
    if (it == readers.end()) bad(key, "is not an option");
    it->second(key, value);
  }
  return o;
}

}  // namespace syn
