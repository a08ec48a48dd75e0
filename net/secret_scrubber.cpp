#include "net/secret_scrubber.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

namespace net {

namespace {

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// A JWT run: token characters and dots, exactly two dots.
bool jwt_like(std::string_view t) { return t.starts_with("eyJ") && std::count(t.begin(), t.end(), '.') == 2; }

}  // namespace

SecretScrubber::SecretScrubber(const SecretTable& table, std::string_view conn_name, uint16_t conn_port)
    : m_table(table), m_entries(table.scan_entries(conn_name, conn_port)) {
  for (const auto& e : m_entries) {
    m_first[static_cast<unsigned char>(e.value[0])] = true;
    if (e.shape) m_first[static_cast<unsigned char>(e.shape->jwt ? 'e' : e.shape->prefix[0])] = true;
  }
}

SecretScrubber::~SecretScrubber() {
  for (auto& e : m_entries) wipe(e.value);
  wipe(m_pending);
}

void SecretScrubber::note(const std::string& name) {
  std::string base = name.substr(0, name.find('+'));
  if (std::find(m_replaced.begin(), m_replaced.end(), base) == m_replaced.end()) m_replaced.push_back(base);
}

util::Result<std::string> SecretScrubber::feed(std::string_view data) {
  if (m_entries.empty()) return std::string(data);
  m_pending.append(data);
  return process(false);
}

util::Result<std::string> SecretScrubber::finish() {
  if (m_entries.empty()) return std::string();
  return process(true);
}

util::Result<std::string> SecretScrubber::process(bool final) {
  const std::string& buf = m_pending;
  const size_t n = buf.size();
  std::string out;
  out.reserve(n);
  size_t p = 0;
  size_t copied = 0;  // buf[copied, p) is plain text not yet appended to OUT
  auto flush = [&] {
    out.append(buf, copied, p - copied);
    copied = p;
  };
  while (p < n) {
    const char c = buf[p];
    if (!m_first[static_cast<unsigned char>(c)]) {  // the common case: nothing can start here
      ++p;
      continue;
    }
    flush();
    bool hold = false, done = false;
    // 1. A known value, anywhere.
    for (auto& e : m_entries) {
      if (e.value[0] != c) continue;
      size_t avail = n - p;
      if (avail >= e.value.size()) {
        if (std::memcmp(buf.data() + p, e.value.data(), e.value.size()) == 0) {
          out += e.placeholder;
          p += e.value.size();
          copied = p;
          note(e.name);
          done = true;
          break;
        }
      } else if (!final && std::memcmp(buf.data() + p, e.value.data(), avail) == 0) {
        hold = true;  // may be a value cut by the end of this read
      }
    }
    if (done) continue;
    // 2. A new token shaped like a value bound to this connection, at a token boundary.
    bool boundary = p == 0 ? !m_after_token_char : !is_token_char(buf[p - 1]);
    if (boundary && !hold) {
      for (auto& e : m_entries) {
        if (!e.shape) continue;
        const TokenShape& s = *e.shape;
        std::string_view head = s.jwt ? std::string_view("eyJ") : std::string_view(s.prefix);
        size_t avail = n - p;
        if (avail < head.size()) {
          if (!final && std::memcmp(buf.data() + p, head.data(), avail) == 0) hold = true;
          continue;
        }
        if (std::memcmp(buf.data() + p, head.data(), head.size()) != 0) continue;
        size_t j = p + head.size();
        while (j < n && (is_token_char(buf[j]) || (s.jwt && buf[j] == '.')) && j - p <= s.max_size) ++j;
        size_t len = j - p;
        if (j == n && !final && len <= s.max_size) {
          hold = true;  // the token may go on in the next read
          break;
        }
        if (len < s.min_size || len > s.max_size) continue;
        std::string token = buf.substr(p, len);
        if (s.jwt && !jwt_like(token)) {
          wipe(token);
          continue;
        }
        auto placeholder = m_table.learn(e.name, std::move(token));
        if (!placeholder) return std::move(placeholder).error();
        out += *placeholder;
        p = j;
        copied = p;
        note(e.name);
        done = true;
        break;
      }
    }
    if (done) continue;
    if (hold) break;
    ++p;
  }
  flush();
  if (!out.empty()) m_after_token_char = is_token_char(out.back());
  // What was consumed is gone; keep (and later wipe) only what is held back.
  std::string rest = m_pending.substr(p);
  wipe(m_pending);
  m_pending = std::move(rest);
  return out;
}

util::Result<std::string> scrub_secrets(SecretScrubber& scrubber, std::string_view text) {
  std::string out = ML_TRY(scrubber.feed(text));
  out += ML_TRY(scrubber.finish());
  return out;
}

}  // namespace net
