// Pull progress: the engine reports events to a ProgressSink; cmd/ picks the
// renderer (TTY bars, plain lines, JSON event lines) with make_progress().
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Holds back what a pull reports until it does some work: `resolved`, cached
// layers and `finished` of a pull that downloads nothing and builds nothing are
// dropped, so a warm `run` or `up` prints nothing. The first download or note
// (a step such as "building rootfs") shows the held events and everything after.
// Does not own INNER (which may be null).
class QuietWhenCached : public ProgressSink {
 public:
  explicit QuietWhenCached(ProgressSink* inner) : m_inner(inner) {}
  void resolved(std::string_view reference, std::string_view manifest_digest) override;
  void layer_start(std::string_view digest, uint64_t size, uint64_t offset) override;
  void layer_progress(std::string_view digest, uint64_t done, uint64_t size) override;
  void layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) override;
  void note(std::string_view message) override;
  void finished(std::string_view reference, std::string_view manifest_digest) override;
  // True once something was downloaded or a step happened (the events were shown).
  bool worked() const { return m_worked; }

 private:
  void work();
  ProgressSink* m_inner;
  bool m_worked = false;
  bool m_finished = false;                                 // `finished` came while held
  std::string m_reference, m_manifest;                     // from `resolved`, while held
  std::vector<std::pair<std::string, uint64_t>> m_cached;  // cached layers, while held
};

// Auto: Tty when `out` is a terminal, else Plain. Colour only on a TTY and
// when NO_COLOR is unset.
std::unique_ptr<ProgressSink> make_progress(ProgressStyle style, std::FILE* out);

}  // namespace oci
