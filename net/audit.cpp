#include "net/audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/log.hpp"

namespace net {

const char* to_string(AuditKind kind) {
  switch (kind) {
    case AuditKind::Dns:
      return "dns";
    case AuditKind::Tcp:
      return "tcp";
    case AuditKind::Tls:
      return "tls";
    case AuditKind::Http:
      return "http";
    case AuditKind::Limit:
      return "limit";
  }
  return "?";
}

std::optional<AuditKind> parse_audit_kind(std::string_view text) {
  for (auto k : {AuditKind::Dns, AuditKind::Tcp, AuditKind::Tls, AuditKind::Http, AuditKind::Limit})
    if (text == to_string(k)) return k;
  return std::nullopt;
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string to_json_line(const AuditEvent& e) {
  nlohmann::ordered_json j;
  j["time"] = e.time;
  j["kind"] = to_string(e.kind);
  j["name"] = e.name;
  j["address"] = e.address;
  j["port"] = e.port;
  j["decision"] = e.allowed ? "allow" : "deny";
  j["rule"] = e.rule;
  if (!e.reason.empty()) j["reason"] = e.reason;
  j["bytes_up"] = e.bytes_up;
  j["bytes_down"] = e.bytes_down;
  j["secrets"] = e.secrets;
  if (!e.scrubbed.empty()) j["scrubbed"] = e.scrubbed;
  if (e.kind == AuditKind::Http) {
    j["method"] = e.method;
    j["path"] = e.path;
    j["status"] = e.status;
  }
  if (e.intercepted) j["intercepted"] = true;
  // Invalid UTF-8 from the guest (a hostile Host header) is replaced, never fatal.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

util::Result<AuditEvent> parse_audit_line(std::string_view line) {
  try {
    auto j = nlohmann::json::parse(line);
    AuditEvent e;
    e.time = j.value("time", "");
    auto kind = parse_audit_kind(j.value("kind", ""));
    if (!kind) return util::make_error(util::ErrorCode::Integrity, "unknown audit kind");
    e.kind = *kind;
    e.name = j.value("name", "");
    e.address = j.value("address", "");
    e.port = j.value("port", uint16_t{0});
    e.allowed = j.value("decision", "") == "allow";
    e.rule = j.value("rule", "");
    e.reason = j.value("reason", "");
    e.bytes_up = j.value("bytes_up", uint64_t{0});
    e.bytes_down = j.value("bytes_down", uint64_t{0});
    e.secrets = j.value("secrets", std::vector<std::string>{});
    e.scrubbed = j.value("scrubbed", std::vector<std::string>{});
    e.method = j.value("method", "");
    e.path = j.value("path", "");
    e.status = j.value("status", 0);
    e.intercepted = j.value("intercepted", false);
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return util::make_error(util::ErrorCode::Integrity, std::string("bad audit line: ") + ex.what());
  }
}

util::Result<Audit> Audit::open(const std::filesystem::path& path, uint64_t max_bytes) {
  if (path.empty()) return Audit();
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "create " + path.parent_path().string() + ": " + ec.message());
  util::Fd fd = ML_TRY(util::open_fd(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return util::sys_error("stat", path.string());
  return Audit(std::move(fd), static_cast<uint64_t>(st.st_size), max_bytes);
}

uint64_t Audit::dropped() const {
  std::lock_guard lock(m_mutex);
  return m_dropped;
}

void Audit::record(AuditEvent event) {
  if (event.time.empty()) event.time = now_rfc3339();
  std::string line = to_json_line(event) + "\n";
  std::lock_guard lock(m_mutex);
  if (!m_fd) return;
  if (m_written + line.size() > m_max_bytes) {
    if (m_dropped++ == 0) {
      AuditEvent limit;
      limit.time = event.time;
      limit.kind = AuditKind::Limit;
      limit.reason = "the audit log reached its limit of " + std::to_string(m_max_bytes >> 20) +
                     " MiB; later records are dropped (counted in the supervisor log)";
      (void)util::write_all(m_fd.get(), to_json_line(limit) + "\n");
      util::log::warn("audit log: limit of " + std::to_string(m_max_bytes) + " bytes reached; dropping records");
    }
    return;
  }
  m_written += line.size();
  // One write() per line with O_APPEND: concurrent readers never see half a record.
  auto r = util::write_all(m_fd.get(), line);
  if (!r && !m_warned) {
    m_warned = true;
    util::log::warn("audit log: " + r.error().message());
  }
}

}  // namespace net
