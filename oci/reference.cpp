// Image reference parsing after the docker/distribution reference grammar:
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain '/'] path-component ['/' path-component]*
//   domain     := (domain-component ['.' domain-component]* | '[' ipv6 ']') [':' port-number]
//   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
//   tag        := [\w][\w.-]{0,127}
// Normalisation (ParseNormalizedNamed): the first component is a registry only
// when it contains '.' or ':' or is "localhost"; otherwise docker.io is used and
// single-component names get "library/". "index.docker.io" becomes "docker.io".
#include "oci/reference.hpp"

#include <arpa/inet.h>

#include "oci/digest.hpp"

namespace oci {

namespace {

constexpr size_t k_max_name = 255;

util::Error bad(std::string_view text, std::string_view why) {
  return util::make_error(util::ErrorCode::Config,
                          "invalid image reference \"" + std::string(text) + "\": " + std::string(why));
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

bool valid_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__" or "-"+.
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool valid_port(std::string_view port) {
  return !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
}

// "[v6 address]" or "[v6 address]:port" (distribution/reference's ipv6address rule).
bool valid_ipv6_domain(std::string_view d) {
  auto close = d.find(']');
  if (close == std::string_view::npos || close < 3) return false;
  std::string addr(d.substr(1, close - 1));
  in6_addr a;
  if (::inet_pton(AF_INET6, addr.c_str(), &a) != 1) return false;
  std::string_view after = d.substr(close + 1);
  return after.empty() || (after[0] == ':' && valid_port(after.substr(1)));
}

bool valid_domain(std::string_view d) {
  if (d.starts_with("[")) return valid_ipv6_domain(d);
  auto colon = d.rfind(':');
  std::string_view host = d;
  if (colon != std::string_view::npos) {
    if (!valid_port(d.substr(colon + 1))) return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !is_word(t[0])) return false;
  for (char c : t)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Splits "rest[:tag][@digest]" for the offline transports; the path is what remains.
util::Result<Reference> parse_layout(std::string_view text, std::string_view body) {
  Reference r;
  r.kind = ReferenceKind::OciLayout;
  auto at = body.rfind('@');
  if (at != std::string_view::npos) {
    auto d = parse_digest(body.substr(at + 1));
    if (!d) return bad(text, d.error().message());
    r.digest = d->to_string();
    body = body.substr(0, at);
  }
  {
    auto colon = body.rfind(':');
    auto slash = body.rfind('/');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
      std::string_view tag = body.substr(colon + 1);
      if (!valid_tag(tag))
        return bad(text, "invalid tag \"" + std::string(tag) + "\": must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
      r.tag = std::string(tag);
      body = body.substr(0, colon);
    }
  }
  if (body.empty()) return bad(text, "oci-layout: needs a directory");
  r.path = std::string(body);
  return r;
}

}  // namespace

util::Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  for (char c : text)
    if (c <= ' ' || c == 127) return bad(text, "contains whitespace or control characters");

  if (text.starts_with("oci-layout:")) return parse_layout(text, text.substr(11));
  for (auto [prefix, kind] : {std::pair{std::string_view("docker-archive:"), ReferenceKind::DockerArchive},
                              std::pair{std::string_view("oci-archive:"), ReferenceKind::OciArchive}}) {
    if (text.starts_with(prefix)) {
      Reference r;
      r.kind = kind;
      r.path = std::string(text.substr(prefix.size()));
      if (r.path.empty()) return bad(text, std::string(prefix) + " needs a file");
      return r;
    }
  }

  Reference r;
  std::string_view rest = text;
  auto at = rest.find('@');
  if (at != std::string_view::npos) {
    auto d = parse_digest(rest.substr(at + 1));
    if (!d) return bad(text, d.error().message());
    r.digest = d->to_string();
    rest = rest.substr(0, at);
  }
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag))
      return bad(text, "invalid tag \"" + std::string(tag) + "\": must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    r.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad(text, "missing repository name");
  if (rest.size() > k_max_name) return bad(text, "repository name longer than 255 characters");
  if (is_hex64(rest)) return bad(text, "a 64-character hex string is an image ID, not a name");

  std::string_view path = rest;
  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, first_slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      if (!valid_domain(first)) return bad(text, "invalid registry \"" + std::string(first) + "\"");
      r.registry = std::string(first);
      path = rest.substr(first_slash + 1);
    }
  }
  if (r.registry.empty() || r.registry == "index.docker.io") r.registry = "docker.io";
  if (r.registry == "docker.io" && path.find('/') == std::string_view::npos) r.repository = "library/";
  size_t start = 0;
  while (true) {
    size_t next = path.find('/', start);
    std::string_view comp = path.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!valid_path_component(comp)) {
      bool upper = false;
      for (char c : comp) upper = upper || (c >= 'A' && c <= 'Z');
      if (upper) return bad(text, "repository name must be lowercase");
      return bad(text, "invalid repository component \"" + std::string(comp) +
                           "\": use [a-z0-9] separated by '.', '_', '__' or '-'");
    }
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  r.repository += std::string(path);
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string Reference::to_string() const {
  std::string out;
  switch (kind) {
    case ReferenceKind::Registry:
      out = registry + "/" + repository;
      break;
    case ReferenceKind::OciLayout:
      out = "oci-layout:" + path;
      break;
    case ReferenceKind::DockerArchive:
      return "docker-archive:" + path;
    case ReferenceKind::OciArchive:
      return "oci-archive:" + path;
  }
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::name() const {
  if (kind == ReferenceKind::Registry) return registry + "/" + repository;
  return path;
}

}  // namespace oci
