// The supervisor's control socket: a unix stream socket carrying JSON lines
// (docs/protocol.md, "Supervisor API"). A request may carry file descriptors
// (SCM_RIGHTS) on its first byte: exec passes the caller's stdin/stdout/stderr.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fd.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// Binds PATH (mode 0600, a stale socket is replaced) and listens.
util::Result<util::Fd> listen_unix(const std::filesystem::path& path);
util::Result<util::Fd> connect_unix(const std::filesystem::path& path);

// One line (no '\n' inside) plus FDS, sent in one sendmsg for the first byte.
util::Result<void> send_message(int sock, const std::string& line, const std::vector<int>& fds = {});

struct Message {
  std::string line;
  std::vector<util::Fd> fds;
};

// Reads one line (and the fds that came with it). NotFound at a clean EOF.
// Reads byte by byte so nothing after the line is consumed.
util::Result<Message> recv_message(int sock);

// One request to the supervisor of the running sandbox NAME and its reply: NotFound when
// there is no such sandbox or it is not running, Guest with the supervisor's error when
// the reply is {"ok":false,...}.
util::Result<nlohmann::json> supervisor_request(const util::Dirs& dirs, const std::string& name,
                                                const nlohmann::json& request);

}  // namespace engine
