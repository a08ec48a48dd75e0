// Plain request/response types shared by the host Client and the guest server.
// Their JSON encoding lives in protocol/messages.hpp; docs/protocol.md is the spec.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace protocol {

// The guest's NIC (eth0), configured by the agent after the root is mounted. Disabled:
// only `lo` is brought up. docs/network.md, "Guest side".
struct NetConfig {
  bool enabled = false;
  std::string address;  // "192.168.127.2"
  int prefix = 24;
  std::string gateway;  // default route and the only nameserver
  uint32_t mtu = 1500;
  std::string ca_pem;  // the sandbox CA: appended to the image's trust bundles, /etc/matchlock/ca.pem
};

// A FUSE mount the agent makes at boot; the host serves it over a "fuse"
// channel (port = id). docs/workspace.md.
struct MountSpec {
  uint32_t id = 0;
  std::string target;       // absolute guest path (created if missing)
  std::string mode = "rw";  // "rw", "ro" (ro also mounts MS_RDONLY) or "snapshot" (guest/protocol/fuse_snapshot.hpp)
  // Transport: empty = FUSE over the "fuse" channel (the agent pumps /dev/fuse);
  // else the tag of a virtio-fs device the host serves directly (JSON "tag", optional).
  std::string tag;
};

// Sent by the host after the handshake. The agent sets the clock (there is no
// RTC), mounts the disks (found by virtio serial), overlays them as the root,
// switch_roots, sets the hostname and writes /etc/hosts.
struct BootConfig {
  int64_t time_unix_ns = 0;
  std::string hostname;
  std::vector<std::string> hosts;  // lines of /etc/hosts, e.g. "127.0.0.1 localhost"
  // Read-only lower disks by serial, topmost first (overlay lowerdir order).
  std::vector<std::string> lower_disks = {"ml-image"};
  std::string upper_disk = "ml-upper";  // writable ext4
  std::vector<MountSpec> mounts;        // optional; empty = none
  NetConfig net;                        // JSON key "net", optional
};

// Session op "resume" (docs/protocol.md): sent on a fresh connection after the agent
// answered "suspend" — to the VM that was snapshotted and to every VM resumed from that
// snapshot. What must differ between siblings is applied before the agent answers, in
// this order: entropy (written to the CRNG, credited, reseeded), clock, hostname and
// /etc/hosts, the sandbox CA (the snapshot's one is removed from the trust bundles).
struct ResumeConfig {
  std::string entropy;  // k_resume_entropy_bytes random bytes from the host (JSON: hex)
  int64_t time_unix_ns = 0;
  std::string hostname;
  std::vector<std::string> hosts;
  std::string ca_pem;             // "" when the sandbox has no NIC
  std::vector<MountSpec> mounts;  // the shares of this sandbox (they differ between siblings)
};
inline constexpr size_t k_resume_entropy_bytes = 64;

// Clock discipline of the session op "clock" (docs/protocol.md): the agent leaves an
// offset below k_clock_slew_ns alone, slews one up to k_clock_step_ns (adjtime: time
// never goes backwards for small errors) and steps anything larger.
inline constexpr int64_t k_clock_slew_ns = 5'000'000;
inline constexpr int64_t k_clock_step_ns = 50'000'000;

struct BootInfo {
  std::string uname;          // "Linux <host> <release> <version> <machine>"
  std::string agent_version;  // protocol::k_agent_version of the agent
  // Milestones in milliseconds since the kernel started (CLOCK_BOOTTIME),
  // agent_start, modules, host_connected, boot_request, disks, root, ready.
  std::vector<std::pair<std::string, int64_t>> timings_ms;
};

struct ExecRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in the PATH of `env`
  std::vector<std::string> env;   // "K=V"; PATH/HOME/USER/LOGNAME defaulted when absent
  std::string cwd;                // empty: "/"
  std::string user;               // "", "name", "uid", "name:group", "uid:gid" (guest /etc/passwd)
  bool tty = false;               // run on a pty; stdout carries the merged output
  uint16_t rows = 24, cols = 80;  // initial pty size when tty
};

struct ExecResult {
  // Shell convention: the exit code, 126 not executable, 127 not found,
  // 128+signal when killed by a signal (then `signal` is that signal, else 0).
  int exit_code = 0;
  int signal = 0;
};

}  // namespace protocol
