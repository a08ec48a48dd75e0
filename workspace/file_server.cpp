// FileServer: creation, dispatch, node resolution, attributes, INIT, LOOKUP,
// FORGET, GETATTR, SETATTR, STATFS. Entries and I/O are in file_server_*.cpp.
#include "workspace/file_server.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmath>

#include "util/glob.hpp"
#include "util/node_ref.hpp"
#include "util/beneath.hpp"

namespace workspace {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t k_overflow_id = 65534;  // nobody / nogroup

void split_timeout(double s, uint64_t& sec, uint32_t& nsec) {
  if (s < 0) s = 0;
  sec = static_cast<uint64_t>(s);
  nsec = static_cast<uint32_t>(std::lround((s - static_cast<double>(sec)) * 1e9) % 1000000000);
}

}  // namespace

FileServer::FileServer(ShareOptions options, util::Fd root)
    : m_options(std::move(options)), m_root(std::move(root)), m_host_uid(::geteuid()), m_host_gid(::getegid()) {}

util::Result<std::unique_ptr<FileServer>> FileServer::create(ShareOptions options) {
  for (auto& g : options.exclude) g = ML_TRY_CTX(util::normalize_path_glob(g), "exclude '" + g + "'");
  auto root = ML_TRY_CTX(util::open_dir_ref(options.root), "share");
  auto srv = std::unique_ptr<FileServer>(new FileServer(options, std::move(root)));
  // Protected files are known by inode, so no rename or hard link reaches them
  // under another name; the directories above them may not be renamed away.
  std::error_code ec;
  fs::path canon_root = fs::canonical(options.root, ec);
  for (const auto& f : options.read_only_files) {
    struct stat st;
    if (::lstat(f.c_str(), &st) < 0) continue;
    srv->m_read_only.insert({st.st_dev, st.st_ino});
    fs::path canon = fs::weakly_canonical(f, ec);
    if (ec || canon_root.empty()) continue;
    for (fs::path d = canon.parent_path(); d != canon_root && d.has_relative_path() && d != d.parent_path();
         d = d.parent_path()) {
      auto rel = d.lexically_relative(canon_root);
      if (rel.empty() || *rel.begin() == "..") break;
      if (::lstat(d.c_str(), &st) == 0) srv->m_guarded.insert({st.st_dev, st.st_ino});
    }
  }
  return srv;
}

std::string FileServer::handle(std::string_view message) {
  auto req = parse_request(message);
  if (!req) {
    ++m_stats.errors;
    // Answer what can be identified so the guest's caller is not left hanging.
    if (message.size() >= sizeof(fuse_in_header)) {
      fuse_in_header h;
      std::memcpy(&h, message.data(), sizeof h);
      return encode_error(h.unique, EIO);
    }
    return {};
  }
  ++m_stats.requests;
  std::string reply = dispatch(*req);
  if (reply.size() >= sizeof(fuse_out_header)) {
    fuse_out_header h;
    std::memcpy(&h, reply.data(), sizeof h);
    if (h.error) ++m_stats.errors;
  }
  return reply;
}

std::string FileServer::dispatch(const Request& req) {
  const auto& h = req.header;
  if (!m_initialized && h.opcode != FUSE_INIT) return encode_error(h.unique, EIO);
  bool ro = m_options.access == Access::ReadOnly;
  switch (h.opcode) {
    case FUSE_INIT:
      return op_init(req);
    case FUSE_DESTROY:
      return encode_reply(h.unique, {});
    case FUSE_LOOKUP:
      return op_lookup(req);
    case FUSE_FORGET:
      return op_forget(req);
    case FUSE_BATCH_FORGET:
      return op_batch_forget(req);
    case FUSE_INTERRUPT:
      return {};
    case FUSE_GETATTR:
      return op_getattr(req);
    case FUSE_STATFS:
      return op_statfs(req);
    case FUSE_READLINK:
      return op_readlink(req);
    case FUSE_OPEN:
      return op_open(req, false);
    case FUSE_OPENDIR:
      return op_open(req, true);
    case FUSE_READ:
      return op_read(req);
    case FUSE_READDIR:
      return op_readdir(req, false);
    case FUSE_READDIRPLUS:
      return op_readdir(req, true);
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      return op_release(req);
    case FUSE_FLUSH:
      return encode_reply(h.unique, {});
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      return op_fsync(req);
    case FUSE_ACCESS: {
      ArgReader a(req.body);
      auto in = a.take<fuse_access_in>();
      if (!in) return encode_error(h.unique, EINVAL);
      if (ro && (in->mask & W_OK)) return encode_error(h.unique, EROFS);
      Located at;
      if (int e = locate(h.nodeid, at)) return encode_error(h.unique, e);
      struct stat st;
      if (int e = stat_located(at, st)) return encode_error(h.unique, e);
      if ((in->mask & W_OK) && is_read_only_inode(st)) return encode_error(h.unique, EACCES);
      return encode_reply(h.unique, {});
    }
    // Extended attributes are not served: ENOSYS makes the guest kernel answer
    // EOPNOTSUPP from then on without asking again.
    case FUSE_GETXATTR:
    case FUSE_LISTXATTR:
    case FUSE_SETXATTR:
    case FUSE_REMOVEXATTR:
      return encode_error(h.unique, ENOSYS);
    default:
      break;
  }
  // Everything below modifies the share.
  switch (h.opcode) {
    case FUSE_SETATTR:
      return ro ? encode_error(h.unique, EROFS) : op_setattr(req);
    case FUSE_SYMLINK:
      return ro ? encode_error(h.unique, EROFS) : op_symlink(req);
    case FUSE_MKNOD:
      return ro ? encode_error(h.unique, EROFS) : op_mknod(req);
    case FUSE_MKDIR:
      return ro ? encode_error(h.unique, EROFS) : op_mkdir(req);
    case FUSE_UNLINK:
      return ro ? encode_error(h.unique, EROFS) : op_unlink(req, false);
    case FUSE_RMDIR:
      return ro ? encode_error(h.unique, EROFS) : op_unlink(req, true);
    case FUSE_RENAME:
      return ro ? encode_error(h.unique, EROFS) : op_rename(req, false);
    case FUSE_RENAME2:
      return ro ? encode_error(h.unique, EROFS) : op_rename(req, true);
    case FUSE_LINK:
      return ro ? encode_error(h.unique, EROFS) : op_link(req);
    case FUSE_CREATE:
      return ro ? encode_error(h.unique, EROFS) : op_create(req);
    case FUSE_WRITE:
      return ro ? encode_error(h.unique, EROFS) : op_write(req);
    case FUSE_FALLOCATE:
      return ro ? encode_error(h.unique, EROFS) : op_fallocate(req);
    default:
      return encode_error(h.unique, ENOSYS);
  }
}

std::string FileServer::op_init(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto major = a.take<uint32_t>(), minor = a.take<uint32_t>(), readahead = a.take<uint32_t>(),
       flags = a.take<uint32_t>();
  if (!major || !minor || !readahead || !flags) return encode_error(h.unique, EINVAL);
  if (*major != FUSE_KERNEL_VERSION || *minor < 23) return encode_error(h.unique, EPROTO);
  fuse_init_out out{};
  out.major = FUSE_KERNEL_VERSION;
  out.minor = std::min<uint32_t>(*minor, FUSE_KERNEL_MINOR_VERSION);
  out.max_readahead = std::min<uint32_t>(*readahead, k_max_write);
  uint32_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC | FUSE_DO_READDIRPLUS |
                  FUSE_READDIRPLUS_AUTO | FUSE_AUTO_INVAL_DATA | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
                  FUSE_CACHE_SYMLINKS;
  out.flags = *flags & want;
  out.max_background = 16;
  out.congestion_threshold = 12;
  out.max_pages = (out.flags & FUSE_MAX_PAGES) ? static_cast<uint16_t>(k_max_write / 4096) : 0;
  out.max_write = (out.flags & FUSE_MAX_PAGES) ? k_max_write : 128u << 10;
  out.time_gran = 1;
  m_initialized = true;
  return encode_struct(h.unique, out);
}

bool FileServer::is_read_only_inode(const struct stat& st) const {
  return m_read_only.count({st.st_dev, st.st_ino}) != 0;
}

bool FileServer::is_guarded_dir(const struct stat& st) const { return m_guarded.count({st.st_dev, st.st_ino}) != 0; }

namespace {

// The FUSE errno for a failed open of a node's parent: a directory swapped for a
// symlink (ELOOP) is simply gone.
int gone_or(int err) { return err == ELOOP ? ENOENT : (err ? err : EIO); }

}  // namespace

int FileServer::locate(uint64_t node, Located& out) {
  auto rel = m_nodes.path(node);
  if (!rel || hidden(*rel)) return ENOENT;
  out.rel = *rel;
  size_t slash = rel->rfind('/');
  std::string parent = slash == std::string::npos ? std::string() : rel->substr(0, slash);
  out.name = slash == std::string::npos ? *rel : rel->substr(slash + 1);
  auto fd = util::open_dir_beneath(m_root.get(), rel->empty() ? std::string_view() : std::string_view(parent));
  if (!fd) return gone_or(fd.error().sys_errno());
  out.parent = std::move(*fd);
  return 0;
}

int FileServer::locate_child(uint64_t parent, std::string_view name, Located& out, Purpose purpose) {
  if (!util::valid_name(name)) return EINVAL;
  auto dir = m_nodes.path(parent);
  if (!dir) return ENOENT;
  std::string rel = dir->empty() ? std::string(name) : *dir + "/" + std::string(name);
  if (hidden(rel)) return purpose == Purpose::Lookup ? ENOENT : EACCES;
  auto fd = util::open_dir_beneath(m_root.get(), *dir);
  if (!fd) return gone_or(fd.error().sys_errno());
  out.parent = std::move(*fd);
  out.name = std::string(name);
  out.rel = std::move(rel);
  return 0;
}

int FileServer::stat_located(const Located& at, struct stat& st) {
  int r = at.name.empty() ? ::fstat(at.parent.get(), &st)
                          : ::fstatat(at.parent.get(), at.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? errno : 0;
}

int FileServer::open_located(const Located& at, int flags, util::Fd& out) {
  int fd = at.name.empty() ? ::openat(at.parent.get(), ".", flags | O_CLOEXEC)
                           : ::openat(at.parent.get(), at.name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  out = util::Fd(fd);
  return 0;
}

int FileServer::writable_check(const Located& at) const {
  if (m_options.access == Access::ReadOnly) return EROFS;
  struct stat st;
  if (const_cast<FileServer*>(this)->stat_located(at, st) == 0 && (is_read_only_inode(st) || is_guarded_dir(st)))
    return EACCES;
  return 0;
}

fuse_attr FileServer::make_attr(const struct stat& st) const {
  fuse_attr a{};
  a.ino = st.st_ino;
  a.size = static_cast<uint64_t>(st.st_size);
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  a.atime = static_cast<uint64_t>(st.st_atim.tv_sec);
  a.atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  a.mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
  a.mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  a.ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
  a.ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  a.mode = st.st_mode;
  if (is_read_only_inode(st)) a.mode &= ~static_cast<uint32_t>(0222);
  a.nlink = static_cast<uint32_t>(st.st_nlink);
  a.uid = st.st_uid == m_host_uid ? m_options.uid : k_overflow_id;
  a.gid = st.st_gid == m_host_gid ? m_options.gid : k_overflow_id;
  a.rdev = 0;  // device nodes are never created; a host one shows as 0:0
  a.blksize = static_cast<uint32_t>(st.st_blksize);
  return a;
}

fuse_entry_out FileServer::make_entry(uint64_t node, const struct stat& st) const {
  fuse_entry_out e{};
  e.nodeid = node;
  e.generation = 0;
  split_timeout(m_options.entry_timeout_s, e.entry_valid, e.entry_valid_nsec);
  split_timeout(m_options.attr_timeout_s, e.attr_valid, e.attr_valid_nsec);
  e.attr = make_attr(st);
  return e;
}

std::string FileServer::reply_entry(uint64_t unique, uint64_t parent, const std::string& name, const Located& at) {
  struct stat st;
  if (int e = stat_located(at, st)) return encode_error(unique, e);
  uint64_t node = m_nodes.remember(parent, name, st.st_dev, st.st_ino);
  return encode_struct(unique, make_entry(node, st));
}

std::string FileServer::op_lookup(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto name = a.take_cstring();
  if (!name) return encode_error(h.unique, EINVAL);
  Located at;
  struct stat st;
  int e = locate_child(h.nodeid, *name, at, Purpose::Lookup);
  if (!e) e = stat_located(at, st);
  if (e == ENOENT) {
    // A negative entry, cached for the entry timeout.
    fuse_entry_out neg{};
    split_timeout(m_options.entry_timeout_s, neg.entry_valid, neg.entry_valid_nsec);
    return encode_struct(h.unique, neg);
  }
  if (e) return encode_error(h.unique, e);
  uint64_t node = m_nodes.remember(h.nodeid, at.name, st.st_dev, st.st_ino);
  return encode_struct(h.unique, make_entry(node, st));
}

std::string FileServer::op_forget(const Request& req) {
  ArgReader a(req.body);
  if (auto in = a.take<fuse_forget_in>()) m_nodes.forget(req.header.nodeid, in->nlookup);
  return {};
}

std::string FileServer::op_batch_forget(const Request& req) {
  ArgReader a(req.body);
  auto in = a.take<fuse_batch_forget_in>();
  if (!in) return {};
  for (uint32_t i = 0; i < in->count; ++i) {
    auto one = a.take<fuse_forget_one>();
    if (!one) break;
    m_nodes.forget(one->nodeid, one->nlookup);
  }
  return {};
}

std::string FileServer::op_getattr(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_getattr_in>();
  struct stat st;
  Handle* fh = in && (in->getattr_flags & FUSE_GETATTR_FH) ? handle_for(in->fh, false) : nullptr;
  if (fh) {
    if (::fstat(fh->fd.get(), &st) < 0) return encode_error(h.unique, errno);
  } else {
    Located at;
    if (int e = locate(h.nodeid, at)) return encode_error(h.unique, e);
    if (int e = stat_located(at, st)) return encode_error(h.unique, e);
  }
  fuse_attr_out out{};
  split_timeout(m_options.attr_timeout_s, out.attr_valid, out.attr_valid_nsec);
  out.attr = make_attr(st);
  return encode_struct(h.unique, out);
}

std::string FileServer::op_setattr(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_setattr_in>();
  if (!in) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate(h.nodeid, at)) return encode_error(h.unique, e);
  util::NodeRef node;  // exactly the inode resolved, no symlink followed (util/node_ref.hpp)
  if (int e = util::NodeRef::open(at.parent.get(), at.name, node)) return encode_error(h.unique, e);
  struct stat st;
  if (int e = node.stat(st)) return encode_error(h.unique, e);
  uint32_t changes = in->valid & (FATTR_MODE | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME | FATTR_UID | FATTR_GID);
  if (changes && is_read_only_inode(st)) return encode_error(h.unique, EACCES);
  // chown: the guest sees every host-user file as its own user; a change to
  // that same owner is a no-op, anything else is refused (host files keep the
  // host user's ownership).
  if ((in->valid & FATTR_UID) && in->uid != m_options.uid) return encode_error(h.unique, EPERM);
  if ((in->valid & FATTR_GID) && in->gid != m_options.gid) return encode_error(h.unique, EPERM);
  Handle* fh = (in->valid & FATTR_FH) ? handle_for(in->fh, false) : nullptr;
  if (in->valid & FATTR_MODE) {
    if (S_ISLNK(st.st_mode)) return encode_error(h.unique, EOPNOTSUPP);
    if (int e = node.chmod(in->mode & 07777)) return encode_error(h.unique, e);
  }
  if (in->valid & FATTR_SIZE) {
    if (!S_ISREG(st.st_mode)) return encode_error(h.unique, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    int e = fh && fh->writable ? (::ftruncate(fh->fd.get(), static_cast<off_t>(in->size)) < 0 ? errno : 0)
                               : node.truncate(static_cast<off_t>(in->size));
    if (e) return encode_error(h.unique, e);
  }
  if (in->valid & (FATTR_ATIME | FATTR_MTIME)) {
    timespec ts[2];
    ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
    if (in->valid & FATTR_ATIME) {
      ts[0].tv_sec = static_cast<time_t>(in->atime);
      ts[0].tv_nsec = (in->valid & FATTR_ATIME_NOW) ? UTIME_NOW : static_cast<long>(in->atimensec);
    }
    if (in->valid & FATTR_MTIME) {
      ts[1].tv_sec = static_cast<time_t>(in->mtime);
      ts[1].tv_nsec = (in->valid & FATTR_MTIME_NOW) ? UTIME_NOW : static_cast<long>(in->mtimensec);
    }
    if (int e = node.set_times(ts)) return encode_error(h.unique, e);
  }
  if (int e = node.stat(st)) return encode_error(h.unique, e);
  fuse_attr_out out{};
  split_timeout(m_options.attr_timeout_s, out.attr_valid, out.attr_valid_nsec);
  out.attr = make_attr(st);
  return encode_struct(h.unique, out);
}

std::string FileServer::op_statfs(const Request& req) {
  struct statvfs sv;
  if (::fstatvfs(m_root.get(), &sv) < 0) return encode_error(req.header.unique, errno);
  fuse_statfs_out out{};
  out.st.blocks = sv.f_blocks;
  out.st.bfree = sv.f_bfree;
  out.st.bavail = sv.f_bavail;
  out.st.files = sv.f_files;
  out.st.ffree = sv.f_ffree;
  out.st.bsize = static_cast<uint32_t>(sv.f_bsize);
  out.st.namelen = static_cast<uint32_t>(sv.f_namemax);
  out.st.frsize = static_cast<uint32_t>(sv.f_frsize);
  return encode_struct(req.header.unique, out);
}

FileServer::Handle* FileServer::handle_for(uint64_t fh, bool dir) {
  auto it = m_handles.find(fh);
  if (it == m_handles.end() || it->second.is_dir != dir) return nullptr;
  return &it->second;
}

}  // namespace workspace
