#pragma once
/// \file
/// Process: the owning handle of a local process (an actor with a mailbox).

#include <syn/message.hpp>
#include <syn/pid.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace syn {

namespace detail {
class ProcessControl;
}

/// Move-only owning handle of a local process, made by Node::spawn().
///
/// The process lives until exit() is called, something kills it (Node::exit from any node,
/// conflict resolution), its Node is destroyed, or this handle is destroyed (exit "normal").
/// All calls are thread-safe; receive() is meant to be called by one consumer thread.
class Process {
 public:
  /// A handle to no process (pid() is null, alive() is false).
  Process() = default;
  Process(Process&& other) noexcept = default;
  /// Exits the process held so far (reason "normal"), then takes over `other`'s.
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Exits the process with reason "normal" if it is still alive.
  ~Process();

  /// The identity of the process, valid on every node.
  const Pid& pid() const { return pid_; }
  /// True until the process exits or is killed.
  bool alive() const;
  /// The reason the process died with; nullopt while alive.
  std::optional<Term> exit_reason() const;

  /// Next message, or nullopt on timeout or once the process is dead. A thread whose last
  /// wait ended within 300 us with a lone message spins (yielding its core) for up to 300 us
  /// before it sleeps, as Erlang's schedulers do: a request's answer is then taken without a
  /// thread wake. After a wait that timed out, lasted longer or found several messages, the
  /// thread sleeps at once: a process at rest or a stream's consumer costs no CPU waiting.
  /// The environment variable SYN_SPIN_WAIT_US sets the 300 us for the OS process (0: never
  /// spin).
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  /// Next message if one is waiting now (never blocks).
  std::optional<Message> try_receive();
  /// Number of messages waiting in the mailbox.
  std::size_t pending() const;
  /// Ends the process with a reason; its names and memberships are removed everywhere.
  void exit(Term reason = "normal");

  /// Internal: used by Node::spawn.
  Process(Pid pid, std::shared_ptr<detail::ProcessControl> control);
  /// Internal: the control block shared with the node.
  const std::shared_ptr<detail::ProcessControl>& control() const { return control_; }

 private:
  Pid pid_;
  std::shared_ptr<detail::ProcessControl> control_;
};

}  // namespace syn
