// Internal to the Matchlockfile parser: typed access to a toml++ tree that
// reports every problem into Diagnostics (with line:col) instead of stopping.
// Only engine/config_*.cpp include this (it pulls in toml++).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "engine/config.hpp"
#include "engine/diagnostics.hpp"
#include "net/rule.hpp"

namespace engine::detail {

template <class T>
struct Located {
  T value;
  SourcePos pos;
};

class Reader {
 public:
  Reader(Diagnostics& diags, Config& config) : m_diags(diags), m_config(config) {}
  // TEXT as TOML, or nothing with the syntax error recorded at its line:col.
  static std::optional<toml::table> parse_toml(std::string_view text, const std::string& display_path,
                                               Diagnostics& diags);

  Config& config() { return m_config; }
  void error(SourcePos pos, std::string message) { m_diags.add(pos, std::move(message)); }
  void record(const std::string& path, SourcePos pos) { m_config.positions[path] = pos; }

  static SourcePos pos(const toml::node& node);
  static SourcePos pos(const toml::key& key);

  // Reports each key of TABLE not in ALLOWED: unknown key "x" in [WHERE] (did you mean "y"?).
  void check_keys(const toml::table& table, std::string_view where, std::initializer_list<std::string_view> allowed);

  // Typed getters for TABLE[KEY]; PATH is the dotted name used in messages and
  // Config::positions. Absent: nullopt, no error. Wrong type: error, nullopt.
  std::optional<Located<std::string>> get_string(const toml::table& table, std::string_view key,
                                                 const std::string& path);
  std::optional<Located<int64_t>> get_int(const toml::table& table, std::string_view key, const std::string& path);
  std::optional<Located<bool>> get_bool(const toml::table& table, std::string_view key, const std::string& path);
  const toml::table* get_table(const toml::table& table, std::string_view key, const std::string& path);
  const toml::array* get_array(const toml::table& table, std::string_view key, const std::string& path);
  // An array of strings; elements of another type are reported and skipped.
  std::optional<std::vector<Located<std::string>>> get_strings(const toml::table& table, std::string_view key,
                                                               const std::string& path);
  // An array of host rules (net/rule.hpp), each with its position; a rule that does not
  // parse is an error at its element.
  std::vector<Located<net::Rule>> get_rules(const toml::table& table, std::string_view key, const std::string& path);
  // A table of string values whose keys are environment variable names.
  std::map<std::string, std::string> get_env(const toml::table& table, std::string_view key, const std::string& path);
  // A size: "2GiB" string or an integer number of bytes.
  std::optional<Located<uint64_t>> get_size(const toml::table& table, std::string_view key, const std::string& path);

 private:
  void wrong_type(const toml::node& node, const std::string& path, std::string_view expected);

  Diagnostics& m_diags;
  Config& m_config;
};

const char* type_name(const toml::node& node);
bool is_env_name(std::string_view name);
// Resolves a host path written in the file against BASE (lexically normalised).
std::filesystem::path resolve_host_path(const std::filesystem::path& base, std::string_view written);

// Section parsers (engine/config_sections.cpp, engine/config_tasks.cpp).
void parse_sandbox(Reader& r, const toml::table& root);
void parse_mounts(Reader& r, const toml::table& root);
void parse_network(Reader& r, const toml::table& root);
void parse_secrets(Reader& r, const toml::table& root);
// [network.services] inside the [network] table NETWORK (engine/config_services.cpp).
void parse_services(Reader& r, const toml::table& network);
void parse_ports(Reader& r, const toml::table& root);
void parse_tasks(Reader& r, const toml::table& root);
// Cross-references after all sections: up/default/needs exist, no cycles.
void check_task_references(Reader& r);

}  // namespace engine::detail
