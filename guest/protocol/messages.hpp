// JSON payloads of Hello / Control / Open frames (docs/protocol.md). The
// nlohmann adapter: every exception is caught here and becomes a protocol error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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
nlohmann::json boot_info_to_json(const BootInfo& i);
util::Result<BootInfo> boot_info_from_json(const nlohmann::json& j);
nlohmann::json exec_to_json(const ExecRequest& r);  // includes "kind":"exec"
util::Result<ExecRequest> exec_from_json(const nlohmann::json& j);

// Typed field access with protocol errors instead of exceptions.
util::Result<std::string> get_string(const nlohmann::json& j, const char* key);
util::Result<int64_t> get_int(const nlohmann::json& j, const char* key);

}  // namespace protocol
