// [tasks.NAME] and the cross-references that need every task: up, default,
// needs (existence and cycles).
#include <algorithm>

#include "engine/config_reader.hpp"
#include "engine/task_graph.hpp"
#include "util/glob.hpp"

namespace engine::detail {

namespace {

bool is_task_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return n[0] != '-';
}

void parse_run(Reader& r, const toml::table& t, Task& task, const std::string& p, bool& ok) {
  const toml::node* run = t.get("run");
  if (!run) {
    r.error(task.pos, p + " needs run = \"COMMAND\" or run = [\"ARGV0\", ...]");
    ok = false;
    return;
  }
  if (run->is_string()) {
    auto s = r.get_string(t, "run", p + ".run");
    if (s->value.find_first_not_of(" \t\n") == std::string::npos) {
      r.error(s->pos, p + ".run must not be empty");
      ok = false;
    }
    task.run = {"sh", "-c", s->value};
    task.run_is_shell = true;
    return;
  }
  if (run->is_array()) {
    auto argv = r.get_strings(t, "run", p + ".run");
    if (!argv || argv->size() != run->as_array()->size()) {
      ok = false;  // element type errors already reported
      return;
    }
    if (argv->empty() || (*argv)[0].value.empty()) {
      r.error(Reader::pos(*run), p + ".run needs a program as its first element");
      ok = false;
      return;
    }
    for (auto& a : *argv) task.run.push_back(a.value);
    return;
  }
  r.error(Reader::pos(*run),
          p + ".run must be a string (run by sh -c) or an array of strings (an argv), not " + type_name(*run));
  ok = false;
}

}  // namespace

void parse_tasks(Reader& r, const toml::table& root) {
  Config& c = r.config();
  const toml::table* all = r.get_table(root, "tasks", "tasks");
  if (!all) return;
  for (auto&& [key, node] : *all) {
    std::string name(key.str());
    std::string p = "tasks." + name;
    const toml::table* t = node.as_table();
    if (!t) {
      r.error(Reader::pos(node), p + " must be a table ([tasks." + name + "]), not " + type_name(node));
      continue;
    }
    r.record(p, Reader::pos(*t));
    Task task;
    task.name = name;
    task.pos = Reader::pos(*t);
    bool ok = true;
    if (!is_task_name(name)) {
      r.error(Reader::pos(key), "task name \"" + name + "\" must use only letters, digits, '_' and '-'");
      ok = false;
    }
    r.check_keys(*t, "[" + p + "]",
                 {"run", "description", "needs", "env", "workdir", "user", "interactive", "cache", "inputs"});
    parse_run(r, *t, task, p, ok);
    if (auto d = r.get_string(*t, "description", p + ".description")) task.description = d->value;
    if (auto needs = r.get_strings(*t, "needs", p + ".needs")) {
      for (auto& n : *needs) {
        if (n.value == name)
          r.error(n.pos, p + ".needs: a task cannot need itself");
        else if (std::find(task.needs.begin(), task.needs.end(), n.value) != task.needs.end())
          r.error(n.pos, p + ".needs lists \"" + n.value + "\" twice");
        else
          task.needs.push_back(n.value);
      }
    }
    task.env = r.get_env(*t, "env", p + ".env");
    if (auto w = r.get_string(*t, "workdir", p + ".workdir")) {
      if (w->value.empty() || w->value[0] != '/')
        r.error(w->pos, p + ".workdir \"" + w->value + "\" must be an absolute path in the guest");
      else
        task.workdir = std::filesystem::path(w->value).lexically_normal().string();
    }
    if (auto u = r.get_string(*t, "user", p + ".user")) {
      if (u->value.empty() || u->value.find_first_of(" \t\n") != std::string::npos)
        r.error(u->pos, p + ".user \"" + u->value + "\" must be NAME, UID or UID:GID");
      else
        task.user = u->value;
    }
    if (auto i = r.get_bool(*t, "interactive", p + ".interactive")) task.interactive = i->value;
    if (auto ca = r.get_bool(*t, "cache", p + ".cache")) task.cache = ca->value;
    if (auto inputs = r.get_strings(*t, "inputs", p + ".inputs")) {
      if (!task.cache) r.error(Reader::pos(*t->get("inputs")), p + ".inputs only applies with cache = true");
      for (auto& g : *inputs) {
        auto valid = util::validate_glob(g.value);
        if (!valid)
          r.error(g.pos, p + ".inputs: " + valid.error().message());
        else
          task.inputs.push_back(g.value);
      }
    }
    if (task.cache && task.interactive) r.error(task.pos, p + ": an interactive task cannot be cached");
    // Keep the task (even if invalid) so references to it are not reported as missing.
    (void)ok;
    c.tasks.push_back(std::move(task));
  }
}

void check_task_references(Reader& r) {
  Config& c = r.config();
  for (size_t i = 0; i < c.up.size(); ++i)
    if (!c.find_task(c.up[i]))
      r.error(c.pos("up[" + std::to_string(i) + "]"), "up: task \"" + c.up[i] + "\" does not exist");
  if (!c.default_task.empty() && !c.find_task(c.default_task))
    r.error(c.pos("default"), "default: task \"" + c.default_task + "\" does not exist");
  for (const auto& t : c.tasks)
    for (size_t i = 0; i < t.needs.size(); ++i)
      if (!c.find_task(t.needs[i]))
        r.error(c.pos("tasks." + t.name + ".needs[" + std::to_string(i) + "]"),
                "tasks." + t.name + ".needs: task \"" + t.needs[i] + "\" does not exist");
  for (const auto& cycle : find_cycles(c.tasks)) {
    std::string text;
    for (const auto& n : cycle) text += (text.empty() ? "" : " -> ") + n;
    r.error(c.pos("tasks." + cycle[0] + ".needs"), "task dependency cycle: " + text);
  }
}

}  // namespace engine::detail
