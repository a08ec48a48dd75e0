// Guest channels of snapshot mounts (docs/workspace.md, docs/protocol.md):
//  "snapshot" (port = mount id): mounts the overlay at the target, lower = the
//    read-only FUSE share (already served by its "fuse" channel), upper/work on
//    the writable disk. mount(2) looks up the FUSE lower, whose requests this
//    same event loop must pump, so the mount runs on a thread; the channel
//    closes (EOF) when it is done, or sends the error.
//  "snapshot-list" (port = mount id): walks the overlay's upper directory and
//    sends one JSON object per line: {"path","type","mode"[,"target"][,"opaque"]}
//    with type file|dir|symlink|whiteout|other. The host classifies (A/M/D).
#include "guest/protocol/fuse_snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>

#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/messages.hpp"
#include "util/dir.hpp"
#include "util/fs.hpp"

namespace protocol {

using nlohmann::json;

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// "" on success, else the error.
std::string mount_overlay(const MountSpec& spec) {
  std::string upper = snapshot_upper_dir(spec.id), work = snapshot_work_dir(spec.id);
  for (const std::string& dir : {upper, work, spec.target})
    if (auto made = util::make_dirs(dir); !made) return made.error().message();
  std::string data = "lowerdir=" + snapshot_share_dir(spec.id) + ",upperdir=" + upper + ",workdir=" + work;
  if (::mount("overlay", spec.target.c_str(), "overlay", MS_NOSUID | MS_NODEV, data.c_str()) < 0)
    return errno_text("mount overlay on " + spec.target);
  return {};
}

class SnapshotMountChannel : public GuestChannel {
 public:
  SnapshotMountChannel(ChannelLink link, util::Fd done_rd, std::thread thread, std::shared_ptr<std::string> error)
      : GuestChannel(link), m_done(std::move(done_rd)), m_thread(std::move(thread)), m_error(std::move(error)) {}
  ~SnapshotMountChannel() override {
    if (m_thread.joinable()) m_thread.join();
  }
  void on_data(StreamId, std::string_view) override {}
  void on_eof(StreamId) override {}
  void on_abort() override { link().close(); }
  void poll_fds(std::vector<pollfd>& out) override {
    out.push_back({m_thread.joinable() ? m_done.get() : -1, POLLIN, 0});
  }
  void step(std::span<const pollfd> fds) override {
    if (link().closed() || !m_thread.joinable()) return;
    if (fds.empty() || !(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) return;
    m_thread.join();
    if (!m_error->empty()) {
      link().send_error("snapshot: " + *m_error);
      return;
    }
    link().send_eof(StreamId::Out);
    link().close();
  }

 private:
  util::Fd m_done;
  std::thread m_thread;
  std::shared_ptr<std::string> m_error;
};

std::string type_of(const struct stat& st) {
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return "whiteout";
  if (S_ISREG(st.st_mode)) return "file";
  if (S_ISDIR(st.st_mode)) return "dir";
  if (S_ISLNK(st.st_mode)) return "symlink";
  return "other";
}

bool is_opaque(const std::string& path) {
  char v[2] = {};
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n >= 1 && v[0] == 'y';
}

void walk(const std::string& root, const std::string& rel, std::string& out, std::string& error) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  util::Dir d = util::Dir::open(dir.c_str());
  if (!d) {
    if (error.empty()) error = errno_text("opendir " + dir);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = d.next())
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string r = rel.empty() ? name : rel + "/" + name;
    std::string full = root + "/" + r;
    struct stat st;
    if (::lstat(full.c_str(), &st) < 0) continue;
    json j = {{"path", r}, {"type", type_of(st)}, {"mode", st.st_mode & 07777}};
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(full.c_str(), buf, sizeof buf);
      if (n >= 0) j["target"] = std::string(buf, static_cast<size_t>(n));
    }
    bool opaque = S_ISDIR(st.st_mode) && is_opaque(full);
    if (opaque) j["opaque"] = true;
    out += j.dump() + "\n";
    if (S_ISDIR(st.st_mode)) walk(root, r, out, error);
  }
}

class BufferChannel : public GuestChannel {
 public:
  BufferChannel(ChannelLink link, std::string data) : GuestChannel(link), m_data(std::move(data)) {}
  void on_data(StreamId, std::string_view) override {}
  void on_eof(StreamId) override {}
  void on_abort() override { link().close(); }
  void poll_fds(std::vector<pollfd>&) override {}
  bool busy() const override {
    auto* self = const_cast<BufferChannel*>(this);
    return !self->link().closed() && self->link().send_budget() > 0;
  }
  void step(std::span<const pollfd>) override {
    while (!link().closed()) {
      if (m_pos >= m_data.size()) {
        link().send_eof(StreamId::Out);
        link().close();
        return;
      }
      size_t n = std::min(link().send_budget(), m_data.size() - m_pos);
      if (n == 0) return;
      link().send_data(StreamId::Out, std::string_view(m_data).substr(m_pos, n));
      m_pos += n;
    }
  }

 private:
  std::string m_data;
  size_t m_pos = 0;
};

const MountSpec* find_snapshot(uint32_t mount_id, const GuestContext& context, std::string& error) {
  for (const auto& m : context.mounts)
    if (m.id == mount_id && m.mode == "snapshot") return &m;
  error = "snapshot: no snapshot mount with id " + std::to_string(mount_id);
  return nullptr;
}

}  // namespace

std::unique_ptr<GuestChannel> make_snapshot_channel(ChannelLink link, uint32_t mount_id, const GuestContext& context) {
  std::string error;
  const MountSpec* spec = find_snapshot(mount_id, context, error);
  if (!spec) return make_failed_channel(link, error, "not_found");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return make_failed_channel(link, errno_text("pipe"));
  util::Fd rd(fds[0]), wr(fds[1]);
  auto result = std::make_shared<std::string>();
  std::thread t([spec = *spec, result, wr = std::move(wr)]() mutable {
    *result = mount_overlay(spec);
    wr.reset();  // POLLHUP on the read end
  });
  return std::make_unique<SnapshotMountChannel>(link, std::move(rd), std::move(t), std::move(result));
}

std::unique_ptr<GuestChannel> make_snapshot_list_channel(ChannelLink link, uint32_t mount_id,
                                                         const GuestContext& context) {
  std::string error;
  const MountSpec* spec = find_snapshot(mount_id, context, error);
  if (!spec) return make_failed_channel(link, error, "not_found");
  std::string out;
  walk(snapshot_upper_dir(spec->id), "", out, error);
  if (!error.empty()) return make_failed_channel(link, "snapshot-list: " + error);
  return std::make_unique<BufferChannel>(link, std::move(out));
}

}  // namespace protocol
