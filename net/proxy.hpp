// net::Proxy: the FlowHandler behind net::Stack. Every guest TCP connection is
// checked against the sandbox's Policy and then
//   - refused: an HTTP request gets a 403 naming the rule and how to allow it, a TLS
//     ClientHello gets a fatal alert, anything else is reset; all audited;
//   - spliced to the upstream (TLS after checking the SNI against the name the guest
//     resolved; plain HTTP after checking every request's Host header and refusing
//     secret placeholders, which would travel in clear text);
//   - intercepted with the per-sandbox CA when a secret is bound to the host: the
//     upstream is verified (system trust store plus an extra CA file), the guest sees
//     a leaf signed by SandboxCa offering ALPN http/1.1, and placeholders are swapped
//     for the real values in request heads (net/secrets.hpp).
// One worker thread per flow; the destructor shuts every flow down and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "net/audit.hpp"
#include "net/ca.hpp"
#include "net/flow.hpp"
#include "net/policy.hpp"
#include "net/secrets.hpp"
#include "util/result.hpp"

namespace net {

// Test rigs only: connect NAME:PORT to ADDRESS:TO_PORT instead of resolving NAME.
// Such addresses are exempt from block_private (they are usually 127.0.0.1).
struct UpstreamOverride {
  std::string name;
  uint16_t port = 0;
  Ipv4 address;
  uint16_t to_port = 0;
};

struct ProxyOptions {
  Policy policy;
  std::shared_ptr<const SecretTable> secrets;  // may be empty
  std::shared_ptr<SandboxCa> ca;               // required when a secret exists
  std::filesystem::path extra_ca_file;         // [network].ca: also trusted upstream
  std::shared_ptr<Audit> audit;                // may be null: nothing recorded
  std::vector<UpstreamOverride> upstream_overrides;
  std::chrono::milliseconds connect_timeout{10000};
  // How long a refused flow may take to show its first request/ClientHello.
  std::chrono::milliseconds refused_sniff_timeout{5000};
};

// The DNS side of the same policy, for StackConfig::name_allowed: whether NAME may be
// answered; a refused query is audited (kind dns, port 53) when AUDIT is not null.
std::function<bool(std::string_view)> dns_filter(Policy policy, std::shared_ptr<Audit> audit);

class ProxyShared;

class Proxy {
 public:
  static util::Result<std::unique_ptr<Proxy>> create(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Never blocks: the flow runs on its own thread.
  void handle(const FlowInfo& info, util::Fd stream);
  FlowHandler handler() {
    return [this](const FlowInfo& info, util::Fd stream) { handle(info, std::move(stream)); };
  }
  size_t active_flows() const;

 private:
  Proxy() = default;
  void reap_finished();

  std::shared_ptr<ProxyShared> m_shared;
  struct Worker;
  std::vector<std::unique_ptr<Worker>> m_workers;
  mutable std::mutex m_mutex;
};

}  // namespace net
