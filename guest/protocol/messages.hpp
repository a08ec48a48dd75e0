// JSON payloads of Hello / Control / Open frames (docs/protocol.md). The
// nlohmann adapter: every exception is caught here and becomes a protocol error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "guest/protocol/frame.hpp"
#include "guest/protocol/types.hpp"
#include "util/result.hpp"

namespace protocol {

enum class Role { Host, Agent };

struct Hello {
  int version = 0;
  std::string software;  // agent or host software version
  Role role = Role::Host;
};

// Errors are ErrorCode::Guest "protocol error: ...".
util::Result<nlohmann::json> parse_json_object(std::string_view text);
util::Error protocol_error(std::string message);

std::string encode_hello(const Hello& hello);
util::Result<Hello> decode_hello(std::string_view payload);

nlohmann::json boot_to_json(const BootConfig& c);
util::Result<BootConfig> boot_from_json(const nlohmann::json& j);
nlohmann::json resume_to_json(const ResumeConfig& c);
// Refuses entropy that is not exactly k_resume_entropy_bytes (hex) and non-absolute mounts.
util::Result<ResumeConfig> resume_from_json(const nlohmann::json& j);
nlohmann::json boot_info_to_json(const BootInfo& i);
util::Result<BootInfo> boot_info_from_json(const nlohmann::json& j);
nlohmann::json exec_to_json(const ExecRequest& r);  // includes "kind":"exec"
util::Result<ExecRequest> exec_from_json(const nlohmann::json& j);

// Typed field access with protocol errors instead of exceptions. The peer is not trusted:
// never read its JSON with json::value() or get<T>() on an unchecked type (a wrong type
// throws; a float converted to an integer out of range is undefined behaviour).
util::Result<std::string> get_string(const nlohmann::json& j, const char* key);
util::Result<int64_t> get_int(const nlohmann::json& j, const char* key);
// Optional fields: FALLBACK when absent or null; a protocol error when present with another
// type or, for integers, outside [MIN, MAX] (a float is never taken as an integer).
util::Result<std::string> get_string_or(const nlohmann::json& j, const char* key, std::string fallback);
util::Result<int64_t> get_int_or(const nlohmann::json& j, const char* key, int64_t fallback, int64_t min, int64_t max);
util::Result<bool> get_bool_or(const nlohmann::json& j, const char* key, bool fallback);
// The "op" of a control message: "" when absent or not a string.
std::string op_of(const nlohmann::json& j);
// The "message" of an error reply, or FALLBACK when absent or not a string.
std::string message_of(const nlohmann::json& j, std::string_view fallback);

// An Open request (host -> agent), by kind: "exec" (ExecRequest), "put" {path, mode},
// "get" {path, max_size}, "tcp" {port}, "fuse" / "snapshot" / "snapshot-list" {port: the
// mount id}. Errors name the kind ("put: bad request"); an unknown kind is
// ErrorCode::Unsupported.
struct OpenRequest {
  std::string kind;
  ExecRequest exec;
  std::string path;       // put, get: absolute ("~/..." for a put with a user)
  uint32_t mode = 0;      // put: permission bits (07777)
  std::string user;       // put: optional guest user owning the file and the directories made
  uint64_t max_size = 0;  // get: 0 = no limit
  uint32_t port = 0;      // tcp: 1..65535; fuse, snapshot, snapshot-list: the mount id
};
util::Result<OpenRequest> open_request_from_json(const nlohmann::json& j);

// Control messages on an exec channel (host -> agent): "signal" {signal}, "close_output"
// {stream}, "resize" {rows, cols}; any other op is ignored (op kept as sent).
struct ExecControl {
  std::string op;
  int signal = 0;
  StreamId stream = StreamId::Out;
  uint16_t rows = 24, cols = 80;
};
util::Result<ExecControl> exec_control_from_json(const nlohmann::json& j);
// The result of an exec (agent -> host): {"op":"exit","code":0..255,"signal":0..64}.
util::Result<ExecResult> exec_result_from_json(const nlohmann::json& j);
// The agent's answer to "boot": {"op":"ready",...} -> BootInfo; "boot_failed"/"error" -> its message.
util::Result<BootInfo> boot_reply_from_json(const nlohmann::json& j);
// The agent's answer to session op OP: ANSWER, or an error with its message.
util::Result<void> session_reply_from_json(const nlohmann::json& j, std::string_view op, std::string_view answer);
// A channel's last Control from the agent: {"op":"error","message","code"} is an error
// (ErrorCode::NotFound for code "not_found"), anything else a result.
util::Result<void> channel_result_from_json(const nlohmann::json& j);

}  // namespace protocol
