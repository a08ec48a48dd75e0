// A tiny FUSE "kernel" for FileServer unit tests: encodes requests the way the
// guest kernel does and decodes the replies; Share is a temp share with a
// server and a kernel attached (plus an "outside" dir next to it).
#pragma once

#include <fcntl.h>
#include <linux/fuse.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/temp_dir.hpp"
#include "workspace/file_server.hpp"

namespace wstest {

struct Reply {
  int error = 0;  // positive errno, 0 = success
  std::string body;
  template <class T>
  T as() const {
    T v{};
    std::memcpy(&v, body.data(), std::min(sizeof v, body.size()));
    return v;
  }
};

template <class T>
std::string bytes(const T& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
inline std::string cstr(std::string_view s) { return std::string(s) + '\0'; }

class Kernel {
 public:
  explicit Kernel(workspace::FileServer& s) : m_s(s) {}

  Reply call(uint32_t opcode, uint64_t node, const std::string& args) {
    fuse_in_header h{};
    h.len = static_cast<uint32_t>(sizeof h + args.size());
    h.opcode = opcode;
    h.unique = ++m_unique;
    h.nodeid = node;
    std::string reply = m_s.handle(bytes(h) + args);
    Reply r;
    if (reply.empty()) return r;
    fuse_out_header oh{};
    std::memcpy(&oh, reply.data(), sizeof oh);
    r.error = -oh.error;
    r.body = reply.substr(sizeof oh);
    last_len = oh.len;
    last_unique_ok = oh.unique == h.unique && oh.len == reply.size();
    return r;
  }

  Reply init() {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = 128 << 10;
    in.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS | FUSE_ATOMIC_O_TRUNC;
    return call(FUSE_INIT, 0, bytes(in));
  }
  Reply lookup(uint64_t parent, std::string_view name) { return call(FUSE_LOOKUP, parent, cstr(name)); }
  // nodeid of NAME under PARENT (0 when missing or an error).
  uint64_t node(uint64_t parent, std::string_view name) {
    Reply r = lookup(parent, name);
    return r.error ? 0 : r.as<fuse_entry_out>().nodeid;
  }
  Reply open(uint64_t node, uint32_t flags, bool dir = false) {
    fuse_open_in in{};
    in.flags = flags;
    return call(dir ? FUSE_OPENDIR : FUSE_OPEN, node, bytes(in));
  }
  Reply create(uint64_t parent, std::string_view name, uint32_t flags, uint32_t mode = 0644) {
    fuse_create_in in{};
    in.flags = flags;
    in.mode = S_IFREG | mode;
    return call(FUSE_CREATE, parent, bytes(in) + cstr(name));
  }
  Reply write(uint64_t node, uint64_t fh, uint64_t off, std::string_view data) {
    fuse_write_in in{};
    in.fh = fh;
    in.offset = off;
    in.size = static_cast<uint32_t>(data.size());
    return call(FUSE_WRITE, node, bytes(in) + std::string(data));
  }
  Reply read(uint64_t node, uint64_t fh, uint64_t off, uint32_t size, bool dir = false, bool plus = false) {
    fuse_read_in in{};
    in.fh = fh;
    in.offset = off;
    in.size = size;
    return call(dir ? (plus ? FUSE_READDIRPLUS : FUSE_READDIR) : FUSE_READ, node, bytes(in));
  }
  Reply release(uint64_t node, uint64_t fh, bool dir = false) {
    fuse_release_in in{};
    in.fh = fh;
    return call(dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node, bytes(in));
  }
  Reply mkdir(uint64_t parent, std::string_view name, uint32_t mode = 0755) {
    fuse_mkdir_in in{};
    in.mode = mode;
    return call(FUSE_MKDIR, parent, bytes(in) + cstr(name));
  }
  Reply rename(uint64_t parent, std::string_view from, uint64_t newdir, std::string_view to, uint32_t flags = 0) {
    fuse_rename2_in in{};
    in.newdir = newdir;
    in.flags = flags;
    return call(FUSE_RENAME2, parent, bytes(in) + cstr(from) + cstr(to));
  }
  // FUSE_RENAME (version 1, no flags), as older kernels send it.
  Reply rename1(uint64_t parent, std::string_view from, uint64_t newdir, std::string_view to) {
    fuse_rename_in in{};
    in.newdir = newdir;
    return call(FUSE_RENAME, parent, bytes(in) + cstr(from) + cstr(to));
  }
  Reply symlink(uint64_t parent, std::string_view name, std::string_view target) {
    return call(FUSE_SYMLINK, parent, cstr(name) + cstr(target));
  }
  Reply readlink(uint64_t node) { return call(FUSE_READLINK, node, {}); }
  Reply getattr(uint64_t node) {
    fuse_getattr_in in{};
    return call(FUSE_GETATTR, node, bytes(in));
  }
  Reply forget(uint64_t node, uint64_t n) {
    fuse_forget_in in{};
    in.nlookup = n;
    return call(FUSE_FORGET, node, bytes(in));
  }
  Reply link(uint64_t old_node, uint64_t parent, std::string_view name) {
    fuse_link_in in{};
    in.oldnodeid = old_node;
    return call(FUSE_LINK, parent, bytes(in) + cstr(name));
  }
  Reply setattr(uint64_t node, const fuse_setattr_in& in) { return call(FUSE_SETATTR, node, bytes(in)); }
  // Names listed by READDIR of directory NODE (without "." and "..").
  std::vector<std::string> list(uint64_t node, bool plus = false) {
    std::vector<std::string> names;
    Reply o = open(node, O_RDONLY, true);
    if (o.error) return names;
    uint64_t fh = o.as<fuse_open_out>().fh;
    uint64_t off = 0;
    for (;;) {
      Reply r = read(node, fh, off, 4096, true, plus);
      if (r.error || r.body.empty()) break;
      size_t p = 0;
      while (p < r.body.size()) {
        if (plus) p += sizeof(fuse_entry_out);
        fuse_dirent d;
        std::memcpy(&d, r.body.data() + p, FUSE_NAME_OFFSET);
        std::string name = r.body.substr(p + FUSE_NAME_OFFSET, d.namelen);
        if (name != "." && name != "..") names.push_back(name);
        off = d.off;
        p += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
      }
    }
    release(node, fh, true);
    return names;
  }

  uint32_t last_len = 0;
  bool last_unique_ok = false;

 private:
  workspace::FileServer& m_s;
  uint64_t m_unique = 0;
};

namespace fs = std::filesystem;

struct Share {
  util::TempDir tmp = util::TempDir::create(fs::temp_directory_path(), "ws-test-").value();
  fs::path root = tmp.path() / "share";
  fs::path outside = tmp.path() / "outside";
  std::unique_ptr<workspace::FileServer> server;
  std::unique_ptr<Kernel> k;

  explicit Share(workspace::ShareOptions o = {}) {
    fs::create_directories(root);
    fs::create_directories(outside);
    put(outside / "secret", "host secret\n");
    o.root = root;
    server = workspace::FileServer::create(o).value();
    k = std::make_unique<Kernel>(*server);
    REQUIRE(k->init().error == 0);
  }
  static void put(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
  }
  static std::string get(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Open NODE and read up to 1 MiB from offset 0.
  wstest::Reply read_all(uint64_t node) {
    auto o = k->open(node, O_RDONLY);
    if (o.error) return o;
    uint64_t fh = o.as<fuse_open_out>().fh;
    auto r = k->read(node, fh, 0, 1 << 20);
    k->release(node, fh);
    return r;
  }
};

inline fuse_attr attr_of(Kernel& k, uint64_t node) {
  fuse_getattr_in in{};
  auto r = k.call(FUSE_GETATTR, node, bytes(in));
  REQUIRE(r.error == 0);
  return r.as<fuse_attr_out>().attr;
}

}  // namespace wstest
