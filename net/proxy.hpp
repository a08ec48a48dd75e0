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
// The same code serves `matchlock gateway`'s explicit-proxy clients (handle_client): a
// CONNECT or an absolute-form request names the destination, then the flow runs as above
// (proxy_explicit.cpp). One worker thread per flow (small stack), at most ProxyOptions::max_flows at once: a SYN
// beyond is refused by admission() (RST instead of SYN-ACK) and audited, at most one record a
// second.
// Memory freed by finished flows is handed back to the OS (malloc_trim) after bursts.
// The destructor shuts every flow down and joins.
#pragma once

#include <atomic>
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
  // Concurrent flows (worker threads) of the sandbox; docs/threat-model.md "Resource limits".
  size_t max_flows = 256;
  // How long an allowed flow may stay silent both ways before its first byte (then it closes).
  std::chrono::milliseconds first_bytes_timeout{std::chrono::hours(24)};
  // Explicit-proxy clients (handle_client): how long the request head may take to arrive.
  std::chrono::milliseconds head_timeout{10000};
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
  // An explicit-proxy client (`matchlock gateway`, net/gateway.hpp): PEER is its address
  // (guest_ip/guest_port). Never blocks; false when at the flow cap or stopping (the caller
  // closes CLIENT). FINISHED runs on the worker when the client is done.
  bool handle_client(const FlowInfo& peer, util::Fd client, std::function<void()> finished);
  // For StackConfig::admit_flow: false while the sandbox is at its flow cap (or stopping).
  bool admit(const FlowInfo& info);
  FlowAdmission admission() {
    return [this](const FlowInfo& info) { return admit(info); };
  }
  size_t active_flows() const;

 private:
  Proxy() = default;
  void reap_finished();
  // Runs BODY on a worker of its own (m_mutex held by the caller); false at the cap.
  bool start_worker(const FlowInfo& info, std::function<void(ProxyShared&)> body);
  void refuse_over_cap(const FlowInfo& info);
  void worker_finished();

  std::shared_ptr<ProxyShared> m_shared;
  struct Worker;
  std::vector<std::unique_ptr<Worker>> m_workers;
  mutable std::mutex m_mutex;
  std::atomic<size_t> m_live{0};
  // Refusals at the cap not yet in the audit log, and when the last record was written.
  uint64_t m_unaudited_refusals = 0;
  std::chrono::steady_clock::time_point m_last_cap_audit{};
  // Flows finished since memory was last handed back, and when that was.
  std::atomic<size_t> m_finished_since_trim{0};
  std::atomic<int64_t> m_last_trim_ms{0};
};

}  // namespace net
