// Starts an exec request's process: pipes or a pty, new session, user switch,
// cwd, argv[0] looked up in the request's PATH. Exec failures surface as the
// child's exit status (127 not found, 126 otherwise) with a message on its
// stderr, exactly like a shell.
#pragma once

#include <sys/types.h>

#include "guest/protocol/types.hpp"
#include "guest/protocol/users.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace protocol {

enum class SwitchUser { No, Yes };

struct SpawnedProcess {
  pid_t pid = -1;
  util::Fd pidfd;
  util::Fd stdin_w;  // with tty: the pty master (also stdout_r is unset)
  util::Fd stdout_r;
  util::Fd stderr_r;
};

util::Result<SpawnedProcess> spawn_exec(const ExecRequest& request, const std::vector<std::string>& env,
                                        const UserIdentity& user, SwitchUser switch_user);

}  // namespace protocol
