// User lookup from the guest root's /etc/passwd and /etc/group, parsed by hand
// (the agent is static: no NSS, no getpwnam).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace protocol {

struct UserIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
  std::string name;           // empty when the spec was numeric and not in passwd
  std::string home = "/";
  std::string shell = "/bin/sh";
};

// spec: "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group".
// passwd/group are file contents (tests pass strings).
util::Result<UserIdentity> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group);
// Reads root/etc/passwd and root/etc/group (missing files count as empty).
util::Result<UserIdentity> resolve_user_in(std::string_view spec, const std::filesystem::path& root);

// Fills HOME, USER, LOGNAME (from `user`, if it has a name) and PATH when absent.
std::vector<std::string> default_env(std::vector<std::string> env, const UserIdentity& user, bool tty);

}  // namespace protocol
