#pragma once
// Reading ZeroMQ socket-monitor events (zmq_socket_monitor): connection and handshake news
// that ZeroMQ reports on an inproc PAIR socket, two frames per event.
#include <zmq.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace syn::transport {

/// One monitor event: its id (ZMQ_EVENT_*), its value (for a failed handshake, the
/// ZMQ_PROTOCOL_ERROR_* code or the ZAP status), and the endpoint it concerns (for a bound
/// socket, the listening endpoint: ZeroMQ does not say which peer failed).
struct MonitorEvent {
  std::uint16_t id = 0;
  std::uint32_t value = 0;
  std::string address;
};

/// The next event waiting on a monitor socket, or nullopt when none is.
inline std::optional<MonitorEvent> read_monitor_event(zmq::socket_t& monitor) {
  zmq::message_t head;
  if (!monitor.recv(head, zmq::recv_flags::dontwait)) return std::nullopt;
  zmq::message_t address;
  if (head.more()) (void)monitor.recv(address, zmq::recv_flags::dontwait);
  MonitorEvent event;
  if (head.size() >= 6) {
    std::memcpy(&event.id, head.data(), sizeof event.id);
    std::memcpy(&event.value, static_cast<const char*>(head.data()) + 2, sizeof event.value);
  }
  event.address.assign(address.data<char>(), address.size());
  return event;
}

/// The events that say a handshake failed.
constexpr int kHandshakeFailures =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

/// "0x11000002" for a ZMQ_PROTOCOL_ERROR_* code.
inline std::string protocol_error_code(std::uint32_t value) {
  static const char* hex = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(hex[(value >> shift) & 15]);
  return out;
}

inline bool is_handshake_failure(const MonitorEvent& event) { return (event.id & kHandshakeFailures) != 0; }

}  // namespace syn::transport
