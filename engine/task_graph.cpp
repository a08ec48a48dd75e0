#include "engine/task_graph.hpp"

#include <algorithm>
#include <map>

namespace engine {

namespace {

enum class Mark { New, Active, Done };

struct Walker {
  const std::vector<Task>& tasks;
  std::map<std::string, Mark> marks;
  std::vector<std::string> stack;
  std::vector<std::vector<std::string>> cycles;

  const Task* find(const std::string& name) const {
    auto it = std::find_if(tasks.begin(), tasks.end(), [&](const Task& t) { return t.name == name; });
    return it == tasks.end() ? nullptr : &*it;
  }

  void visit(const Task& t) {
    marks[t.name] = Mark::Active;
    stack.push_back(t.name);
    for (const auto& dep : t.needs) {
      const Task* d = find(dep);
      if (!d) continue;
      Mark m = marks[dep];
      if (m == Mark::Active) {
        auto from = std::find(stack.begin(), stack.end(), dep);
        std::vector<std::string> cycle(from, stack.end());
        cycle.push_back(dep);
        cycles.push_back(std::move(cycle));
      } else if (m == Mark::New) {
        visit(*d);
      }
    }
    stack.pop_back();
    marks[t.name] = Mark::Done;
  }
};

}  // namespace

std::vector<std::vector<std::string>> find_cycles(const std::vector<Task>& tasks) {
  Walker w{tasks, {}, {}, {}};
  for (const auto& t : tasks)
    if (w.marks[t.name] == Mark::New) w.visit(t);
  return std::move(w.cycles);
}

util::Result<std::vector<std::string>> task_order(const Config& config, std::string_view task) {
  const Task* root = config.find_task(task);
  if (!root)
    return util::make_error(util::ErrorCode::NotFound,
                            "no task \"" + std::string(task) + "\" in " + config.file.string());
  std::vector<std::string> order;
  std::map<std::string, Mark> marks;
  // Iterative DFS (post-order), so deep chains cannot overflow the stack.
  std::vector<std::pair<const Task*, size_t>> stack{{root, 0}};
  marks[root->name] = Mark::Active;
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    if (next < t->needs.size()) {
      const std::string& dep = t->needs[next++];
      const Task* d = config.find_task(dep);
      if (!d)
        return util::make_error(util::ErrorCode::Config, "task \"" + t->name + "\" needs missing task \"" + dep + "\"");
      Mark m = marks[dep];
      if (m == Mark::Active)
        return util::make_error(util::ErrorCode::Config, "task dependency cycle through \"" + dep + "\"");
      if (m == Mark::New) {
        marks[dep] = Mark::Active;
        stack.push_back({d, 0});
      }
    } else {
      marks[t->name] = Mark::Done;
      order.push_back(t->name);
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace engine
