#include "context.hpp"

#include "commands.hpp"

namespace syn_node {

std::string Context::adopt(syn::Process process) {
  std::string pid = process.pid().to_string();
  processes_.insert_or_assign(pid, std::move(process));
  return pid;
}

syn::Process& Context::process(const std::string& pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) throw CommandError("unknown pid " + pid + " (not spawned by this node)");
  return it->second;
}

syn::Process* Context::find_process(const std::string& pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

void Context::run_stop_hooks() {
  while (!stop_hooks_.empty()) {
    auto hook = std::move(stop_hooks_.back());
    stop_hooks_.pop_back();
    hook();
  }
}

bool Context::forget(const std::string& pid) { return processes_.erase(pid) != 0; }

}  // namespace syn_node
