// The on-disk state of a sandbox managed by a supervisor:
// <state>/sandboxes/<name>/ (0700) holds sandbox.json (written atomically by the
// supervisor), supervisor.sock (0600), supervisor.log, console.log, upper.ext4
// and Matchlockfile.booted (the file as it was at boot, for change detection).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// Who asked for a forward: the Matchlockfile's [[ports]], `matchlock port`, or ports = "auto".
enum class PortOrigin { Matchlockfile, Cli, Auto };
const char* to_string(PortOrigin o);
PortOrigin port_origin(std::string_view text);  // to_string's inverse; unknown -> Matchlockfile

struct PortForward {
  uint16_t host = 0;   // on 127.0.0.1
  uint16_t guest = 0;  // on the guest's 127.0.0.1
  PortOrigin origin = PortOrigin::Matchlockfile;
};

// A sandbox's life: the supervisor records Starting, Running, Stopping, Stopped; Dead is
// derived (effective_state) when the supervisor vanished without recording Stopped.
enum class SandboxState { Starting, Running, Stopping, Stopped, Dead };
const char* to_string(SandboxState state);
std::optional<SandboxState> parse_sandbox_state(std::string_view text);
// Starting, Running or Stopping: a supervisor owns the sandbox.
bool is_live(SandboxState state);

struct SandboxRecord {
  std::string name;
  SandboxState state = SandboxState::Starting;
  pid_t pid = 0;              // the supervisor
  uint64_t pid_start = 0;     // its start time (util::process_start_time)
  int64_t started_unix = 0;   // when it started
  int64_t ready_ms = 0;       // boot time to Ready
  std::string file;           // the Matchlockfile
  std::string config_sha256;  // of its bytes at boot
  std::string image;          // reference
  std::string image_digest;   // manifest digest
  std::string backend = "qemu";
  std::string platform;  // the guest's, "linux/arm64" (engine/guest_platform.hpp)
  std::string accel;
  std::string snapshot;  // "resumed from memory snapshot …", "booted cold, saved …", "booted cold (…)"
  int cpus = 0;
  uint64_t memory_bytes = 0;
  std::vector<PortForward> ports;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> mounts;  // "SRC -> TARGET"
  // Cached task layers (engine/task_layers.hpp): the layer keys attached at boot
  // (topmost first), the `up` tasks they already contain (skipped), and the tasks
  // after which `up` asks the supervisor to capture a layer.
  std::vector<std::string> layers;
  std::vector<std::string> cached_tasks;
  std::vector<std::string> capture_tasks;
  std::string error;       // why it stopped, when it failed
  std::string error_kind;  // a start that failed on the user's input: "config", "frozen", "denied" (else "")
};

struct SandboxPaths {
  std::filesystem::path dir;
  std::filesystem::path record() const { return dir / "sandbox.json"; }
  std::filesystem::path socket() const { return dir / "supervisor.sock"; }
  std::filesystem::path log() const { return dir / "supervisor.log"; }
  std::filesystem::path console() const { return dir / "console.log"; }
  std::filesystem::path upper() const { return dir / "upper.ext4"; }
  std::filesystem::path booted_file() const { return dir / "Matchlockfile.booted"; }
};

SandboxPaths sandbox_paths(const util::Dirs& dirs, const std::string& name);
// NAME must be a safe directory name ([A-Za-z0-9._-], not starting with '.').
util::Result<void> check_sandbox_name(const std::string& name);

util::Result<void> write_record(const SandboxPaths& paths, const SandboxRecord& record);
util::Result<SandboxRecord> read_record(const SandboxPaths& paths);
std::string record_to_json(const SandboxRecord& record, int indent = -1);

// Start time of PID (field 22 of /proc/PID/stat), 0 when it is gone or a zombie.
uint64_t process_start_time(pid_t pid);
// True when the record's supervisor process still runs (same pid and start time).
bool supervisor_alive(const SandboxRecord& record);
// The recorded state while its supervisor lives; Dead when it vanished without
// recording Stopped.
SandboxState effective_state(const SandboxRecord& record);

// A failed start's error code as the record keeps it, so that the CLI that waited for
// the supervisor exits as if it had failed itself (a secret's unset variable: exit 2).
std::string error_kind(util::ErrorCode code);
util::ErrorCode error_code_of_kind(std::string_view kind);  // ErrorCode::Guest for "" or unknown

// Names of every sandbox with a record, sorted.
std::vector<std::string> list_sandboxes(const util::Dirs& dirs);

}  // namespace engine
