#pragma once
/// \file
/// Umbrella header of syn-cpp: a global process registry and process-group manager.

#include <syn/control.hpp>
#include <syn/errors.hpp>
#include <syn/events.hpp>
#include <syn/groups.hpp>
#include <syn/log.hpp>
#include <syn/message.hpp>
#include <syn/metrics.hpp>
#include <syn/multicast.hpp>
#include <syn/node.hpp>
#include <syn/pid.hpp>
#include <syn/process.hpp>
#include <syn/registry.hpp>
#include <syn/security.hpp>
#include <syn/result.hpp>
#include <syn/term.hpp>
#include <syn/version.hpp>
