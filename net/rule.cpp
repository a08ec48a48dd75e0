#include "net/rule.hpp"

#include <charconv>

#include "net/host_service.hpp"

namespace net {

namespace {

util::Error bad(std::string_view text, std::string_view why) {
  return util::make_error(util::ErrorCode::Config,
                          "invalid network rule \"" + std::string(text) + "\": " + std::string(why));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

util::Result<Rule> parse_rule(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  Rule rule;
  std::string_view body = text;
  auto colon = body.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view p = body.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535)
      return bad(text, "port must be 1..65535");
    rule.port = static_cast<uint16_t>(port);
    body = body.substr(0, colon);
  }
  if (body.empty()) return bad(text, "missing host");
  bool looks_numeric = body.find_first_not_of("0123456789./") == std::string_view::npos;
  if (looks_numeric) {
    std::string why;
    auto cidr = parse_cidr(body, &why);
    if (!cidr) return bad(text, why);
    rule.kind = RuleKind::Cidr;
    rule.cidr = *cidr;
    return rule;
  }
  std::string host = lower(body);
  if (host.starts_with("*.")) {
    rule.kind = RuleKind::Subdomains;
    host.erase(0, 2);
  }
  if (host.find('*') != std::string::npos) return bad(text, "'*' is only allowed as a leading \"*.\"");
  if (host.find('/') != std::string::npos) return bad(text, "not a host name or IPv4 CIDR");
  if (!is_valid_hostname(host)) return bad(text, "not a valid host name");
  if (rule.kind == RuleKind::Subdomains && host.find('.') == std::string::npos)
    return bad(text, "\"*.\" needs a domain with at least two labels (\"*.example.com\")");
  if (in_service_domain(host))
    return bad(text, std::string(k_service_domain) +
                         " names are host services: declare NAME = \"ADDRESS:PORT\" "
                         "under [network.services] instead");
  rule.host = std::move(host);
  return rule;
}

std::string Rule::to_string() const {
  std::string out;
  switch (kind) {
    case RuleKind::Host:
      out = host;
      break;
    case RuleKind::Subdomains:
      out = "*." + host;
      break;
    case RuleKind::Cidr:
      out = cidr.to_string();
      break;
  }
  if (port != 0) out += ":" + std::to_string(port);
  return out;
}

bool matches(const Rule& rule, std::string_view host, uint16_t port) {
  if (rule.port != 0 && rule.port != port) return false;
  if (rule.kind == RuleKind::Cidr) {
    auto addr = parse_ipv4(host);
    return addr && rule.cidr.contains(*addr);
  }
  std::string h = lower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();  // fully-qualified form
  if (rule.kind == RuleKind::Host) return h == rule.host;
  return h.size() > rule.host.size() + 1 && h.ends_with(rule.host) && h[h.size() - rule.host.size() - 1] == '.';
}

namespace {

// NAME is SUFFIX or lies below it ("a.b.example.com" below "example.com").
bool at_or_below(const std::string& name, const std::string& suffix) {
  return name == suffix ||
         (name.size() > suffix.size() + 1 && name.ends_with(suffix) && name[name.size() - suffix.size() - 1] == '.');
}

bool cidr_within(const Cidr& inner, const Cidr& outer) {
  return inner.prefix >= outer.prefix && outer.contains(inner.base);
}

}  // namespace

bool rule_within(const Rule& inner, const Rule& outer) {
  if (outer.port != 0 && inner.port != outer.port) return false;
  if ((inner.kind == RuleKind::Cidr) != (outer.kind == RuleKind::Cidr)) return false;
  if (inner.kind == RuleKind::Cidr) return cidr_within(inner.cidr, outer.cidr);
  if (outer.kind == RuleKind::Host) return inner.kind == RuleKind::Host && inner.host == outer.host;
  // OUTER is *.X: a name strictly below X, or *.Y with Y at or below X.
  if (inner.kind == RuleKind::Host) return inner.host != outer.host && at_or_below(inner.host, outer.host);
  return at_or_below(inner.host, outer.host);
}

bool rules_overlap(const Rule& a, const Rule& b) {
  if (a.port != 0 && b.port != 0 && a.port != b.port) return false;
  if ((a.kind == RuleKind::Cidr) != (b.kind == RuleKind::Cidr)) return false;
  if (a.kind == RuleKind::Cidr) return cidr_within(a.cidr, b.cidr) || cidr_within(b.cidr, a.cidr);
  Rule pa = a, pb = b;
  pa.port = pb.port = 0;
  if (rule_within(pa, pb) || rule_within(pb, pa)) return true;
  return false;
}

}  // namespace net
