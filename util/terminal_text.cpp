#include "util/terminal_text.hpp"

#include <cstdint>
#include <cstdio>

namespace util {

namespace {

void hex_byte(std::string& out, unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  out += buf;
}

// Length of the UTF-8 sequence starting with LEAD (0 when LEAD cannot start one).
size_t sequence_length(unsigned char lead) {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// Decodes the sequence at TEXT (of LEN bytes); -1 when malformed (overlong, surrogate,
// beyond U+10FFFF, bad continuation).
int32_t decode(std::string_view text, size_t len) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  int32_t cp = b(0) & (0x7f >> len);
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) return -1;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  static constexpr int32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < k_min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}

bool is_unsafe_code_point(int32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Appends TEXT escaped; returns how many trailing bytes form an incomplete sequence that
// was NOT consumed (only when HOLD_TAIL; otherwise everything is consumed).
size_t append_escaped(std::string& out, std::string_view text, Newlines newlines, bool hold_tail) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += c == '\\' ? "\\\\" : std::string(1, static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x80) {
      if ((c == '\n' || c == '\t') && newlines == Newlines::Keep)
        out += static_cast<char>(c);
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c == 0x1b)
        out += "\\e";
      else
        hex_byte(out, c);
      ++i;
      continue;
    }
    size_t len = sequence_length(c);
    if (len && i + len > text.size() && hold_tail) {
      bool prefix_ok = true;  // the bytes so far could still become a valid sequence
      for (size_t k = i + 1; k < text.size(); ++k) prefix_ok = prefix_ok && (text[k] & 0xc0) == 0x80;
      if (prefix_ok) return text.size() - i;
    }
    int32_t cp = len && i + len <= text.size() ? decode(text.substr(i), len) : -1;
    if (cp < 0) {
      hex_byte(out, c);
      ++i;
      continue;
    }
    if (is_unsafe_code_point(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return 0;
}

}  // namespace

std::string terminal_text(std::string_view text, Newlines newlines) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text, newlines, false);
  return out;
}

std::string TerminalTextStream::feed(std::string_view chunk) {
  m_pending.append(chunk);
  std::string out;
  size_t held = append_escaped(out, m_pending, m_newlines, true);
  m_pending.erase(0, m_pending.size() - held);
  return out;
}

std::string TerminalTextStream::finish() {
  std::string out;
  append_escaped(out, m_pending, m_newlines, false);
  m_pending.clear();
  return out;
}

}  // namespace util
