#include "cmd/init_compose.hpp"

#include <vector>

namespace cmd {

namespace fs = std::filesystem;

namespace {

enum class Runtime { None, Node, Python, Go };

struct ProjectSpec {
  Runtime runtime;
  const char* image;
  const char* user;  // image user for the agent and tests; "" = the image's (root)
  std::vector<const char*> hosts;
};

struct AgentSpec {
  const char* name;
  const char* title;
  Runtime runtime;
  const char* install;             // the cached `setup` task
  std::vector<const char*> hosts;  // besides the secret's hosts
  const char* secret;
  const char* secret_host;
  std::vector<std::pair<const char*, const char*>> env;
  const char* run;  // the interactive task's argv[0] (and its name)
  std::vector<const char*> args;
};

ProjectSpec project_spec(ProjectKind k) {
  switch (k) {
    case ProjectKind::Node:
      return {Runtime::Node, "node:20-bookworm-slim", "node", {"registry.npmjs.org"}};
    case ProjectKind::Python:
      return {Runtime::Python, "python:3.12-slim-bookworm", "", {"pypi.org", "files.pythonhosted.org"}};
    case ProjectKind::Go:
      return {Runtime::Go, "golang:1.22-bookworm", "", {"proxy.golang.org", "sum.golang.org"}};
    case ProjectKind::Generic:
      break;
  }
  return {Runtime::None, "debian:bookworm-slim", "", {}};
}

const std::vector<AgentSpec>& agents() {
  static const std::vector<AgentSpec> k_agents_list = {
      {"claude-code",
       "Claude Code",
       Runtime::Node,
       "npm install -g @anthropic-ai/claude-code",
       // The hosts Claude Code itself calls besides the API (its devcontainer firewall).
       {"registry.npmjs.org", "statsig.anthropic.com", "statsig.com", "sentry.io"},
       "ANTHROPIC_API_KEY",
       "api.anthropic.com",
       {{"DISABLE_AUTOUPDATER", "1"}},
       "claude",
       {}},
      {"codex",
       "the Codex CLI",
       Runtime::Node,
       "npm install -g @openai/codex",
       {"registry.npmjs.org"},
       "OPENAI_API_KEY",
       "api.openai.com",
       {},
       "codex",
       {}},
      {"aider",
       "aider",
       Runtime::Python,
       "",
       {"pypi.org", "files.pythonhosted.org"},
       "ANTHROPIC_API_KEY",
       "api.anthropic.com",
       {{"AIDER_CHECK_UPDATE", "false"}},
       "aider",
       {"--model", "sonnet"}},
  };
  return k_agents_list;
}

const AgentSpec* find_agent(std::string_view name) {
  for (const auto& a : agents())
    if (a.name == name) return &a;
  return nullptr;
}

std::string toml_string(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string array(const std::vector<std::string>& items, bool multiline) {
  if (items.empty()) return "[]";
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += multiline ? "\n  " : (i ? ", " : "");
    out += toml_string(items[i]);
    if (multiline) out += ",";
  }
  return out + (multiline ? "\n]" : "]");
}

void add_unique(std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v)
    if (x == s) return;
  v.emplace_back(s);
}

struct TaskText {
  std::string name, description, run;  // run: a TOML value (string or array)
  bool root = false, cache = false, interactive = false;
  std::vector<std::string> needs, inputs;
};

std::string task_toml(const TaskText& t) {
  std::string out = "\n[tasks." + t.name + "]\n";
  out += "description = " + toml_string(t.description) + "\n";
  out += "run = " + t.run + "\n";
  if (t.root) out += "user = \"root\"\n";
  if (t.cache) out += "cache = true\n";
  if (!t.inputs.empty()) out += "inputs = " + array(t.inputs, false) + "\n";
  if (!t.needs.empty()) out += "needs = " + array(t.needs, false) + "\n";
  if (t.interactive) out += "interactive = true\n";
  return out;
}

// The project's own tasks: `deps` (when there is something to install) and `test`.
void project_tasks(const Project& p, std::vector<TaskText>& tasks) {
  switch (p.kind) {
    case ProjectKind::Node:
      // node_modules is written into the workspace share, not the sandbox's disk: not a cached layer.
      tasks.push_back({"deps", p.node_lockfile ? "npm ci" : "npm install",
                       p.node_lockfile ? "[\"npm\", \"ci\"]" : "[\"npm\", \"install\"]"});
      tasks.push_back({"test", "Unit tests", "[\"npm\", \"test\"]", false, false, false, {"deps"}, {}});
      break;
    case ProjectKind::Python:
      if (p.requirements) {
        tasks.push_back({"deps",
                         "Install requirements.txt (cached until it changes)",
                         "[\"pip\", \"install\", \"--no-cache-dir\", \"-r\", \"requirements.txt\"]",
                         true,
                         true,
                         false,
                         {},
                         {"requirements*.txt"}});
      } else if (p.pyproject) {
        // An editable install points into the workspace share: not a cached layer.
        tasks.push_back({"deps", "Install the project (editable)",
                         "[\"pip\", \"install\", \"--no-cache-dir\", \"-e\", \".\"]", true});
      }
      tasks.push_back({"test",
                       "Tests",
                       "[\"python\", \"-m\", \"pytest\", \"-q\"]",
                       false,
                       false,
                       false,
                       p.requirements || p.pyproject ? std::vector<std::string>{"deps"} : std::vector<std::string>{},
                       {}});
      break;
    case ProjectKind::Go:
      tasks.push_back({"deps",
                       "go mod download (cached until go.mod or go.sum change)",
                       "[\"go\", \"mod\", \"download\"]",
                       false,
                       true,
                       false,
                       {},
                       {"go.mod", "go.sum"}});
      tasks.push_back({"test", "Tests", "[\"go\", \"test\", \"./...\"]", false, false, false, {"deps"}, {}});
      break;
    case ProjectKind::Generic:
      break;
  }
}

}  // namespace

const char* to_string(ProjectKind k) {
  switch (k) {
    case ProjectKind::Node:
      return "node";
    case ProjectKind::Python:
      return "python";
    case ProjectKind::Go:
      return "go";
    case ProjectKind::Generic:
      break;
  }
  return "none";
}

std::optional<ProjectKind> parse_project_kind(std::string_view s) {
  for (auto k : {ProjectKind::Generic, ProjectKind::Node, ProjectKind::Python, ProjectKind::Go})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

bool known_agent(std::string_view agent) { return agent.empty() || agent == "none" || find_agent(agent); }

Project detect_project(const fs::path& dir) {
  std::error_code ec;
  auto has = [&](const char* name) { return fs::exists(dir / name, ec); };
  Project p;
  p.git = has(".git");
  if (has("package.json")) {
    p.kind = ProjectKind::Node;
    p.marker = "package.json";
    p.node_lockfile = has("package-lock.json");
  } else if (has("pyproject.toml") || has("requirements.txt") || has("setup.py")) {
    p.kind = ProjectKind::Python;
    p.marker = has("pyproject.toml") ? "pyproject.toml" : has("requirements.txt") ? "requirements.txt" : "setup.py";
    p.requirements = has("requirements.txt");
    p.pyproject = has("pyproject.toml") || has("setup.py");
  } else if (has("go.mod")) {
    p.kind = ProjectKind::Go;
    p.marker = "go.mod";
  }
  return p;
}

std::string compose_matchlockfile(const Project& project, std::string_view agent_name) {
  const AgentSpec* agent = find_agent(agent_name);
  ProjectSpec spec = project_spec(project.kind);
  std::vector<TaskText> tasks;
  std::vector<std::string> hosts;
  for (const char* h : spec.hosts) add_unique(hosts, h);

  if (agent) {
    // The agent's runtime from Debian's archive when the project's image lacks it.
    std::vector<std::string> setup_needs;
    if (agent->runtime != spec.runtime) {
      bool node = agent->runtime == Runtime::Node;
      tasks.push_back(
          {"runtime",
           node ? "Install Node.js and npm from Debian (cached)" : "Install Python's pip from Debian (cached)",
           node
               ? "\"apt-get update && apt-get install -y --no-install-recommends nodejs npm ca-certificates\""
               : "\"apt-get update && apt-get install -y --no-install-recommends python3-pip python3-venv ca-certificates\"",
           true, true});
      setup_needs.push_back("runtime");
      add_unique(hosts, "deb.debian.org");
    }
    std::string install = agent->install;
    if (install.empty())  // a pip-installed agent: Debian's python needs --break-system-packages
      install = agent->runtime == spec.runtime ? "pip install --no-cache-dir aider-chat"
                                               : "pip3 install --no-cache-dir --break-system-packages aider-chat";
    tasks.push_back({"setup", std::string("Install ") + agent->title + " (cached)", toml_string(install), true, true,
                     false, setup_needs});
    for (const char* h : agent->hosts) add_unique(hosts, h);
  }
  project_tasks(project, tasks);
  if (agent) {
    std::vector<std::string> argv{agent->run};
    argv.insert(argv.end(), agent->args.begin(), agent->args.end());
    tasks.push_back({agent->run,
                     std::string("Start ") + agent->title + " in /workspace",
                     array(argv, false),
                     false,
                     false,
                     true,
                     {"setup"}});
  }

  std::string what = project.kind == ProjectKind::Generic
                         ? std::string("a Debian sandbox")
                         : std::string("a ") + to_string(project.kind) + " project (" + project.marker + ")";
  std::string out = "# Generated by `matchlock init`: " + what +
                    (agent ? std::string(" with ") + agent->title : std::string()) + ".\n";
  out += "# Reference: docs/matchlockfile.md. Check it with: matchlock validate\n";
  out += "version = 1\n";
  std::vector<std::string> up;
  for (const auto& t : tasks)
    if (t.name == "setup" || t.name == "deps") up.push_back(t.name);
  if (!up.empty()) out += "up = " + array(up, false) + "  # run by `matchlock up` after boot\n";
  if (agent) {
    out += "default = " + toml_string(agent->run) + "  # run by `matchlock run` without a task name\n";
  } else if (!tasks.empty()) {
    out += "default = \"test\"\n";
  }

  out += "\n[sandbox]\nimage = " + toml_string(spec.image) + "\n";
  out += agent ? "cpus = 2\nmemory = \"4GiB\"\ndisk = \"16GiB\"\n" : "cpus = 2\nmemory = \"2GiB\"\ndisk = \"8GiB\"\n";
  if (*spec.user) out += "user = " + toml_string(spec.user) + "\n";
  out += "workdir = \"/workspace\"\n";
  if (agent && !agent->env.empty()) {
    out += "\n[sandbox.env]\n";
    for (const auto& [k, v] : agent->env) out += std::string(k) + " = " + toml_string(v) + "\n";
  }

  out += "\n[[mounts]]\nsource = \".\"\ntarget = \"/workspace\"\n";
  if (agent && project.git) {
    out += "mode = \"git\"  # the agent commits to a branch you review (matchlock fetch-branch)\n";
  } else {
    out += "mode = \"rw\"\n";
  }
  out += "exclude = [\".env\", \".env.*\"]  # never visible in the guest\n";

  out += "\n[network]\n# Deny-all otherwise; a secret's hosts are added to these.\nallow = " +
         array(hosts, hosts.size() > 2) + "\n";
  if (agent) {
    out += "\n[secrets." + std::string(agent->secret) + "]\n";
    out += "from = \"env:" + std::string(agent->secret) + "\"\n";
    out += "hosts = [" + toml_string(agent->secret_host) +
           "]  # the guest sees a placeholder; the host sends the key only here\n";
    out += "inject = [\"header\"]\n";
  }
  for (const auto& t : tasks) out += task_toml(t);
  return out;
}

}  // namespace cmd
