#pragma once
// The event handler that prints every registry and groups callback as an event line.
#include "output.hpp"

#include <syn/events.hpp>

#include <memory>

namespace syn_node {

/// An EventHandler writing one line per callback on `output` (which must outlive the node):
///   {"event":"registered"|"updated"|"unregistered", scope, name, pid, meta, previous?, reason}
///   {"event":"joined"|"group_updated"|"left", scope, group, pid, meta, previous?, reason}
/// where reason is {kind, exit_reason? (process_exit), node? (remote_scope_node_up/down)} and
/// previous (the meta before) is on updated and group_updated only. Lines come in the order the
/// node ran its callbacks.
std::shared_ptr<syn::EventHandler> make_event_printer(Output& output);

}  // namespace syn_node
