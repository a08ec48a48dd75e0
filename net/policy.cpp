#include "net/policy.hpp"

#include <charconv>

namespace net {

namespace {

Decision allow(const SourcedRule& r) {
  std::string reason = "allowed by " + r.source + " \"" + r.rule.to_string() + "\"";
  return {Verdict::Allow, r.rule.to_string(), std::move(reason)};
}

Decision deny_by(const SourcedRule& r) {
  return {Verdict::Deny, r.rule.to_string(), "denied by " + r.source + " \"" + r.rule.to_string() + "\""};
}

Decision deny_default(std::string reason) { return {Verdict::Deny, "", std::move(reason)}; }

// The reason never repeats the name: it may hold any byte the guest chose.
Decision invalid_name() {
  return deny_default("not a valid host name (letters, digits and '-' in dot-separated labels)");
}

}  // namespace

Policy::Policy(std::vector<Rule> allow, std::vector<Rule> deny, BlockPrivate block_private)
    : m_block_private(block_private) {
  for (auto& r : allow) m_allow.push_back({std::move(r), "network.allow"});
  for (auto& r : deny) m_deny.push_back({std::move(r), "network.deny"});
}

void Policy::add_secret_hosts(std::string_view secret_name, const std::vector<Rule>& hosts) {
  for (const auto& r : hosts) m_allow.push_back({r, "secrets." + std::string(secret_name) + ".hosts"});
}

void Policy::add_service(HostService service) { m_services.push_back(std::move(service)); }

const HostService* Policy::find_service(std::string_view name, uint16_t port) const {
  for (const auto& s : m_services)
    if (s.port == port && s.guest_name() == name) return &s;
  return nullptr;
}

// HOST is canonical and under host.internal: only a declared service, only on its port.
Decision Policy::decide_service(const std::string& host, uint16_t port) const {
  if (const auto* s = find_service(host, port)) {
    // Deny wins here too: a CIDR deny entry covering the endpoint refuses it, as it
    // would refuse a name that resolved there (check_upstream_address).
    if (const auto* d = find_deny(s->address.to_string(), s->to_port)) return deny_by(*d);
    return {Verdict::Allow, host + ":" + std::to_string(port),
            "allowed by network.services." + s->name + " (" + s->target() + " on the host)"};
  }
  for (const auto& s : m_services)
    if (s.guest_name() == host)
      return deny_default(host + " is a host service on port " + std::to_string(s.port) + " only (network.services." +
                          s.name + ")");
  return deny_default(host + " is not a declared host service ([network.services])");
}

void Policy::add_rules(Verdict verdict, const std::vector<Rule>& rules, std::string_view source) {
  for (const auto& r : rules) (verdict == Verdict::Allow ? m_allow : m_deny).push_back({r, std::string(source)});
}

const SourcedRule* Policy::find_deny(std::string_view host, uint16_t port) const {
  for (const auto& r : m_deny)
    if (matches(r.rule, host, port)) return &r;
  return nullptr;
}

const SourcedRule* Policy::find_allow(std::string_view host, uint16_t port) const {
  for (const auto& r : m_allow)
    if (matches(r.rule, host, port)) return &r;
  return nullptr;
}

Decision Policy::decide_name(std::string_view name, uint16_t port) const {
  if (auto address = parse_ipv4(name)) return decide_address(*address, port);
  auto host = canonical_hostname(name);
  if (!host) return invalid_name();
  if (in_service_domain(*host)) return decide_service(*host, port);
  if (const auto* d = find_deny(*host, port)) return deny_by(*d);
  if (const auto* a = find_allow(*host, port)) return allow(*a);
  return deny_default(*host + ":" + std::to_string(port) + " is not in [network].allow");
}

Decision Policy::decide_address(Ipv4 address, uint16_t port) const {
  std::string text = address.to_string();
  if (const auto* d = find_deny(text, port)) return deny_by(*d);
  for (const auto& r : m_allow)
    if (r.rule.kind == RuleKind::Cidr && matches(r.rule, text, port)) return allow(r);
  return deny_default("direct connections to IP addresses (" + text + ":" + std::to_string(port) +
                      ") are denied unless a CIDR in [network].allow covers them");
}

Decision Policy::decide_dns(std::string_view name) const {
  auto host = canonical_hostname(name);
  if (!host) return invalid_name();
  if (in_service_domain(*host)) {
    for (const auto& s : m_services)
      if (s.guest_name() == *host) return decide_service(*host, s.port);
    return decide_service(*host, 0);
  }
  for (const auto& r : m_deny)
    if (r.rule.port == 0 && r.rule.kind != RuleKind::Cidr && matches(r.rule, *host, 0)) return deny_by(r);
  for (const auto& r : m_allow) {
    if (r.rule.kind == RuleKind::Cidr) continue;
    Rule any_port = r.rule;
    any_port.port = 0;
    if (matches(any_port, *host, 0)) return allow(r);
  }
  return deny_default(*host + " is not in [network].allow");
}

Decision Policy::check_upstream_address(std::string_view name, Ipv4 address, uint16_t port) const {
  std::string text = address.to_string();
  if (const auto* d = find_deny(text, port)) return deny_by(*d);
  if (m_block_private == BlockPrivate::No || !is_private_address(address))
    return {Verdict::Allow, "", "public address"};
  for (const auto& r : m_allow)
    if (r.rule.kind == RuleKind::Cidr && matches(r.rule, text, port)) return allow(r);
  return deny_default(std::string(name) + " resolved to the private address " + text +
                      " (network.block_private; allow its CIDR to permit it)");
}

std::optional<Target> parse_target(std::string_view text) {
  Target t;
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    auto p = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535) return std::nullopt;
    t.port = static_cast<uint16_t>(port);
    text = text.substr(0, colon);
  }
  if (text.empty()) return std::nullopt;
  std::string host(text);
  for (char& c : host)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (!parse_ipv4(host) && !is_valid_hostname(host)) return std::nullopt;
  t.host = std::move(host);
  return t;
}

std::string suggest_rule(std::string_view host, uint16_t port) {
  std::string h(host);
  if (parse_ipv4(host)) return port ? h + "/32:" + std::to_string(port) : h + "/32";
  if (port == 0 || port == 80 || port == 443) return h;
  return h + ":" + std::to_string(port);
}

std::string allow_hint(std::string_view host, uint16_t port, const Decision& decision) {
  if (!decision.rule.empty())
    return "To allow it, remove \"" + decision.rule + "\" from [network].deny in the Matchlockfile.";
  if (!parse_ipv4(host) && in_service_domain(host))
    return "To reach a host-side endpoint, declare it under [network.services] in the Matchlockfile "
           "(NAME = \"127.0.0.1:PORT\" is NAME." +
           std::string(k_service_domain) + ":PORT in the sandbox).";
  return "To allow it, add \"" + suggest_rule(host, port) + "\" to [network].allow in the Matchlockfile.";
}

std::string refusal_body(std::string_view host, uint16_t port, const Decision& decision) {
  return "matchlock: connection to " + std::string(host) + ":" + std::to_string(port) +
         " refused by the sandbox network policy: " + decision.reason + ".\n" + allow_hint(host, port, decision) + "\n";
}

}  // namespace net
