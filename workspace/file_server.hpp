// FileServer: answers FUSE requests from one guest mount out of one host
// directory (the share). Path safety: every node is a (parent node, name)
// chain resolved with open_beneath (no symlink followed, nothing outside the
// root reachable); every final component is operated on with *at() calls and
// AT_SYMLINK_NOFOLLOW / O_NOFOLLOW. Symlinks are served as symlinks (the guest
// kernel follows them inside the guest). docs/workspace.md has the full story.
//
// Not thread-safe: one FileServer per mount, driven by one thread.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"
#include "workspace/fuse_wire.hpp"
#include "workspace/node_table.hpp"

namespace workspace {

enum class Access { ReadWrite, ReadOnly };

// How the guest kernel caches file data (FOPEN_DIRECT_IO per open):
//  Auto: the page cache for files opened readable (mmap, repeated reads);
//        write-only opens go direct (no guest copy, and such an fd can
//        never be mmapped anyway). New opens always drop stale pages.
//  None: every regular file direct, like 9p's cache=none or virtiofsd's
//        cache=never: fastest bulk I/O, but MAP_SHARED mmap of a share file
//        fails (ENODEV) on guest kernels before 6.6.
enum class CachePolicy { Auto, None };

struct ShareOptions {
  std::filesystem::path root;  // the host directory served
  Access access = Access::ReadWrite;
  CachePolicy cache = CachePolicy::Auto;
  std::vector<std::string> exclude;                    // util/glob.hpp patterns, relative to root
                                                       // (normalised by create: util::normalize_path_glob)
  std::vector<std::filesystem::path> read_only_files;  // host paths (Matchlockfile, its lock)
  uint32_t uid = 0, gid = 0;                           // guest owner of files the host user owns
  double entry_timeout_s = 1.0, attr_timeout_s = 1.0;  // how soon host-side edits show up
};

struct ServerStats {
  uint64_t requests = 0, errors = 0, bytes_read = 0, bytes_written = 0;
};

class FileServer {
 public:
  static util::Result<std::unique_ptr<FileServer>> create(ShareOptions options);

  // Handles one complete FUSE request (as read from /dev/fuse). Returns the
  // reply to write back, or an empty string for requests that take none
  // (FORGET, BATCH_FORGET, INTERRUPT). A malformed request gets EINVAL (or
  // EIO); it never throws or reads out of bounds.
  std::string handle(std::string_view message);

  const ServerStats& stats() const { return m_stats; }
  size_t open_handles() const { return m_handles.size(); }
  size_t nodes() const { return m_nodes.size(); }
  bool initialized() const { return m_initialized; }

 private:
  explicit FileServer(ShareOptions options, util::Fd root);

  // Handles: open files and directory listings by fh.
  struct DirEntry {
    std::string name;
    ino_t ino;
    unsigned char type;  // DT_*
  };
  struct Handle {
    util::Fd fd;
    uint64_t node = 0;
    bool is_dir = false;
    bool writable = false;
    std::vector<DirEntry> entries;  // directories: snapshot taken at OPENDIR
  };

  // Result of resolving a node: the parent dir (a dir ref, util::dir_ref_flags) and the final name, or
  // the node's own dir fd for the root.
  struct Located {
    util::Fd parent;   // directory ref (the root's own fd for the root node)
    std::string name;  // "" for the root
    std::string rel;   // path relative to the root ("" for the root)
  };

  std::string dispatch(const Request& req);
  // A node at a hidden path is ENOENT, whatever id the guest kept.
  int locate(uint64_t node, Located& out);
  // Lookup: a hidden name is ENOENT. Change: EACCES (it cannot be created,
  // removed or renamed to/from either).
  enum class Purpose { Lookup, Change };
  int locate_child(uint64_t parent, std::string_view name, Located& out, Purpose purpose);
  int stat_located(const Located& at, struct stat& st);
  int open_located(const Located& at, int flags, util::Fd& out);

  // The exclude barrier (file_server_exclude.cpp).
  bool excluded(const std::string& rel) const;          // REL itself matches a pattern
  bool hidden(const std::string& rel) const;            // REL or an ancestor does (never the root)
  bool may_hide_beneath(const std::string& rel) const;  // some pattern may match below REL
  // EACCES when the host directory at FROM holds anything hidden below FROM
  // or that would be hidden below TO, or cannot be read; else 0.
  int check_subtree(const std::string& from, const std::string& to);
  bool is_read_only_inode(const struct stat& st) const;
  bool is_guarded_dir(const struct stat& st) const;
  fuse_attr make_attr(const struct stat& st) const;
  fuse_entry_out make_entry(uint64_t node, const struct stat& st) const;
  // Lookup of an existing child: stat + remember; returns the entry reply.
  std::string reply_entry(uint64_t unique, uint64_t parent, const std::string& name, const Located& at);

  std::string op_init(const Request& req);
  std::string op_lookup(const Request& req);
  std::string op_forget(const Request& req);
  std::string op_batch_forget(const Request& req);
  std::string op_getattr(const Request& req);
  std::string op_setattr(const Request& req);
  std::string op_readlink(const Request& req);
  std::string op_symlink(const Request& req);
  std::string op_mknod(const Request& req);
  std::string op_mkdir(const Request& req);
  std::string op_unlink(const Request& req, bool dir);
  std::string op_rename(const Request& req, bool v2);
  std::string op_link(const Request& req);
  std::string op_open(const Request& req, bool dir);
  std::string op_create(const Request& req);
  std::string op_read(const Request& req);
  std::string op_write(const Request& req);
  std::string op_release(const Request& req);
  std::string op_fsync(const Request& req);
  std::string op_readdir(const Request& req, bool plus);
  std::string op_statfs(const Request& req);
  std::string op_fallocate(const Request& req);

  Handle* handle_for(uint64_t fh, bool dir);
  int writable_check(const Located& at) const;  // EROFS / EACCES for protected files
  uint32_t open_flags_for(int flags) const;     // FOPEN_* for a regular file opened with FLAGS

  ShareOptions m_options;
  util::Fd m_root;
  NodeTable m_nodes;
  std::map<uint64_t, Handle> m_handles;
  uint64_t m_next_fh = 1;
  std::set<std::pair<dev_t, ino_t>> m_read_only;  // protected files
  std::set<std::pair<dev_t, ino_t>> m_guarded;    // directories above them (no rename/rmdir)
  uid_t m_host_uid;
  gid_t m_host_gid;
  bool m_initialized = false;
  ServerStats m_stats;
};

}  // namespace workspace
