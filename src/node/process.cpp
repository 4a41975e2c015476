#include <syn/process.hpp>

#include "node/process_control.hpp"

namespace syn {

Process::Process(Pid pid, std::shared_ptr<detail::ProcessControl> control) : pid_(pid), control_(std::move(control)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    exit("normal");
    pid_ = other.pid_;
    control_ = std::move(other.control_);
  }
  return *this;
}

Process::~Process() { exit("normal"); }

bool Process::alive() const { return control_ && control_->alive(); }

std::optional<Term> Process::exit_reason() const {
  if (!control_) return std::nullopt;
  return control_->exit_reason();
}

std::optional<Message> Process::receive(std::chrono::milliseconds timeout) {
  if (!control_) return std::nullopt;
  return control_->receive(timeout);
}

std::optional<Message> Process::try_receive() {
  if (!control_) return std::nullopt;
  return control_->try_receive();
}

std::size_t Process::pending() const { return control_ ? control_->pending() : 0; }

void Process::exit(Term reason) {
  if (!control_) return;
  control_->require_fits(reason, "the exit reason");  // refused before anything changes (SPEC 7)
  control_->kill(reason);
}

}  // namespace syn
