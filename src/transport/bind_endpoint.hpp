#pragma once
// What an endpoint needs before ZeroMQ binds it: a name ZeroMQ takes for an interface
// (localhost) made an address, and an ipc socket file that a running process still answers on
// refused rather than silently taken over.
#include <string>

namespace syn::transport {

/// `endpoint` as ZeroMQ can bind it: tcp://localhost:PORT is tcp://127.0.0.1:PORT (ZeroMQ
/// reads a host name in a bind as an interface name and fails with "No such device"); any
/// other endpoint unchanged.
std::string bindable_endpoint(const std::string& endpoint);

/// Throws Error{bad_argument} naming `option` when `endpoint` is ipc://PATH and a process
/// accepts connections on PATH: ZeroMQ would unlink its socket file and bind a new one, the
/// running process unreachable from then on. A file nobody answers on (left by a process that
/// died) is no obstacle.
void refuse_ipc_in_use(const std::string& endpoint, const std::string& option);

}  // namespace syn::transport
