// FileServer: handles and I/O: OPEN/OPENDIR, CREATE, READ, WRITE, RELEASE,
// FSYNC, READDIR/READDIRPLUS, FALLOCATE.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dir.hpp"
#include "util/beneath.hpp"
#include "util/file_calls.hpp"
#include "workspace/file_server.hpp"

namespace workspace {

namespace {

// Flags the guest may pass through to the host open (no O_CREAT/O_EXCL here:
// creation is FUSE_CREATE/MKNOD; no O_PATH/O_TMPFILE/O_NOATIME games).
constexpr int k_pass_flags = O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_DIRECT;

bool wants_write(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }

// Opens without blocking on a FIFO the host swapped in, then checks the type.
int open_checked(int dirfd, const std::string& name, int flags, bool dir, util::Fd& out, struct stat& st) {
  int fd = name.empty() ? ::openat(dirfd, ".", flags | O_CLOEXEC | O_NONBLOCK)
                        : ::openat(dirfd, name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return errno == ELOOP ? EACCES : errno;
  util::Fd owned(fd);
  if (::fstat(fd, &st) < 0) return errno;
  if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) return dir ? ENOTDIR : EACCES;
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) return errno;
  out = std::move(owned);
  return 0;
}

}  // namespace

uint32_t FileServer::open_flags_for(int flags) const {
  bool direct = m_options.cache == CachePolicy::None || (flags & O_ACCMODE) == O_WRONLY;
  return direct ? FOPEN_DIRECT_IO : 0;
}

std::string FileServer::op_open(const Request& req, bool dir) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_open_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  int flags = static_cast<int>(in->flags) & k_pass_flags;
  if (dir) flags = O_RDONLY | O_DIRECTORY;
  if (!dir && wants_write(flags) && m_options.access == Access::ReadOnly) return encode_error(h.unique, EROFS);
  Located at;
  if (int e = locate(h.nodeid, at)) return encode_error(h.unique, e);
  if (!dir && wants_write(flags)) {
    if (int e = writable_check(at)) return encode_error(h.unique, e);
  }
  Handle hd;
  struct stat st;
  // O_TRUNC is applied after the checks below, never by the open itself.
  bool trunc = !dir && (flags & O_TRUNC);
  if (int e = open_checked(at.parent.get(), at.name, flags & ~O_TRUNC, dir, hd.fd, st))
    return encode_error(h.unique, e);
  if (!dir && wants_write(flags) && is_read_only_inode(st)) return encode_error(h.unique, EACCES);
  if (trunc && ::ftruncate(hd.fd.get(), 0) < 0) return encode_error(h.unique, errno);
  hd.node = h.nodeid;
  hd.is_dir = dir;
  hd.writable = (flags & O_ACCMODE) != O_RDONLY;
  uint64_t fh = m_next_fh++;
  m_handles.emplace(fh, std::move(hd));
  fuse_open_out out{};
  out.fh = fh;
  if (!dir) out.open_flags = open_flags_for(flags);
  return encode_struct(h.unique, out);
}

std::string FileServer::op_create(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_create_in>();
  auto name = a.take_cstring();
  if (!in || !name) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  if (int e = writable_check(at)) return encode_error(h.unique, e);
  int flags = (static_cast<int>(in->flags) & k_pass_flags) | O_CREAT | (static_cast<int>(in->flags) & O_EXCL);
  int fd = ::openat(at.parent.get(), at.name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, in->mode & 07777);
  if (fd < 0) return encode_error(h.unique, errno == ELOOP ? EEXIST : errno);
  Handle hd;
  hd.fd = util::Fd(fd);
  struct stat st;
  if (::fstat(fd, &st) < 0) return encode_error(h.unique, errno);
  if (!S_ISREG(st.st_mode)) return encode_error(h.unique, EACCES);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  uint64_t node = m_nodes.remember(h.nodeid, at.name, st.st_dev, st.st_ino);
  hd.node = node;
  hd.writable = (flags & O_ACCMODE) != O_RDONLY;
  uint64_t fh = m_next_fh++;
  m_handles.emplace(fh, std::move(hd));
  struct {
    fuse_entry_out entry;
    fuse_open_out open;
  } out{};
  out.entry = make_entry(node, st);
  out.open.fh = fh;
  out.open.open_flags = open_flags_for(flags);
  return encode_struct(h.unique, out);
}

std::string FileServer::op_read(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_read_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  Handle* hd = handle_for(in->fh, false);
  if (!hd) return encode_error(h.unique, EBADF);
  size_t size = std::min<size_t>(in->size, k_max_write);
  std::string out(sizeof(fuse_out_header) + size, '\0');
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(hd->fd.get(), out.data() + sizeof(fuse_out_header) + got, size - got,
                        static_cast<off_t>(in->offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return encode_error(h.unique, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(sizeof(fuse_out_header) + got);
  fuse_out_header oh{};
  oh.len = static_cast<uint32_t>(out.size());
  oh.unique = h.unique;
  std::memcpy(out.data(), &oh, sizeof oh);
  m_stats.bytes_read += got;
  return out;
}

std::string FileServer::op_write(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_write_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  auto data = a.take_bytes(in->size);
  if (!data) return encode_error(h.unique, EINVAL);
  Handle* hd = handle_for(in->fh, false);
  if (!hd || !hd->writable) return encode_error(h.unique, EBADF);
  size_t done = 0;
  while (done < data->size()) {
    ssize_t n = ::pwrite(hd->fd.get(), data->data() + done, data->size() - done, static_cast<off_t>(in->offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (done) break;
      return encode_error(h.unique, errno);
    }
    done += static_cast<size_t>(n);
  }
  m_stats.bytes_written += done;
  fuse_write_out out{};
  out.size = static_cast<uint32_t>(done);
  return encode_struct(h.unique, out);
}

std::string FileServer::op_release(const Request& req) {
  ArgReader a(req.body);
  if (auto in = a.take<fuse_release_in>()) m_handles.erase(in->fh);
  return encode_reply(req.header.unique, {});
}

std::string FileServer::op_fsync(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_fsync_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  auto it = m_handles.find(in->fh);
  if (it == m_handles.end()) return encode_error(h.unique, EBADF);
  int r = (in->fsync_flags & 1) ? ::fdatasync(it->second.fd.get()) : ::fsync(it->second.fd.get());
  return r < 0 ? encode_error(h.unique, errno) : encode_reply(h.unique, {});
}

std::string FileServer::op_fallocate(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_fallocate_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  Handle* hd = handle_for(in->fh, false);
  if (!hd || !hd->writable) return encode_error(h.unique, EBADF);
  if (int e =
          util::allocate_space(hd->fd.get(), in->mode, static_cast<off_t>(in->offset), static_cast<off_t>(in->length)))
    return encode_error(h.unique, e);
  return encode_reply(h.unique, {});
}

std::string FileServer::op_readdir(const Request& req, bool plus) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_read_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  Handle* hd = handle_for(in->fh, true);
  if (!hd) return encode_error(h.unique, EBADF);
  auto dir_rel = m_nodes.path(hd->node);
  // A directory whose node is gone (forgotten, replaced) or hidden lists
  // nothing: its names can no longer be checked against the patterns.
  if (!m_options.exclude.empty() && (!dir_rel || hidden(*dir_rel))) return encode_error(h.unique, ENOENT);
  // Offset 0 (first read or rewinddir): take a fresh listing.
  if (in->offset == 0 || hd->entries.empty()) {
    hd->entries.clear();
    int dup = ::openat(hd->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) return encode_error(h.unique, errno);
    util::Dir d = util::Dir::adopt(dup);
    if (!d) return encode_error(h.unique, errno);
    while (dirent* e = d.next()) {
      std::string name = e->d_name;
      if (name != "." && name != "..") {
        if (dir_rel && excluded(dir_rel->empty() ? name : *dir_rel + "/" + name)) continue;
      }
      hd->entries.push_back({name, e->d_ino, e->d_type});
    }
  }
  size_t limit = std::min<size_t>(in->size, k_max_write);
  std::string body;
  for (size_t i = in->offset; i < hd->entries.size(); ++i) {
    const DirEntry& e = hd->entries[i];
    size_t ent = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + e.name.size());
    size_t need = plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + e.name.size()) : ent;
    if (body.size() + need > limit) break;
    fuse_dirent d{};
    d.ino = e.ino;
    d.off = i + 1;
    d.namelen = static_cast<uint32_t>(e.name.size());
    d.type = e.type;
    if (plus) {
      fuse_entry_out eo{};  // "." and "..": nodeid 0, the kernel makes no dentry
      if (e.name != "." && e.name != "..") {
        struct stat st;
        if (::fstatat(hd->fd.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;  // gone meanwhile
        eo = make_entry(m_nodes.remember(hd->node, e.name, st.st_dev, st.st_ino), st);
        d.ino = st.st_ino;
        d.type = IFTODT(st.st_mode);
      }
      body.append(reinterpret_cast<const char*>(&eo), sizeof eo);
    }
    size_t start = body.size();
    body.append(reinterpret_cast<const char*>(&d), FUSE_NAME_OFFSET);
    body.append(e.name);
    body.resize(start + ent, '\0');
  }
  return encode_reply(h.unique, body);
}

}  // namespace workspace
