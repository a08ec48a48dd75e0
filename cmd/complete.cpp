#include "cmd/complete.hpp"

#include <filesystem>
#include <string_view>

#include "cmd/init_templates.hpp"
#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/sandbox_state.hpp"

namespace cmd {

namespace {

// The command line as walked so far.
struct Walk {
  std::vector<const CLI::App*> chain;    // root, verb, sub-verb...
  const CLI::Option* pending = nullptr;  // an option whose value is the next word
  size_t positionals = 0;                // positional words given to the innermost app
  bool rest_is_command = false;          // after `--`, or in the command words of `run`/`exec`
  std::string file;                      // -f/--file, for TASK values
};

const CLI::App* find_subcommand(const CLI::App& app, std::string_view name) {
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// The option NAME ("-f", "--file") of the innermost app, else of an outer one
// (options fall through to the parents, as main.cpp sets up).
const CLI::Option* find_option(const Walk& w, std::string_view name) {
  for (auto it = w.chain.rbegin(); it != w.chain.rend(); ++it)
    for (const auto* opt : (*it)->get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
      for (const auto& s : opt->get_snames())
        if (name == "-" + s) return opt;
      for (const auto& l : opt->get_lnames())
        if (name == "--" + l) return opt;
    }
  return nullptr;
}

bool takes_value(const CLI::Option& opt) { return opt.get_type_size_max() > 0; }

std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->get_positional() && !o->nonpositional(); });
}

// The positional that the next positional word fills, or null.
const CLI::Option* positional_at(const CLI::App& app, size_t index) {
  size_t seen = 0;
  for (const auto* opt : positionals(app)) {
    int max = opt->get_items_expected_max();
    if (max >= CLI::detail::expected_max_vector_size) return opt;  // a list takes the rest
    seen += static_cast<size_t>(std::max(max, 1));
    if (index < seen) return opt;
  }
  return nullptr;
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !is_hidden(*s); });
}

Walk walk(const CLI::App& root, const std::vector<std::string>& words) {
  Walk w;
  w.chain.push_back(&root);
  for (const auto& word : words) {
    if (w.pending) {
      if (word == "=") continue;  // bash splits `--opt=value` at the '='
      if (w.pending->check_lname("file")) w.file = word;
      w.pending = nullptr;
      continue;
    }
    if (w.rest_is_command) continue;
    const CLI::App& app = *w.chain.back();
    if (word == "--") {
      w.rest_is_command = true;
      continue;
    }
    if (word.size() > 1 && word[0] == '-') {
      auto eq = word.find('=');
      const CLI::Option* opt = find_option(w, std::string_view(word).substr(0, eq));
      if (opt && takes_value(*opt)) {
        if (eq == std::string::npos) {
          w.pending = opt;
        } else if (opt->check_lname("file")) {
          w.file = word.substr(eq + 1);
        }
      }
      continue;
    }
    if (w.positionals == 0) {
      if (const CLI::App* sub = find_subcommand(app, word)) {
        w.chain.push_back(sub);
        continue;
      }
    }
    ++w.positionals;
    // `run TASK|CMD ...`: the words after the first are the command's.
    if (app.get_prefix_command() && w.positionals >= 1) w.rest_is_command = true;
  }
  return w;
}

bool has_prefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void add(Completion& c, std::string_view prefix, std::string value, std::string help) {
  if (has_prefix(value, prefix)) c.items.push_back({std::move(value), std::move(help)});
}

void add_sandboxes(Completion& c, const util::Dirs& dirs, std::string_view prefix) {
  for (const auto& name : engine::list_sandboxes(dirs)) {
    auto record = engine::read_record(engine::sandbox_paths(dirs, name));
    add(c, prefix, name, record ? engine::to_string(engine::effective_state(*record)) : std::string());
  }
}

void add_tasks(Completion& c, const std::string& file, std::string_view prefix) {
  std::error_code ec;
  auto path = engine::discover_matchlockfile(file, std::filesystem::current_path(ec));
  if (!path) return;
  auto config = engine::load_config(*path);
  if (!config) return;
  for (const auto& t : config->tasks) add(c, prefix, t.name, t.description);
}

void add_values(Completion& c, const CLI::Option& opt, const util::Dirs& dirs, const Walk& w, std::string_view prefix) {
  std::string type = opt.get_type_name();
  if (type == k_type_sandbox) return add_sandboxes(c, dirs, prefix);
  if (type == k_type_task) return add_tasks(c, w.file, prefix);
  if (type == k_type_file) {
    c.paths = PathCompletion::Files;
    return;
  }
  if (type == k_type_dir) {
    c.paths = PathCompletion::Dirs;
    return;
  }
  if (type == k_type_template) {
    for (const auto& t : init_templates()) add(c, prefix, std::string(t.name), "");
    return;
  }
  if (type.find('|') == std::string::npos) return;
  size_t start = 0;
  while (start <= type.size()) {
    size_t bar = type.find('|', start);
    add(c, prefix, type.substr(start, bar == std::string::npos ? std::string::npos : bar - start), "");
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
}

void add_options(Completion& c, const Walk& w, std::string_view prefix) {
  for (auto it = w.chain.rbegin(); it != w.chain.rend(); ++it)
    for (const auto* opt : (*it)->get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
      for (const auto& l : opt->get_lnames()) add(c, prefix, "--" + l, opt->get_description());
      if (prefix.size() < 2 || prefix[1] != '-')
        for (const auto& s : opt->get_snames()) add(c, prefix, "-" + s, opt->get_description());
    }
}

}  // namespace

bool is_hidden(const CLI::App& app) { return app.get_group().empty(); }

Completion complete_words(const CLI::App& root, const util::Dirs& dirs, const std::vector<std::string>& words) {
  Completion c;
  if (words.empty()) return c;
  const std::string& cur = words.back();
  Walk w = walk(root, std::vector<std::string>(words.begin(), words.end() - 1));
  const CLI::App& app = *w.chain.back();
  if (w.chain.size() > 1 && is_hidden(app)) return c;
  if (w.pending) {
    add_values(c, *w.pending, dirs, w, cur);
    return c;
  }
  if (w.rest_is_command) return c;
  if (has_prefix(cur, "-")) {
    add_options(c, w, cur);
    return c;
  }
  if (w.positionals == 0 && !visible_subcommands(app).empty()) {
    for (const auto* sub : visible_subcommands(app)) add(c, cur, sub->get_name(), sub->get_description());
    return c;
  }
  if (const CLI::Option* opt = positional_at(app, w.positionals)) add_values(c, *opt, dirs, w, cur);
  return c;
}

std::string format_completion(const Completion& c) {
  std::string out;
  for (const auto& item : c.items) {
    out += item.value;
    if (!item.help.empty()) {
      out += '\t';
      for (char ch : item.help) out += (ch == '\n' || ch == '\t') ? ' ' : ch;
    }
    out += '\n';
  }
  if (c.paths == PathCompletion::Files) out += ":files\n";
  if (c.paths == PathCompletion::Dirs) out += ":dirs\n";
  return out;
}

}  // namespace cmd
