// FileServer: directory entries: READLINK, SYMLINK, MKNOD, MKDIR, UNLINK,
// RMDIR, RENAME/RENAME2, LINK. All act on (parent dir fd, single name) with
// *at() calls that never follow a final symlink.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/beneath.hpp"
#include "util/file_calls.hpp"
#include "workspace/file_server.hpp"

namespace workspace {

std::string FileServer::op_readlink(const Request& req) {
  const auto& h = req.header;
  Located at;
  if (int e = locate(h.nodeid, at)) return encode_error(h.unique, e);
  if (at.name.empty()) return encode_error(h.unique, EINVAL);
  std::string buf(PATH_MAX, '\0');
  ssize_t n = ::readlinkat(at.parent.get(), at.name.c_str(), buf.data(), buf.size());
  if (n < 0) return encode_error(h.unique, errno);
  return encode_reply(h.unique, std::string_view(buf.data(), static_cast<size_t>(n)));
}

std::string FileServer::op_symlink(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto name = a.take_cstring();
  auto target = a.take_cstring();
  if (!name || !target || target->empty() || target->size() >= PATH_MAX) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  // The link text is stored as given; the host never follows it (only the guest does).
  if (::symlinkat(std::string(*target).c_str(), at.parent.get(), at.name.c_str()) < 0)
    return encode_error(h.unique, errno);
  return reply_entry(h.unique, h.nodeid, at.name, at);
}

std::string FileServer::op_mknod(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_mknod_in>();
  auto name = a.take_cstring();
  if (!in || !name) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  mode_t perm = in->mode & 07777;
  int r;
  if (S_ISREG(in->mode)) {
    r = ::openat(at.parent.get(), at.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
    if (r >= 0) ::close(r);
  } else if (S_ISFIFO(in->mode) || S_ISSOCK(in->mode)) {
    r = ::mknodat(at.parent.get(), at.name.c_str(), (in->mode & S_IFMT) | perm, 0);
  } else {
    return encode_error(h.unique, EPERM);  // no device nodes in the share
  }
  if (r < 0) return encode_error(h.unique, errno);
  return reply_entry(h.unique, h.nodeid, at.name, at);
}

std::string FileServer::op_mkdir(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_mkdir_in>();
  auto name = a.take_cstring();
  if (!in || !name) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  if (::mkdirat(at.parent.get(), at.name.c_str(), in->mode & 07777) < 0) return encode_error(h.unique, errno);
  return reply_entry(h.unique, h.nodeid, at.name, at);
}

std::string FileServer::op_unlink(const Request& req, bool dir) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto name = a.take_cstring();
  if (!name) return encode_error(h.unique, EINVAL);
  Located at;
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  if (int e = writable_check(at)) return encode_error(h.unique, e);
  if (::unlinkat(at.parent.get(), at.name.c_str(), dir ? AT_REMOVEDIR : 0) < 0) return encode_error(h.unique, errno);
  m_nodes.detach(h.nodeid, at.name);
  return encode_reply(h.unique, {});
}

std::string FileServer::op_rename(const Request& req, bool v2) {
  const auto& h = req.header;
  ArgReader a(req.body);
  uint64_t newdir = 0;
  uint32_t flags = 0;
  if (v2) {
    auto in = a.take<fuse_rename2_in>();
    if (!in) return encode_error(h.unique, EINVAL);
    newdir = in->newdir;
    flags = in->flags;
  } else {
    auto in = a.take<fuse_rename_in>();
    if (!in) return encode_error(h.unique, EINVAL);
    newdir = in->newdir;
  }
  auto oldname = a.take_cstring();
  auto newname = a.take_cstring();
  if (!oldname || !newname) return encode_error(h.unique, EINVAL);
  if (flags & ~(util::k_rename_noreplace | util::k_rename_exchange)) return encode_error(h.unique, EINVAL);
  Located from, to;
  if (int e = locate_child(h.nodeid, *oldname, from, Purpose::Change)) return encode_error(h.unique, e);
  if (int e = locate_child(newdir, *newname, to, Purpose::Change)) return encode_error(h.unique, e);
  if (int e = writable_check(from)) return encode_error(h.unique, e);
  if (int e = writable_check(to)) return encode_error(h.unique, e);
  // The exclude barrier: a directory moves only if nothing beneath it is
  // hidden where it is or would be where it goes (both ways for EXCHANGE).
  if (!m_options.exclude.empty()) {
    struct stat st;
    if (stat_located(from, st) == 0 && S_ISDIR(st.st_mode))
      if (int e = check_subtree(from.rel, to.rel)) return encode_error(h.unique, e);
    if ((flags & util::k_rename_exchange) && stat_located(to, st) == 0 && S_ISDIR(st.st_mode))
      if (int e = check_subtree(to.rel, from.rel)) return encode_error(h.unique, e);
  }
  // Both ends are (directory fd beneath the root, single name): the entry can
  // only move inside the share, whatever the names contain.
  if (int e = util::rename_at(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str(), flags))
    return encode_error(h.unique, e);
  m_nodes.renamed(h.nodeid, from.name, newdir, to.name, (flags & util::k_rename_exchange) != 0);
  return encode_reply(h.unique, {});
}

std::string FileServer::op_link(const Request& req) {
  const auto& h = req.header;
  ArgReader a(req.body);
  auto in = a.take<fuse_link_in>();
  auto name = a.take_cstring();
  if (!in || !name) return encode_error(h.unique, EINVAL);
  Located old_at, at;
  if (int e = locate(in->oldnodeid, old_at)) return encode_error(h.unique, e);
  if (old_at.name.empty()) return encode_error(h.unique, EPERM);  // the root
  if (int e = writable_check(old_at)) return encode_error(h.unique, e);
  if (int e = locate_child(h.nodeid, *name, at, Purpose::Change)) return encode_error(h.unique, e);
  // No AT_SYMLINK_FOLLOW: a symlink is linked as itself, never its target.
  if (::linkat(old_at.parent.get(), old_at.name.c_str(), at.parent.get(), at.name.c_str(), 0) < 0)
    return encode_error(h.unique, errno);
  return reply_entry(h.unique, h.nodeid, at.name, at);
}

}  // namespace workspace
