// `matchlock init` without --template: a Matchlockfile composed for the project
// in the directory (node, python, go, or a plain Debian sandbox) and the agent
// asked for (claude-code, codex, aider, or none).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cmd {

enum class ProjectKind { Generic, Node, Python, Go };

struct Project {
  ProjectKind kind = ProjectKind::Generic;
  std::string marker;          // the file that told ("package.json"), empty for Generic
  bool node_lockfile = false;  // package-lock.json: `npm ci`
  bool requirements = false;   // requirements.txt (python)
  bool pyproject = false;      // pyproject.toml (python)
  bool git = false;            // .git: agents get a git-mode mount
};

inline constexpr const char* k_project_kinds = "node|python|go|none";
inline constexpr const char* k_agents = "claude-code|codex|aider|none";

const char* to_string(ProjectKind k);  // "node", "python", "go", "none"
std::optional<ProjectKind> parse_project_kind(std::string_view s);
bool known_agent(std::string_view agent);

// package.json -> node, pyproject.toml / requirements.txt / setup.py -> python,
// go.mod -> go (the first found in that order), else Generic.
Project detect_project(const std::filesystem::path& dir);

// The Matchlockfile text. AGENT: one of k_agents ("none" or empty: no agent).
std::string compose_matchlockfile(const Project& project, std::string_view agent);

}  // namespace cmd
