#include "engine/config_reader.hpp"

#include <algorithm>

#include "util/size.hpp"

namespace engine::detail {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

SourcePos Reader::pos(const toml::node& node) {
  const auto& b = node.source().begin;
  return {static_cast<int>(b.line), static_cast<int>(b.column)};
}

SourcePos Reader::pos(const toml::key& key) {
  const auto& b = key.source().begin;
  return {static_cast<int>(b.line), static_cast<int>(b.column)};
}

const char* type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::filesystem::path resolve_host_path(const std::filesystem::path& base, std::string_view written) {
  std::filesystem::path p(written);
  if (p.is_relative()) p = base / p;
  p = p.lexically_normal();
  std::string s = p.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

void Reader::wrong_type(const toml::node& node, const std::string& path, std::string_view expected) {
  error(pos(node), path + " must be " + std::string(expected) + ", not " + type_name(node));
}

void Reader::check_keys(const toml::table& table, std::string_view where,
                        std::initializer_list<std::string_view> allowed) {
  for (auto&& [key, node] : table) {
    (void)node;
    std::string_view k = key.str();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string msg = "unknown key \"" + std::string(k) + "\" in " + std::string(where);
    std::string_view best;
    size_t best_d = 3;
    for (auto a : allowed) {
      size_t d = edit_distance(k, a);
      if (d < best_d) {
        best_d = d;
        best = a;
      }
    }
    if (!best.empty()) msg += " (did you mean \"" + std::string(best) + "\"?)";
    error(pos(key), msg);
  }
}

std::optional<Located<std::string>> Reader::get_string(const toml::table& table, std::string_view key,
                                                       const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return std::nullopt;
  if (const auto* s = n->as_string()) {
    record(path, pos(*n));
    return Located<std::string>{s->get(), pos(*n)};
  }
  wrong_type(*n, path, "a string");
  return std::nullopt;
}

std::optional<Located<int64_t>> Reader::get_int(const toml::table& table, std::string_view key,
                                                const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return std::nullopt;
  if (const auto* i = n->as_integer()) {
    record(path, pos(*n));
    return Located<int64_t>{i->get(), pos(*n)};
  }
  wrong_type(*n, path, "an integer");
  return std::nullopt;
}

std::optional<Located<bool>> Reader::get_bool(const toml::table& table, std::string_view key, const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return std::nullopt;
  if (const auto* b = n->as_boolean()) {
    record(path, pos(*n));
    return Located<bool>{b->get(), pos(*n)};
  }
  wrong_type(*n, path, "a boolean (true or false)");
  return std::nullopt;
}

const toml::table* Reader::get_table(const toml::table& table, std::string_view key, const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return nullptr;
  if (const auto* t = n->as_table()) {
    record(path, pos(*n));
    return t;
  }
  wrong_type(*n, path, "a table");
  return nullptr;
}

const toml::array* Reader::get_array(const toml::table& table, std::string_view key, const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return nullptr;
  if (const auto* a = n->as_array()) {
    record(path, pos(*n));
    return a;
  }
  wrong_type(*n, path, "an array");
  return nullptr;
}

std::optional<std::vector<Located<std::string>>> Reader::get_strings(const toml::table& table, std::string_view key,
                                                                     const std::string& path) {
  const toml::array* a = get_array(table, key, path);
  if (!a) return std::nullopt;
  std::vector<Located<std::string>> out;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& el = *a->get(i);
    std::string el_path = path + "[" + std::to_string(i) + "]";
    if (const auto* s = el.as_string()) {
      record(el_path, pos(el));
      out.push_back({s->get(), pos(el)});
    } else {
      wrong_type(el, el_path, "a string");
    }
  }
  return out;
}

std::vector<Located<net::Rule>> Reader::get_rules(const toml::table& table, std::string_view key,
                                                  const std::string& path) {
  std::vector<Located<net::Rule>> out;
  auto entries = get_strings(table, key, path);
  if (!entries) return out;
  for (auto& e : *entries) {
    auto rule = net::parse_rule(e.value);
    if (!rule)
      error(e.pos, path + ": " + rule.error().message());
    else
      out.push_back({std::move(*rule), e.pos});
  }
  return out;
}

std::map<std::string, std::string> Reader::get_env(const toml::table& table, std::string_view key,
                                                   const std::string& path) {
  std::map<std::string, std::string> out;
  const toml::table* t = get_table(table, key, path);
  if (!t) return out;
  for (auto&& [k, node] : *t) {
    std::string name(k.str());
    std::string el_path = path + "." + name;
    if (!is_env_name(name)) {
      error(pos(k), el_path + ": \"" + name + "\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
      continue;
    }
    if (const auto* s = node.as_string()) {
      record(el_path, pos(node));
      out[name] = s->get();
    } else {
      wrong_type(node, el_path, "a string");
    }
  }
  return out;
}

std::optional<Located<uint64_t>> Reader::get_size(const toml::table& table, std::string_view key,
                                                  const std::string& path) {
  const toml::node* n = table.get(key);
  if (!n) return std::nullopt;
  record(path, pos(*n));
  if (const auto* i = n->as_integer()) {
    if (i->get() < 0) {
      error(pos(*n), path + " must not be negative");
      return std::nullopt;
    }
    return Located<uint64_t>{static_cast<uint64_t>(i->get()), pos(*n)};
  }
  if (const auto* s = n->as_string()) {
    auto bytes = util::parse_size(s->get());
    if (!bytes) {
      error(pos(*n), path + ": " + bytes.error().message());
      return std::nullopt;
    }
    return Located<uint64_t>{*bytes, pos(*n)};
  }
  wrong_type(*n, path, "a size such as \"2GiB\" or a number of bytes");
  return std::nullopt;
}

std::optional<toml::table> Reader::parse_toml(std::string_view text, const std::string& display_path,
                                              Diagnostics& diags) {
  try {
    return toml::parse(text, display_path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    diags.add({static_cast<int>(b.line), static_cast<int>(b.column)}, "invalid TOML: " + std::string(e.description()));
    return std::nullopt;
  }
}

}  // namespace engine::detail
