#include "engine/secret_files.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

namespace engine {

namespace {

using ordered_json = nlohmann::ordered_json;

util::Error secret_error(const Secret& s, const std::string& why) {
  return util::make_error(util::ErrorCode::Config, "secret " + s.name + " (" + s.from_text + "): " + why);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

ordered_json* find_field(ordered_json& doc, const std::string& path) {
  ordered_json* node = &doc;
  for (const auto& part : split_path(path)) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

// Every string equal to one of VALUES becomes its placeholder (a field not listed that
// repeats a token: never left behind).
void replace_equal_strings(ordered_json& node, const std::vector<std::pair<std::string, std::string>>& values) {
  if (node.is_string()) {
    const auto& s = node.get_ref<const std::string&>();
    for (const auto& [value, placeholder] : values)
      if (s == value) {
        node = placeholder;
        return;
      }
  } else if (node.is_structured()) {
    for (auto& child : node) replace_equal_strings(child, values);
  }
}

util::Result<ordered_json> parse_document(const Secret& s, std::string_view document) {
  try {
    return ordered_json::parse(document);
  } catch (const nlohmann::json::exception&) {
    // The parser's message may quote the document: never shown.
    return secret_error(s, "the value is not a JSON document (json = [...] needs one)");
  }
}

// No real value of any secret (values of at least the scrub size) anywhere in TEXT.
util::Result<void> check_clean(const Secret& s, const std::string& text, const net::SecretTable& table) {
  for (const auto& b : table.bindings()) {
    if (b.value.size() < net::SecretTable::k_min_scrub_size) continue;
    if (text.find(b.value) != std::string::npos)
      return secret_error(s, "the file for " + s.file + " would still hold the value of " + b.name +
                                 " (inside a longer string?); list that field in json, or use a template");
  }
  return util::ok();
}

const net::SecretBinding* binding(const net::SecretTable& table, const std::string& name) {
  for (const auto& b : table.bindings())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace

util::Result<std::vector<std::pair<std::string, std::string>>> json_secret_fields(const Secret& s,
                                                                                  std::string_view document) {
  ordered_json doc = ML_TRY(parse_document(s, document));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& field : s.json) {
    ordered_json* node = find_field(doc, field);
    if (!node) return secret_error(s, "field " + field + " is not in the JSON document");
    if (!node->is_string()) return secret_error(s, "field " + field + " is not a string");
    std::string v = node->get<std::string>();
    if (v.size() < net::SecretTable::k_min_scrub_size)
      return secret_error(s, "field " + field + " is shorter than " +
                                 std::to_string(net::SecretTable::k_min_scrub_size) +
                                 " bytes (too short to be kept out of the guest reliably)");
    out.emplace_back(field, std::move(v));
  }
  return out;
}

util::Result<GuestSecretFile> render_secret_file(const Secret& s, std::string_view value,
                                                 const net::SecretTable& table) {
  GuestSecretFile out{s.name, s.file, {}};
  if (!s.json.empty()) {
    ordered_json doc = ML_TRY(parse_document(s, value));
    std::vector<std::pair<std::string, std::string>> values;
    for (const auto& field : s.json) {
      const auto* b = binding(table, s.name + "." + field);
      ordered_json* node = find_field(doc, field);
      if (!b || !node) return secret_error(s, "field " + field + " has no placeholder");
      values.emplace_back(b->value, b->placeholder);
    }
    replace_equal_strings(doc, values);
    out.content = doc.dump(2) + "\n";
    // dump() copies strings: wipe the document's copies of the values as well as we can.
    for (auto& [v, ph] : values) OPENSSL_cleanse(v.data(), v.size());
  } else if (s.file_template) {
    const std::string& t = *s.file_template;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '$' && i + 1 < t.size() && t[i + 1] == '$') {
        out.content += '$';
        ++i;
      } else if (t[i] == '$' && i + 1 < t.size() && t[i + 1] == '{') {
        size_t end = t.find('}', i + 2);
        if (end == std::string::npos) return secret_error(s, "template: unclosed ${");
        std::string name = t.substr(i + 2, end - i - 2);
        const auto* b = binding(table, name);
        if (!b) return secret_error(s, "template: ${" + name + "} has no placeholder");
        out.content += b->placeholder;
        i = end;
      } else {
        out.content += t[i];
      }
    }
  } else {
    const auto* b = binding(table, s.name);
    if (!b) return secret_error(s, "no placeholder");
    out.content = b->placeholder;
  }
  ML_TRY(check_clean(s, out.content, table));
  return out;
}

}  // namespace engine
