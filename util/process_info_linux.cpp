// util/process_info.hpp on Linux: /proc.
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/process_info.hpp"

namespace util {

Result<std::string> self_executable() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return sys_error_code(ec.value(), "readlink", "/proc/self/exe");
  return self.string();
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // The command name may hold spaces and ')': fields restart after the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::string rest = stat->substr(close + 2);  // field 3 onwards
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos < rest.size() && fields.size() < 20) {
    auto sp = rest.find(' ', pos);
    fields.push_back(rest.substr(pos, sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return 0;
  return std::strtoull(fields[19].c_str(), nullptr, 10);
}

std::string kernel_setting(std::string_view name) {
  std::string path = "/proc/sys/";
  for (char c : name) path += c == '.' ? '/' : c;
  auto text = read_file(path);
  if (!text) return {};
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace util
