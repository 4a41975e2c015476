// Registry and groups callbacks as event lines (see event_printer.hpp): turned on by
// "events": true in the node's JSON options (from the start, snapshots at startup included)
// or by the record_events command.
#include "commands.hpp"
#include "event_printer.hpp"
#include "scope_terms.hpp"

#include <string>
#include <string_view>

namespace syn_node {

namespace {

class EventPrinter final : public syn::EventHandler {
 public:
  explicit EventPrinter(Output& output) : output_(output) {}

  void on_process_registered(std::string_view scope, const syn::Term& name, const syn::Pid& pid, const syn::Term& meta,
                             const syn::Reason& reason) override {
    print("registered", scope, "name", name, pid, meta, nullptr, reason);
  }
  void on_registry_process_updated(std::string_view scope, const syn::Term& name, const syn::Pid& pid,
                                   const syn::Term& previous, const syn::Term& meta,
                                   const syn::Reason& reason) override {
    print("updated", scope, "name", name, pid, meta, &previous, reason);
  }
  void on_process_unregistered(std::string_view scope, const syn::Term& name, const syn::Pid& pid,
                               const syn::Term& meta, const syn::Reason& reason) override {
    print("unregistered", scope, "name", name, pid, meta, nullptr, reason);
  }
  void on_process_joined(std::string_view scope, const syn::Term& group, const syn::Pid& pid, const syn::Term& meta,
                         const syn::Reason& reason) override {
    print("joined", scope, "group", group, pid, meta, nullptr, reason);
  }
  void on_group_process_updated(std::string_view scope, const syn::Term& group, const syn::Pid& pid,
                                const syn::Term& previous, const syn::Term& meta, const syn::Reason& reason) override {
    print("group_updated", scope, "group", group, pid, meta, &previous, reason);
  }
  void on_process_left(std::string_view scope, const syn::Term& group, const syn::Pid& pid, const syn::Term& meta,
                       const syn::Reason& reason) override {
    print("left", scope, "group", group, pid, meta, nullptr, reason);
  }

 private:
  void print(std::string_view event, std::string_view scope, const char* key, const syn::Term& what,
             const syn::Pid& pid, const syn::Term& meta, const syn::Term* previous, const syn::Reason& reason) {
    syn::Term fields = {{"scope", std::string(scope)},
                        {key, what},
                        {"pid", pid.to_string()},
                        {"meta", meta},
                        {"reason", reason_json(reason)}};
    if (previous) fields["previous"] = *previous;
    output_.event(event, std::move(fields));
  }

  Output& output_;
};

}  // namespace

std::shared_ptr<syn::EventHandler> make_event_printer(Output& output) { return std::make_shared<EventPrinter>(output); }

SYN_NODE_COMMAND(record_events,
                 "record_events{on=true} -> {} (print every registry/groups callback as an event "
                 "line, see event_printer.hpp; off: stop)") {
  ctx.node().set_event_handler(args.boolean_or("on", true) ? make_event_printer(ctx.output()) : nullptr);
  return {};
}

}  // namespace syn_node
