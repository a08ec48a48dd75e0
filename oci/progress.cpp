#include "oci/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace oci {

namespace {

using Clock = std::chrono::steady_clock;

std::string short_digest(std::string_view d) {
  auto c = d.find(':');
  return std::string(d.substr(c == std::string_view::npos ? 0 : c + 1, 12));
}

std::string human(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

class PlainProgress : public ProgressSink {
 public:
  explicit PlainProgress(std::FILE* out) : m_out(out) {}
  void resolved(std::string_view ref, std::string_view digest) override {
    std::fprintf(m_out, "%.*s: resolved to %.*s\n", int(ref.size()), ref.data(), int(digest.size()), digest.data());
  }
  void layer_start(std::string_view digest, uint64_t size, uint64_t offset) override {
    if (offset > 0)
      std::fprintf(m_out, "%s: resuming at %s of %s\n", short_digest(digest).c_str(), human(double(offset)).c_str(),
                   human(double(size)).c_str());
    else
      std::fprintf(m_out, "%s: downloading %s\n", short_digest(digest).c_str(), human(double(size)).c_str());
    std::fflush(m_out);
  }
  void layer_progress(std::string_view, uint64_t, uint64_t) override {}
  void layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) override {
    std::fprintf(m_out, "%s: %s %s\n", short_digest(digest).c_str(),
                 outcome == BlobOutcome::Cached ? "already present," : "done,", human(double(size)).c_str());
    std::fflush(m_out);
  }
  void note(std::string_view message) override { std::fprintf(m_out, "%.*s\n", int(message.size()), message.data()); }
  void finished(std::string_view ref, std::string_view digest) override {
    std::fprintf(m_out, "%.*s: pulled %.*s\n", int(ref.size()), ref.data(), int(digest.size()), digest.data());
    std::fflush(m_out);
  }

 private:
  std::FILE* m_out;
};

class JsonProgress : public ProgressSink {
 public:
  explicit JsonProgress(std::FILE* out) : m_out(out) {}
  void resolved(std::string_view ref, std::string_view digest) override {
    emit({{"event", "resolved"}, {"reference", ref}, {"manifest", digest}});
  }
  void layer_start(std::string_view digest, uint64_t size, uint64_t offset) override {
    m_last = Clock::time_point{};
    emit({{"event", "layer_start"}, {"digest", digest}, {"size", size}, {"offset", offset}});
  }
  void layer_progress(std::string_view digest, uint64_t done, uint64_t size) override {
    auto now = Clock::now();
    if (done < size && now - m_last < std::chrono::milliseconds(250)) return;
    m_last = now;
    emit({{"event", "layer_progress"}, {"digest", digest}, {"done", done}, {"size", size}});
  }
  void layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) override {
    emit({{"event", "layer_done"},
          {"digest", digest},
          {"size", size},
          {"outcome", outcome == BlobOutcome::Cached ? "cached" : "downloaded"}});
  }
  void note(std::string_view message) override { emit({{"event", "note"}, {"message", message}}); }
  void finished(std::string_view ref, std::string_view digest) override {
    emit({{"event", "pulled"}, {"reference", ref}, {"manifest", digest}});
  }

 private:
  void emit(const nlohmann::json& j) {
    std::fprintf(m_out, "%s\n", j.dump().c_str());
    std::fflush(m_out);
  }
  std::FILE* m_out;
  Clock::time_point m_last{};
};

// One line per layer, redrawn in place (ANSI cursor movement).
class TtyProgress : public ProgressSink {
 public:
  TtyProgress(std::FILE* out, bool color) : m_out(out), m_color(color) {}
  void resolved(std::string_view ref, std::string_view digest) override {
    std::fprintf(m_out, "%.*s: %.*s\n", int(ref.size()), ref.data(), int(digest.size()), digest.data());
  }
  void layer_start(std::string_view digest, uint64_t size, uint64_t offset) override {
    Bar& b = bar(digest);
    b.size = size;
    b.done = b.start_offset = offset;
    b.started = Clock::now();
    redraw(true);
  }
  void layer_progress(std::string_view digest, uint64_t done, uint64_t size) override {
    Bar& b = bar(digest);
    b.done = done;
    b.size = size;
    redraw(false);
  }
  void layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) override {
    Bar& b = bar(digest);
    b.done = b.size = size;
    b.state = outcome == BlobOutcome::Cached ? "cached" : "done";
    redraw(true);
  }
  void note(std::string_view message) override {
    clear();
    std::fprintf(m_out, "%.*s\n", int(message.size()), message.data());
    m_drawn = 0;
    redraw(true);
  }
  void finished(std::string_view ref, std::string_view digest) override {
    redraw(true);
    std::fprintf(m_out, "%.*s: pulled %.*s\n", int(ref.size()), ref.data(), int(digest.size()), digest.data());
    std::fflush(m_out);
  }

 private:
  struct Bar {
    std::string digest;
    uint64_t size = 0, done = 0, start_offset = 0;
    Clock::time_point started{};
    std::string state;  // "" while running
  };
  Bar& bar(std::string_view digest) {
    for (auto& b : m_bars)
      if (b.digest == digest) return b;
    m_bars.push_back(Bar{std::string(digest)});
    return m_bars.back();
  }
  void clear() {
    for (size_t i = 0; i < m_drawn; ++i) std::fputs("\x1b[1A\x1b[2K", m_out);
  }
  void redraw(bool force) {
    auto now = Clock::now();
    if (!force && now - m_last < std::chrono::milliseconds(100)) return;
    m_last = now;
    clear();
    for (const auto& b : m_bars) {
      constexpr int k_width = 30;
      double frac = b.size ? double(b.done) / double(b.size) : 1.0;
      int fill = int(frac * k_width);
      std::string barstr(size_t(fill), '=');
      if (fill < k_width) barstr += '>' + std::string(size_t(k_width - fill - 1), ' ');
      double secs = std::chrono::duration<double>(now - b.started).count();
      double rate = secs > 0.05 ? double(b.done - b.start_offset) / secs : 0;
      std::string tail;
      if (!b.state.empty()) {
        tail = b.state;
      } else if (rate > 0) {
        tail = human(rate) + "/s ETA " + std::to_string(int(double(b.size - b.done) / rate)) + "s";
      }
      const char* on = m_color ? (b.state.empty() ? "\x1b[36m" : "\x1b[32m") : "";
      const char* off = m_color ? "\x1b[0m" : "";
      std::fprintf(m_out, "%s%s%s [%s] %s/%s %s\n", on, short_digest(b.digest).c_str(), off, barstr.c_str(),
                   human(double(b.done)).c_str(), human(double(b.size)).c_str(), tail.c_str());
    }
    m_drawn = m_bars.size();
    std::fflush(m_out);
  }
  std::FILE* m_out;
  bool m_color;
  std::vector<Bar> m_bars;
  size_t m_drawn = 0;
  Clock::time_point m_last{};
};

class NoProgress : public ProgressSink {
 public:
  void resolved(std::string_view, std::string_view) override {}
  void layer_start(std::string_view, uint64_t, uint64_t) override {}
  void layer_progress(std::string_view, uint64_t, uint64_t) override {}
  void layer_done(std::string_view, uint64_t, BlobOutcome) override {}
  void note(std::string_view) override {}
  void finished(std::string_view, std::string_view) override {}
};

}  // namespace

void QuietWhenCached::work() {
  if (m_worked) return;
  m_worked = true;
  if (!m_inner) return;
  if (!m_reference.empty()) m_inner->resolved(m_reference, m_manifest);
  for (const auto& [digest, size] : m_cached) m_inner->layer_done(digest, size, BlobOutcome::Cached);
  m_cached.clear();
  if (m_finished) m_inner->finished(m_reference, m_manifest);
}

void QuietWhenCached::resolved(std::string_view reference, std::string_view manifest_digest) {
  if (m_worked) {
    if (m_inner) m_inner->resolved(reference, manifest_digest);
    return;
  }
  m_reference = reference;
  m_manifest = manifest_digest;
}

void QuietWhenCached::layer_start(std::string_view digest, uint64_t size, uint64_t offset) {
  work();
  if (m_inner) m_inner->layer_start(digest, size, offset);
}

void QuietWhenCached::layer_progress(std::string_view digest, uint64_t done, uint64_t size) {
  work();
  if (m_inner) m_inner->layer_progress(digest, done, size);
}

void QuietWhenCached::layer_done(std::string_view digest, uint64_t size, BlobOutcome outcome) {
  if (!m_worked && outcome == BlobOutcome::Cached) {
    m_cached.emplace_back(std::string(digest), size);
    return;
  }
  work();
  if (m_inner) m_inner->layer_done(digest, size, outcome);
}

void QuietWhenCached::note(std::string_view message) {
  work();
  if (m_inner) m_inner->note(message);
}

void QuietWhenCached::finished(std::string_view reference, std::string_view manifest_digest) {
  if (m_worked) {
    if (m_inner) m_inner->finished(reference, manifest_digest);
    return;
  }
  m_reference = reference;  // shown with the held events if a step follows (a rootfs build)
  m_manifest = manifest_digest;
  m_finished = true;
}

std::unique_ptr<ProgressSink> make_progress(ProgressStyle style, std::FILE* out) {
  if (style == ProgressStyle::Auto) style = ::isatty(fileno(out)) ? ProgressStyle::Tty : ProgressStyle::Plain;
  const char* no_color = std::getenv("NO_COLOR");
  bool color = !(no_color && *no_color) && std::getenv("TERM") && std::string_view(std::getenv("TERM")) != "dumb";
  switch (style) {
    case ProgressStyle::Tty:
      return std::make_unique<TtyProgress>(out, color);
    case ProgressStyle::Plain:
      return std::make_unique<PlainProgress>(out);
    case ProgressStyle::Json:
      return std::make_unique<JsonProgress>(out);
    case ProgressStyle::None:
    case ProgressStyle::Auto:
      break;
  }
  return std::make_unique<NoProgress>();
}

}  // namespace oci
