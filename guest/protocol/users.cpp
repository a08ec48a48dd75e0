#include "guest/protocol/users.hpp"

#include <fcntl.h>

#include <charconv>
#include <optional>

#include "util/fd.hpp"

namespace protocol {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls f(fields) for each well-formed line with at least `min_fields` fields.
template <class F>
void for_each_entry(std::string_view text, size_t min_fields, F&& f) {
  for (std::string_view line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= min_fields) f(fields);
  }
}

std::string read_or_empty(const std::filesystem::path& p) {
  auto fd = util::open_fd(p, O_RDONLY);
  if (!fd) return {};
  auto s = util::read_all(fd->get());
  return s ? *s : std::string();
}

}  // namespace

util::Result<UserIdentity> resolve_user(std::string_view spec, std::string_view passwd, std::string_view group) {
  std::string_view user_part = spec, group_part;
  bool has_group = false;
  if (auto c = spec.find(':'); c != std::string_view::npos) {
    user_part = spec.substr(0, c);
    group_part = spec.substr(c + 1);
    has_group = true;
  }
  if (user_part.empty()) user_part = "0";
  UserIdentity id;
  bool found = false;
  auto numeric_uid = parse_id(user_part);
  for_each_entry(passwd, 7, [&](const std::vector<std::string_view>& f) {
    if (found) return;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) return;
    if (f[0] == user_part || (numeric_uid && *uid == *numeric_uid)) {
      found = true;
      id.name = std::string(f[0]);
      id.uid = *uid;
      id.gid = *gid;
      id.home = f[5].empty() ? "/" : std::string(f[5]);
      id.shell = std::string(f[6]);
    }
  });
  if (!found) {
    if (!numeric_uid)
      return util::make_error(util::ErrorCode::NotFound,
                              "user " + std::string(user_part) + " not found in /etc/passwd");
    id.uid = *numeric_uid;
    id.gid = *numeric_uid;
  }
  if (has_group) {
    auto numeric_gid = parse_id(group_part);
    bool group_found = false;
    for_each_entry(group, 3, [&](const std::vector<std::string_view>& f) {
      if (group_found) return;
      auto gid = parse_id(f[2]);
      if (gid && (f[0] == group_part || (numeric_gid && *gid == *numeric_gid))) {
        group_found = true;
        id.gid = *gid;
      }
    });
    if (!group_found) {
      if (!numeric_gid)
        return util::make_error(util::ErrorCode::NotFound,
                                "group " + std::string(group_part) + " not found in /etc/group");
      id.gid = *numeric_gid;
    }
  }
  id.groups.push_back(id.gid);
  if (!id.name.empty()) {
    for_each_entry(group, 4, [&](const std::vector<std::string_view>& f) {
      auto gid = parse_id(f[2]);
      if (!gid || *gid == id.gid) return;
      for (std::string_view member : split(f[3], ',')) {
        if (member == id.name) {
          id.groups.push_back(*gid);
          return;
        }
      }
    });
  }
  return id;
}

util::Result<UserIdentity> resolve_user_in(std::string_view spec, const std::filesystem::path& root) {
  return resolve_user(spec, read_or_empty(root / "etc/passwd"), read_or_empty(root / "etc/group"));
}

std::vector<std::string> default_env(std::vector<std::string> env, const UserIdentity& user, bool tty) {
  auto has = [&](std::string_view key) {
    for (const auto& e : env)
      if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return true;
    return false;
  };
  if (!has("PATH")) env.emplace_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has("HOME")) env.push_back("HOME=" + user.home);
  if (!user.name.empty()) {
    if (!has("USER")) env.push_back("USER=" + user.name);
    if (!has("LOGNAME")) env.push_back("LOGNAME=" + user.name);
  }
  if (tty && !has("TERM")) env.emplace_back("TERM=xterm");
  return env;
}

}  // namespace protocol
