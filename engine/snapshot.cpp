#include "engine/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <system_error>

#include "engine/sandbox_state.hpp"
#include "engine/supervisor_wire.hpp"
#include "guest/protocol/messages.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/temp_dir.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr size_t k_max_file = size_t{1} << 30;

bool safe_relative(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string c = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (c.empty() || c == "." || c == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

std::string share_type(const fs::path& p) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (ec || !fs::exists(st)) return "";
  if (fs::is_symlink(st)) return "symlink";
  if (fs::is_directory(st)) return "dir";
  if (fs::is_regular_file(st)) return "file";
  return "other";
}

// No existing component of REL below ROOT (ROOT itself excluded) may be a symlink.
util::Result<void> check_no_symlink_parents(const fs::path& root, const std::string& rel) {
  fs::path cur = root;
  fs::path r(rel);
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (std::next(it) == r.end()) break;
    cur /= *it;
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(cur, ec)))
      return util::make_error(util::ErrorCode::Io, "export: " + cur.string() + " is a symlink (refusing to follow it)");
  }
  return util::ok();
}

util::Result<void> remove_path(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "remove " + p.string() + ": " + ec.message());
  return util::ok();
}

util::Result<void> write_file(const fs::path& p, const std::string& data, uint32_t mode) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(p, ec)) || fs::is_symlink(fs::symlink_status(p, ec))) ML_TRY(remove_path(p));
  util::Fd fd = ML_TRY(util::open_fd(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, static_cast<int>(mode & 07777)));
  ML_TRY(util::write_all(fd.get(), data));
  if (::fchmod(fd.get(), mode & 07777) < 0) return util::sys_error("chmod", p.string());
  return util::ok();
}

// Copies what the share has at REL into DIR/REL (files, symlinks, trees).
util::Result<void> copy_from_share(const fs::path& source, const std::string& rel, const fs::path& dir) {
  fs::path from = source / rel, to = dir / rel;
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing, ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "copy " + from.string() + ": " + ec.message());
  return util::ok();
}

}  // namespace

char change_letter(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::Added:
      return 'A';
    case ChangeKind::Modified:
      return 'M';
    case ChangeKind::Deleted:
      return 'D';
  }
  return '?';
}

util::Result<std::vector<SnapshotChange>> classify_snapshot(const std::string& lines, const fs::path& source) {
  std::vector<SnapshotChange> out;
  std::set<std::string> in_upper;
  std::vector<std::string> opaque;
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t nl = lines.find('\n', pos);
    std::string line = lines.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? lines.size() : nl + 1;
    if (line.empty()) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      return util::make_error(util::ErrorCode::Guest, std::string("snapshot listing: ") + e.what());
    }
    if (!j.is_object()) return util::make_error(util::ErrorCode::Guest, "snapshot listing: an entry is not an object");
    // Guest-written: every field is type- and range-checked (protocol/messages.hpp).
    SnapshotChange c;
    c.path = ML_TRY_CTX(protocol::get_string_or(j, "path", ""), "snapshot listing");
    c.type = ML_TRY_CTX(protocol::get_string_or(j, "type", ""), "snapshot listing");
    c.mode = static_cast<uint32_t>(ML_TRY_CTX(protocol::get_int_or(j, "mode", 0, 0, 07777), "snapshot listing"));
    c.link_target = ML_TRY_CTX(protocol::get_string_or(j, "target", ""), "snapshot listing");
    bool opaque_dir = ML_TRY_CTX(protocol::get_bool_or(j, "opaque", false), "snapshot listing");
    if (!safe_relative(c.path))
      return util::make_error(util::ErrorCode::Guest, "snapshot listing: unsafe path '" + c.path + "'");
    in_upper.insert(c.path);
    std::string had = share_type(source / c.path);
    if (c.type == "whiteout") {
      if (had.empty()) continue;  // nothing to delete
      c.kind = ChangeKind::Deleted;
      c.type = had;
      c.mode = 0;
      out.push_back(std::move(c));
      continue;
    }
    if (c.type == "dir") {
      if (opaque_dir && had == "dir") opaque.push_back(c.path);
      if (had == "dir") continue;  // an existing directory: only its contents changed
      c.kind = had.empty() ? ChangeKind::Added : ChangeKind::Modified;
      out.push_back(std::move(c));
      continue;
    }
    c.kind = had.empty() ? ChangeKind::Added : ChangeKind::Modified;
    out.push_back(std::move(c));
  }
  // An opaque directory hides everything the share had in it.
  for (const auto& dir : opaque) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(source / dir, ec)) {
      std::string rel = dir + "/" + e.path().filename().string();
      if (in_upper.count(rel)) continue;
      SnapshotChange c;
      c.kind = ChangeKind::Deleted;
      c.path = rel;
      c.type = share_type(e.path());
      out.push_back(std::move(c));
    }
  }
  return out;
}

util::Result<std::vector<SnapshotDiff>> snapshot_diffs(protocol::Client& client,
                                                       const std::vector<WorkspaceMount>& mounts) {
  std::vector<SnapshotDiff> out;
  for (size_t i = 0; i < mounts.size(); ++i) {
    if (mounts[i].mode != MountMode::Snapshot) continue;
    std::string what = "snapshot mount " + mounts[i].target;
    auto stream = ML_TRY_CTX(client.open_stream("snapshot-list", static_cast<int>(i)), what);
    std::string lines;
    while (auto chunk = ML_TRY_CTX(stream.read(), what)) lines += *chunk;
    SnapshotDiff d;
    d.id = static_cast<uint32_t>(i);
    d.target = mounts[i].target;
    d.source = mounts[i].source;
    d.changes = ML_TRY_CTX(classify_snapshot(lines, d.source), what);
    out.push_back(std::move(d));
  }
  return out;
}

util::Result<void> export_snapshot(protocol::Client& client, const SnapshotDiff& diff, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "create " + to.string() + ": " + ec.message());
  for (const auto& c : diff.changes) {
    ML_TRY(check_no_symlink_parents(to, c.path));
    fs::path dst = to / c.path;
    if (c.kind != ChangeKind::Deleted) {  // an unchanged parent may be missing in TO (a patch tree)
      fs::create_directories(dst.parent_path(), ec);
      if (ec) return util::make_error(util::ErrorCode::Io, "mkdir " + dst.parent_path().string() + ": " + ec.message());
    }
    if (c.kind == ChangeKind::Deleted) {
      ML_TRY(remove_path(dst));
    } else if (c.type == "dir") {
      if (!fs::is_directory(fs::symlink_status(dst, ec))) ML_TRY(remove_path(dst));
      fs::create_directories(dst, ec);
      if (ec) return util::make_error(util::ErrorCode::Io, "mkdir " + dst.string() + ": " + ec.message());
      fs::permissions(dst, static_cast<fs::perms>(c.mode & 07777), ec);
    } else if (c.type == "symlink") {
      ML_TRY(remove_path(dst));
      fs::create_symlink(c.link_target, dst, ec);
      if (ec) return util::make_error(util::ErrorCode::Io, "symlink " + dst.string() + ": " + ec.message());
    } else if (c.type == "file") {
      auto data = ML_TRY_CTX(client.get_file(diff.target + "/" + c.path, k_max_file), "export " + c.path);
      ML_TRY(write_file(dst, data, c.mode));
    }  // "other" (devices, fifos): not exported
  }
  return util::ok();
}

util::Result<void> write_snapshot_patch(protocol::Client& client, const SnapshotDiff& diff, const fs::path& file) {
  auto tmp = ML_TRY(util::TempDir::create(fs::temp_directory_path(), "matchlock-patch-"));
  fs::path a = tmp.path() / "a", b = tmp.path() / "b";
  std::error_code ec;
  fs::create_directories(a, ec);
  fs::create_directories(b, ec);
  SnapshotDiff added = diff;  // b: the new contents only
  added.changes.clear();
  for (const auto& c : diff.changes) {
    if (c.kind != ChangeKind::Added) ML_TRY(copy_from_share(diff.source, c.path, a));
    if (c.kind != ChangeKind::Deleted) added.changes.push_back(c);
  }
  ML_TRY(export_snapshot(client, added, b));
  auto r = ML_TRY(util::run_command({"/bin/sh", "-c", "cd \"$1\" && exec diff -ruN a b", "sh", tmp.path().string()}));
  if (!r.status.exited() || r.status.code > 1)
    return util::make_error(util::ErrorCode::Io, "diff -ruN: " + r.status.describe() + ": " + r.err);
  util::Fd fd = ML_TRY(util::open_fd(file, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  ML_TRY(util::write_all(fd.get(), r.out));
  return util::ok();
}

json snapshot_diff_to_json(const SnapshotDiff& diff) {
  json changes = json::array();
  for (const auto& c : diff.changes)
    changes.push_back({{"kind", std::string(1, change_letter(c.kind))}, {"path", c.path}, {"type", c.type}});
  return {{"target", diff.target}, {"source", diff.source.string()}, {"changes", std::move(changes)}};
}

util::Result<json> snapshot_request(const util::Dirs& dirs, const std::string& name, const json& request) {
  return supervisor_request(dirs, name, request);
}

}  // namespace engine
