// The task graph: `needs` edges between [tasks.NAME] entries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "util/result.hpp"

namespace engine {

// Every cycle among TASKS, each as the path that closes it: {"a", "b", "a"}.
// Edges to missing tasks are ignored (reported separately).
std::vector<std::vector<std::string>> find_cycles(const std::vector<Task>& tasks);
// The tasks to run for TASK, dependencies first, each once, TASK last.
// NotFound when TASK does not exist; Config when the graph has a cycle.
util::Result<std::vector<std::string>> task_order(const Config& config, std::string_view task);

}  // namespace engine
