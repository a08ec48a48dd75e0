#include "engine/sandbox_state.hpp"

#include <signal.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/process_info.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(PortOrigin o) {
  switch (o) {
    case PortOrigin::Cli:
      return "cli";
    case PortOrigin::Auto:
      return "auto";
    case PortOrigin::Matchlockfile:
      break;
  }
  return "matchlockfile";
}

PortOrigin port_origin(std::string_view text) {
  return text == "cli" ? PortOrigin::Cli : text == "auto" ? PortOrigin::Auto : PortOrigin::Matchlockfile;
}

SandboxPaths sandbox_paths(const util::Dirs& dirs, const std::string& name) {
  return SandboxPaths{dirs.state / "sandboxes" / name};
}

util::Result<void> check_sandbox_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' && name[0] != '-' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == '-';
            });
  if (!ok)
    return util::make_error(util::ErrorCode::Usage,
                            "invalid sandbox name '" + name + "' (use letters, digits, '.', '_', '-')");
  return util::ok();
}

std::string record_to_json(const SandboxRecord& r, int indent) {
  json ports = json::array();
  for (const auto& p : r.ports)
    ports.push_back({{"host", p.host}, {"guest", p.guest}, {"origin", to_string(p.origin)}});
  json j = {{"name", r.name},
            {"state", to_string(r.state)},
            {"pid", r.pid},
            {"pid_start", r.pid_start},
            {"started_unix", r.started_unix},
            {"ready_ms", r.ready_ms},
            {"file", r.file},
            {"config_sha256", r.config_sha256},
            {"image", r.image},
            {"image_digest", r.image_digest},
            {"backend", r.backend},
            {"platform", r.platform},
            {"accel", r.accel},
            {"snapshot", r.snapshot},
            {"cpus", r.cpus},
            {"memory_bytes", r.memory_bytes},
            {"ports", ports},
            {"allowed_hosts", r.allowed_hosts},
            {"mounts", r.mounts},
            {"error", r.error},
            {"error_kind", r.error_kind},
            {"layers", r.layers},
            {"cached_tasks", r.cached_tasks},
            {"capture_tasks", r.capture_tasks}};
  return j.dump(indent);
}

util::Result<void> write_record(const SandboxPaths& paths, const SandboxRecord& record) {
  return util::write_file_atomic(paths.record(), record_to_json(record, 2) + "\n", 0600);
}

util::Result<SandboxRecord> read_record(const SandboxPaths& paths) {
  std::string text = ML_TRY(util::read_file(paths.record()));
  try {
    json j = json::parse(text);
    SandboxRecord r;
    r.name = j.value("name", "");
    auto state = parse_sandbox_state(j.value("state", ""));
    if (!state)
      return util::make_error(
          util::ErrorCode::Integrity,
          paths.record().string() + ": state: not one of starting, running, stopping, stopped, dead");
    r.state = *state;
    r.pid = j.value("pid", 0);
    r.pid_start = j.value("pid_start", uint64_t{0});
    r.started_unix = j.value("started_unix", int64_t{0});
    r.ready_ms = j.value("ready_ms", int64_t{0});
    r.file = j.value("file", "");
    r.config_sha256 = j.value("config_sha256", "");
    r.image = j.value("image", "");
    r.image_digest = j.value("image_digest", "");
    r.backend = j.value("backend", "qemu");
    r.platform = j.value("platform", "");
    r.accel = j.value("accel", "");
    r.snapshot = j.value("snapshot", "");
    r.cpus = j.value("cpus", 0);
    r.memory_bytes = j.value("memory_bytes", uint64_t{0});
    for (const auto& p : j.value("ports", json::array()))
      r.ports.push_back({p.value("host", uint16_t{0}), p.value("guest", uint16_t{0}),
                         port_origin(p.value("origin", std::string("matchlockfile")))});
    r.allowed_hosts = j.value("allowed_hosts", std::vector<std::string>{});
    r.mounts = j.value("mounts", std::vector<std::string>{});
    r.error = j.value("error", "");
    r.error_kind = j.value("error_kind", "");
    r.layers = j.value("layers", std::vector<std::string>{});
    r.cached_tasks = j.value("cached_tasks", std::vector<std::string>{});
    r.capture_tasks = j.value("capture_tasks", std::vector<std::string>{});
    return r;
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Integrity, paths.record().string() + ": " + e.what());
  }
}

uint64_t process_start_time(pid_t pid) { return util::process_start_time(pid); }

bool supervisor_alive(const SandboxRecord& record) {
  return record.pid > 0 && record.pid_start != 0 && process_start_time(record.pid) == record.pid_start;
}

const char* to_string(SandboxState state) {
  switch (state) {
    case SandboxState::Starting:
      return "starting";
    case SandboxState::Running:
      return "running";
    case SandboxState::Stopping:
      return "stopping";
    case SandboxState::Stopped:
      return "stopped";
    case SandboxState::Dead:
      return "dead";
  }
  return "dead";
}

std::optional<SandboxState> parse_sandbox_state(std::string_view text) {
  for (auto s : {SandboxState::Starting, SandboxState::Running, SandboxState::Stopping, SandboxState::Stopped,
                 SandboxState::Dead})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

bool is_live(SandboxState state) {
  return state == SandboxState::Starting || state == SandboxState::Running || state == SandboxState::Stopping;
}

SandboxState effective_state(const SandboxRecord& record) {
  if (!is_live(record.state)) return record.state;
  return supervisor_alive(record) ? record.state : SandboxState::Dead;
}

std::string error_kind(util::ErrorCode code) {
  switch (code) {
    case util::ErrorCode::Usage:
    case util::ErrorCode::Config:
      return "config";
    case util::ErrorCode::Frozen:
      return "frozen";
    case util::ErrorCode::Denied:
      return "denied";
    default:
      return "";
  }
}

util::ErrorCode error_code_of_kind(std::string_view kind) {
  if (kind == "config") return util::ErrorCode::Config;
  if (kind == "frozen") return util::ErrorCode::Frozen;
  if (kind == "denied") return util::ErrorCode::Denied;
  return util::ErrorCode::Guest;
}

std::vector<std::string> list_sandboxes(const util::Dirs& dirs) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dirs.state / "sandboxes", ec)) {
    if (fs::exists(entry.path() / "sandbox.json", ec)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace engine
