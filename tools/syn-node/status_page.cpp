// syn-node's status page: what an operator looks at first. It is built from the same answers
// synctl gets (syn::control_request: nodes, scopes, recent_events, stats), so both always
// agree, rates of writes and traffic since the last load, and it reloads itself every two
// seconds.
#include "http_server.hpp"

#include <syn/control.hpp>
#include <syn/metrics.hpp>
#include <syn/version.hpp>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace syn_node {

namespace {

std::string html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string cell(const syn::Term& value) { return html(value.is_string() ? value.get<std::string>() : value.dump()); }

std::string join(const syn::Term& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + cell(n);
  return out.empty() ? "&ndash;" : out;
}

/// "HH:MM:SS" (UTC) of a time in milliseconds since the epoch.
std::string clock_time(std::int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &utc);
  return text;
}

std::string per_second(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, rate < 10 ? "%.1f/s" : "%.0f/s", rate);
  return text;
}

const char* kStyle = R"(<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:.3em .9em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f4f4f4}.up{color:#080;font-weight:600}.down{color:#b00;font-weight:600}
.ready{color:#080}.unready{color:#b60}small{color:#666}
</style>)";

}  // namespace

RateMeter::Rates RateMeter::look(const syn::Metrics& metrics, std::uint64_t events_seen) {
  Totals now{std::chrono::steady_clock::now(), {}, 0, 0, events_seen};
  for (const auto& scope : metrics.scopes) {
    for (const auto& [call, n] : scope.writes) now.writes[scope.scope] += n;
  }
  for (const auto& peer : metrics.peers) {
    now.frames_in += peer.frames_in;
    now.frames_out += peer.frames_out;
  }
  std::lock_guard lock(mutex_);
  Rates rates;
  if (last_) {
    double seconds = std::chrono::duration<double>(now.at - last_->at).count();
    if (seconds > 0) {
      rates.known = true;
      // Counters only grow; a peer forgotten between looks takes its frames with it.
      auto delta = [seconds](std::uint64_t a, std::uint64_t b) { return b > a ? double(b - a) / seconds : 0.0; };
      for (const auto& [scope, n] : now.writes) {
        auto it = last_->writes.find(scope);
        rates.writes[scope] = delta(it == last_->writes.end() ? 0 : it->second, n);
      }
      rates.frames_in = delta(last_->frames_in, now.frames_in);
      rates.frames_out = delta(last_->frames_out, now.frames_out);
      rates.events = delta(last_->events, now.events);
    }
  }
  last_ = std::move(now);
  return rates;
}

std::string status_page(syn::Node& node, RateMeter& meter) {
  auto recent = syn::control_request(node, {{"cmd", "recent_events"}, {"n", 15}});
  auto rates = meter.look(node.metrics(), recent.value("seen", std::uint64_t{0}));
  auto rate_of = [&](double value) { return rates.known ? per_second(value) : std::string("&ndash;"); };
  auto nodes = syn::control_request(node, {{"cmd", "nodes"}});
  auto scopes = syn::control_request(node, {{"cmd", "scopes"}});
  auto stats = syn::control_request(node, {{"cmd", "stats"}});
  bool ready = node.ready();
  std::string page = "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">";
  page += "<title>syn node " + html(node.name()) + "</title>" + kStyle + "</head><body>";
  page += "<h1>syn node <span id=\"node\">" + html(node.name()) + "</span></h1>";
  page += "<p>creation " + std::to_string(node.creation()) + " &middot; " + html(node.endpoint()) + " &middot; syn " +
          syn::version + " &middot; <span id=\"ready\" class=\"" + (ready ? "ready\">ready" : "unready\">not ready") +
          "</span></p>";

  page +=
      "<h2>Nodes</h2><table id=\"nodes\"><tr><th>node</th><th>endpoint</th><th>creation</th><th>state</th>"
      "<th>last heard</th><th>links lost</th><th>last loss</th></tr>";
  page += "<tr class=\"node\" data-node=\"" + html(node.name()) + "\"><td>" + html(node.name()) +
          " <small>(this node)</small></td><td>" + html(node.endpoint()) + "</td><td>" +
          std::to_string(node.creation()) +
          "</td><td class=\"up\">up</td><td>&ndash;</td><td>&ndash;</td><td>&ndash;</td></tr>";
  for (const auto& link : nodes["links"]) {
    bool up = link.value("state", "") == "up";
    page += "<tr class=\"node\" data-node=\"" + cell(link["node"]) + "\"><td>" + cell(link["node"]) + "</td><td>" +
            cell(link["endpoint"]) + "</td><td>" + cell(link["creation"]) + "</td><td class=\"" + (up ? "up" : "down") +
            "\">" + cell(link["state"]) + "</td><td>" + cell(link["last_heard_ms"]) + " ms ago</td><td>" +
            cell(link["downs"]) + "</td><td>" + cell(link["last_down"]) + "</td></tr>";
  }
  page += "</table>";

  page +=
      "<h2>Scopes</h2><table id=\"scopes\"><tr><th>scope</th><th>names</th><th>local names</th><th>groups</th>"
      "<th>members</th><th>multicast groups</th><th>writes here</th><th>registry nodes</th><th>groups nodes</th></tr>";
  for (const auto& s : scopes["details"]) {
    page += "<tr><td>" + cell(s["scope"]) + "</td><td>" + cell(s["names"]) + "</td><td>" + cell(s["local_names"]) +
            "</td><td>" + cell(s["groups"]) + "</td><td>" + cell(s["members"]) + "</td><td>" +
            cell(s["multicast_groups"]) + "</td><td>" + rate_of(rates.writes[s["scope"].get<std::string>()]) +
            "</td><td>" + join(s["registry_nodes"]) + "</td><td>" + join(s["groups_nodes"]) + "</td></tr>";
  }
  page += "</table>";

  page += "<h2>Last events</h2><table id=\"events\"><tr><th>time</th><th>event</th><th>details</th></tr>";
  const auto& lines = recent["events"];
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {  // newest first
    std::string details;
    for (const auto& [key, value] : it->items()) {
      if (key == "event" || key == "node" || key == "time_ms") continue;
      details += (details.empty() ? "" : ", ") + html(key) + " " + cell(value);
    }
    page += "<tr class=\"event\"><td>" + clock_time(it->value("time_ms", std::int64_t{0})) + "</td><td>" +
            cell((*it)["event"]) + "</td><td>" + details + "</td></tr>";
  }
  if (lines.empty()) page += "<tr><td colspan=\"3\"><small>none since syn-node started</small></td></tr>";
  page += "</table>";
  page += "<h2>Traffic</h2><table id=\"traffic\"><tr><td>frames received</td><td>" + rate_of(rates.frames_in) +
          "</td></tr><tr><td>frames sent</td><td>" + rate_of(rates.frames_out) + "</td></tr><tr><td>events</td><td>" +
          rate_of(rates.events) + "</td></tr></table>";
  page += "<h2>Counters</h2><table id=\"counters\">";
  for (const auto& [key, value] : stats.items()) {
    if (key != "ok") page += "<tr><td>" + html(key) + "</td><td>" + cell(value) + "</td></tr>";
  }
  page +=
      "</table><p><small>Reloads every 2 s. Metrics: <a href=\"/metrics\">/metrics</a> &middot; "
      "<a href=\"/healthz\">/healthz</a> &middot; <a href=\"/readyz\">/readyz</a></small></p></body></html>";
  return page;
}

}  // namespace syn_node
