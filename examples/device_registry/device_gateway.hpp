#pragma once
// An IoT gateway: it runs one syn node, owns the devices connected to it (one syn process per
// device) and registers each under its serial number in the "devices" scope, so that any
// gateway of the cluster finds any device with a local lookup.
//
// This is the part of the example to copy: options, an event handler, a conflict resolver,
// processes that serve requests, register / lookup / send by name.
#include <syn/syn.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace examples {

/// Prints every registry change this node sees, one line each.
class DeviceEvents : public syn::EventHandler {
 public:
  explicit DeviceEvents(std::string node) : node_(std::move(node)) {}
  void on_process_registered(std::string_view scope, const syn::Term& name, const syn::Pid& pid, const syn::Term& meta,
                             const syn::Reason& reason) override;
  void on_registry_process_updated(std::string_view scope, const syn::Term& name, const syn::Pid& pid,
                                   const syn::Term& previous, const syn::Term& meta,
                                   const syn::Reason& reason) override;
  void on_process_unregistered(std::string_view scope, const syn::Term& name, const syn::Pid& pid,
                               const syn::Term& meta, const syn::Reason& reason) override;

 private:
  std::string node_;
};

/// After a net split, the same device may have registered through two gateways. Keep the
/// registration that reports the newer firmware (ties: the more recent registration). Both
/// owners run this and must agree, so it only looks at the candidates.
std::optional<syn::Pid> keep_newest_firmware(std::string_view scope, const syn::Term& name,
                                             const syn::ConflictCandidate& incoming,
                                             const syn::ConflictCandidate& local);

class DeviceGateway {
 public:
  /// Starts the node (name, seeds) in scope "devices".
  DeviceGateway(const std::string& name, const std::vector<std::string>& seeds);
  ~DeviceGateway();

  syn::Node& node() { return node_; }
  syn::Registry devices() { return node_.registry("devices"); }

  /// A device connects to this gateway: a process that answers pings, registered as
  /// "device:<serial>" with its firmware and site as meta.
  syn::Result<void> connect_device(int serial, const std::string& firmware, const std::string& site);
  /// Asks a device anywhere in the cluster for its status (registry send + a reply process).
  std::optional<syn::Term> ping(int serial, std::chrono::milliseconds timeout);

 private:
  struct Device {
    syn::Process process;
    std::thread worker;
  };
  void serve(syn::Process& self, int serial);

  syn::Node node_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Device>> connected_;
};

/// "device:4711"
inline syn::Term device_name(int serial) { return "device:" + std::to_string(serial); }

}  // namespace examples
