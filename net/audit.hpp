// The audit log: one JSON object per line in <state>/sandboxes/<name>/audit.jsonl
// (for `matchlock gateway`: on its stdout).
// Records what left (or tried to leave) the sandbox: when, what kind, to which
// name/address/port, the decision and the rule behind it, bytes each way and the
// NAMES of secrets injected. Never values, never URLs' queries or headers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace net {

// Limit: the one record written when the log reached its size cap (later records are dropped).
enum class AuditKind { Dns, Tcp, Tls, Http, Limit };

struct AuditEvent {
  std::string time;  // RFC 3339 UTC with milliseconds; filled by Audit::record when empty
  AuditKind kind = AuditKind::Tcp;
  std::string name;     // host name (DNS name, SNI, Host header); empty for raw addresses
  std::string address;  // IPv4 the guest dialed, or the DNS answer
  uint16_t port = 0;
  bool allowed = false;
  std::string rule;  // matching rule as written, or "" for the default decision
  std::string reason;
  uint64_t bytes_up = 0;              // guest -> upstream
  uint64_t bytes_down = 0;            // upstream -> guest
  std::vector<std::string> secrets;   // names of secrets injected
  std::vector<std::string> scrubbed;  // names of secrets whose values (or new tokens) came back as placeholders
  std::string method;                 // Http: request method
  std::string path;                   // Http: path without the query
  int status = 0;                     // Http: response status (0 when refused before one)
  bool intercepted = false;           // TLS terminated by the sandbox CA
};

const char* to_string(AuditKind kind);
std::optional<AuditKind> parse_audit_kind(std::string_view text);
std::string to_json_line(const AuditEvent& event);  // without the trailing newline
util::Result<AuditEvent> parse_audit_line(std::string_view line);
std::string now_rfc3339();

class Audit {
 public:
  // The guest decides how many records there are (a DNS query each): the file stops growing
  // at this many bytes, after one "limit" record saying so.
  static constexpr uint64_t k_default_max_bytes = 64ull << 20;

  // Appends to PATH (created 0600, parent directories made). An empty PATH discards records.
  static util::Result<Audit> open(const std::filesystem::path& path, uint64_t max_bytes = k_default_max_bytes);
  // Records to FD (the gateway's stdout: a log collector reads it), no size cap.
  static Audit to_stream(util::Fd fd) { return Audit(std::move(fd), 0, UINT64_MAX); }
  Audit() = default;
  Audit(Audit&& other) noexcept
      : m_fd(std::move(other.m_fd)), m_written(other.m_written), m_max_bytes(other.m_max_bytes) {}
  uint64_t dropped() const;

  // Thread-safe; a failed write is reported once on stderr, never fatal.
  void record(AuditEvent event);

 private:
  Audit(util::Fd fd, uint64_t written, uint64_t max_bytes)
      : m_fd(std::move(fd)), m_written(written), m_max_bytes(max_bytes) {}
  util::Fd m_fd;
  mutable std::mutex m_mutex;
  bool m_warned = false;
  uint64_t m_written = 0;
  uint64_t m_max_bytes = k_default_max_bytes;
  uint64_t m_dropped = 0;
};

}  // namespace net
