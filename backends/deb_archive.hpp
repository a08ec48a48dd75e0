// Reads members of a Debian package (.deb = ar of control.tar.* and data.tar.*)
// with libarchive, in-process: no dpkg, nothing extracted onto the host.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "util/result.hpp"

namespace backends {

enum class DebMember { Control, Data };

struct DebEntry {
  std::string path;  // as stored, normalised without a leading "./"
  int64_t size = 0;
  bool regular = false;
};

// Gives the entry's contents; valid only during the visitor call.
using DebContents = std::function<util::Result<std::string>()>;
using DebVisitor = std::function<util::Result<void>(const DebEntry&, const DebContents&)>;

util::Result<void> for_each_deb_entry(const std::filesystem::path& deb, DebMember member, const DebVisitor& visit);

// The "Field: value" of the package's control file ("" when absent).
util::Result<std::string> deb_control_field(const std::filesystem::path& deb, const std::string& field);

}  // namespace backends
