// Pull progress: the engine reports events to a ProgressSink; cmd/ picks the
// renderer (TTY bars, plain lines, JSON event lines) with make_progress().
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace oci {

enum class BlobOutcome { Downloaded, Cached };

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // The reference resolved to this manifest (before any layer is fetched).
  virtual void resolved(std::string_view reference, std::string_view manifest_digest) = 0;
  // A layer starts; `offset` > 0 when a partial download is resumed.
  virtual void layer_start(std::string_view digest, uint64_t size, uint64_t offset) = 0;
  virtual void layer_progress(std::string_view digest, uint64_t done, uint64_t size) = 0;
  virtual void layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) = 0;
  // Free-form step ("building rootfs", "retrying after HTTP 503").
  virtual void note(std::string_view message) = 0;
  virtual void finished(std::string_view reference, std::string_view manifest_digest) = 0;
};

enum class ProgressStyle { Auto, Tty, Plain, Json, None };

// Auto: Tty when `out` is a terminal, else Plain. Colour only on a TTY and
// when NO_COLOR is unset.
std::unique_ptr<ProgressSink> make_progress(ProgressStyle style, std::FILE* out);

}  // namespace oci
