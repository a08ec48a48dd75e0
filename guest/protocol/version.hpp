// Protocol and agent versions. engine::k_protocol_version must stay equal to
// protocol::k_version (the protocol library does not include engine).
#pragma once

namespace protocol {

inline constexpr int k_version = 1;
inline constexpr const char* k_agent_version = "0.1.0";

}  // namespace protocol
