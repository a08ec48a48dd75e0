// Where matchlock keeps files: $XDG_{CACHE,STATE,CONFIG}_HOME/matchlock with
// the XDG defaults when unset. Passed around explicitly (no globals).
#pragma once

#include <filesystem>

namespace util {

struct Dirs {
  std::filesystem::path cache;   // images, blobs, rootfs, kernel bundles
  std::filesystem::path state;   // sandboxes, approvals
  std::filesystem::path config;  // config.toml

  static Dirs from_environment();
};

}  // namespace util
