#include "backends/module_info.hpp"

#include <cstdint>
#include <cstring>
#include <functional>
#include <set>

namespace backends {

namespace {

template <class T>
bool read_at(std::string_view data, uint64_t offset, T& out) {
  if (offset > data.size() || data.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, data.data() + offset, sizeof(T));
  return true;
}

util::Error bad_elf(std::string_view why) {
  return util::make_error(util::ErrorCode::Integrity, "bad module ELF: " + std::string(why));
}

}  // namespace

util::Result<ModuleInfo> parse_module_info(std::string_view elf) {
  if (elf.size() < 64 || elf.substr(0, 4) !=
                             "\x7f"
                             "ELF")
    return bad_elf("no ELF magic");
  if (elf[4] != 2 || elf[5] != 1) return bad_elf("not ELF64 little-endian");
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0, shstrndx = 0;
  if (!read_at(elf, 0x28, shoff) || !read_at(elf, 0x3A, shentsize) || !read_at(elf, 0x3C, shnum) ||
      !read_at(elf, 0x3E, shstrndx) || shentsize < 64 || shstrndx >= shnum)
    return bad_elf("bad header");
  auto section = [&](uint16_t i, uint32_t& name, uint64_t& off, uint64_t& size) {
    uint64_t base = shoff + uint64_t(i) * shentsize;
    return read_at(elf, base, name) && read_at(elf, base + 0x18, off) && read_at(elf, base + 0x20, size) &&
           off <= elf.size() && size <= elf.size() - off;
  };
  uint32_t ignored = 0;
  uint64_t stroff = 0, strsize = 0;
  if (!section(shstrndx, ignored, stroff, strsize)) return bad_elf("bad section string table");
  std::string_view strtab = elf.substr(stroff, strsize);
  for (uint16_t i = 0; i < shnum; ++i) {
    uint32_t name = 0;
    uint64_t off = 0, size = 0;
    if (!section(i, name, off, size)) return bad_elf("bad section header");
    if (name >= strtab.size()) continue;
    std::string_view sname = strtab.substr(name);
    sname = sname.substr(0, sname.find('\0'));
    if (sname != ".modinfo") continue;
    ModuleInfo info;
    std::string_view body = elf.substr(off, size);
    while (!body.empty()) {
      auto end = body.find('\0');
      std::string_view entry = body.substr(0, end);
      body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 1);
      auto eq = entry.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = entry.substr(0, eq), value = entry.substr(eq + 1);
      if (key == "name") {
        info.name = value;
      } else if (key == "vermagic") {
        info.vermagic = value;
      } else if (key == "depends") {
        while (!value.empty()) {
          auto comma = value.find(',');
          if (auto dep = value.substr(0, comma); !dep.empty()) info.depends.emplace_back(dep);
          value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        }
      }
    }
    return info;
  }
  return bad_elf("no .modinfo section");
}

util::Result<std::vector<std::string>> module_load_order(const std::vector<std::string>& wanted,
                                                         const std::map<std::string, std::vector<std::string>>& known) {
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<util::Result<void>(const std::string&, const std::string&)> visit =
      [&](const std::string& name, const std::string& needed_by) -> util::Result<void> {
    if (done.count(name)) return util::ok();
    if (visiting.count(name)) return util::make_error(util::ErrorCode::Integrity, "module dependency cycle at " + name);
    auto it = known.find(name);
    if (it == known.end())
      return util::make_error(
          util::ErrorCode::NotFound,
          "kernel module " + name + " not found" + (needed_by.empty() ? "" : " (needed by " + needed_by + ")"));
    visiting.insert(name);
    for (const auto& dep : it->second) ML_TRY(visit(dep, name));
    visiting.erase(name);
    done.insert(name);
    order.push_back(name);
    return util::ok();
  };
  for (const auto& name : wanted) ML_TRY(visit(name, ""));
  return order;
}

}  // namespace backends
