#include "device_gateway.hpp"

#include "common/cluster_key.hpp"

#include <cstdio>

namespace examples {

namespace {

syn::NodeOptions gateway_options(const std::string& name, const std::vector<std::string>& seeds) {
  syn::NodeOptions options;
  options.name = name;
  options.seeds = seeds;
  options.cluster_key_file = demo_cluster_key_file();  // the key the demo made (links encrypted)
  options.scopes = {"devices"};
  options.event_handler = std::make_shared<DeviceEvents>(name);
  options.conflict_resolver = keep_newest_firmware;
  // Quick failure detection for a demo on one machine.
  options.heartbeat_interval = std::chrono::milliseconds(100);
  options.peer_timeout = std::chrono::milliseconds(1000);
  return options;
}

void print(const std::string& node, const std::string& line) {
  std::printf("    [%s] %s\n", node.c_str(), line.c_str());
  std::fflush(stdout);
}

}  // namespace

void DeviceEvents::on_process_registered(std::string_view, const syn::Term& name, const syn::Pid& pid,
                                         const syn::Term& meta, const syn::Reason& reason) {
  print(node_, "+ " + name.get<std::string>() + " -> " + pid.to_string() + " " + meta.dump() + "  (" +
                   reason.to_string() + ")");
}

void DeviceEvents::on_registry_process_updated(std::string_view, const syn::Term& name, const syn::Pid& pid,
                                               const syn::Term& previous, const syn::Term& meta,
                                               const syn::Reason& reason) {
  print(node_, "~ " + name.get<std::string>() + " " + pid.to_string() + " " + previous.dump() + " => " + meta.dump() +
                   "  (" + reason.to_string() + ")");
}

void DeviceEvents::on_process_unregistered(std::string_view, const syn::Term& name, const syn::Pid& pid,
                                           const syn::Term&, const syn::Reason& reason) {
  print(node_, "- " + name.get<std::string>() + " " + pid.to_string() + "  (" + reason.to_string() + ")");
}

std::optional<syn::Pid> keep_newest_firmware(std::string_view, const syn::Term&, const syn::ConflictCandidate& incoming,
                                             const syn::ConflictCandidate& local) {
  auto firmware = [](const syn::ConflictCandidate& c) { return c.meta.value("firmware", std::string()); };
  if (firmware(incoming) != firmware(local)) { return firmware(incoming) > firmware(local) ? incoming.pid : local.pid; }
  if (incoming.time != local.time) return incoming.time > local.time ? incoming.pid : local.pid;
  return std::max(incoming.pid, local.pid);
}

DeviceGateway::DeviceGateway(const std::string& name, const std::vector<std::string>& seeds)
    : node_(gateway_options(name, seeds)) {}

DeviceGateway::~DeviceGateway() {
  std::lock_guard lock(mutex_);
  for (auto& device : connected_) {
    device->process.exit("gateway stopped");
    device->worker.join();
  }
}

syn::Result<void> DeviceGateway::connect_device(int serial, const std::string& firmware, const std::string& site) {
  auto device = std::make_unique<Device>();
  device->process = node_.spawn();
  auto registered =
      devices().register_name(device_name(serial), device->process.pid(), {{"firmware", firmware}, {"site", site}});
  if (!registered) return registered;
  device->worker = std::thread([this, d = device.get(), serial] { serve(d->process, serial); });
  std::lock_guard lock(mutex_);
  connected_.push_back(std::move(device));
  return {};
}

void DeviceGateway::serve(syn::Process& self, int serial) {
  // A device answers {"ping": <reply-to pid>} with its status, until its process ends.
  while (self.alive()) {
    auto message = self.receive(std::chrono::milliseconds(200));
    if (!message || !message->body.contains("ping")) continue;
    auto reply_to = message->body["ping"].get<syn::Pid>();
    node_.send(reply_to, {{"serial", serial}, {"status", "ok"}, {"gateway", node_.name()}});
  }
}

std::optional<syn::Term> DeviceGateway::ping(int serial, std::chrono::milliseconds timeout) {
  syn::Process inbox = node_.spawn();  // a short-lived process to receive the answer
  if (!devices().send(device_name(serial), {{"ping", inbox.pid()}})) return std::nullopt;
  auto reply = inbox.receive(timeout);
  if (!reply) return std::nullopt;
  return reply->body;
}

}  // namespace examples
