// Text that may hold bytes a guest chose (DNS names, Host headers, SNI, console output,
// error messages), made safe to show on a terminal: nothing in it can move the cursor,
// start an escape sequence, forge a line or reorder text.
//   - printable ASCII is kept, except '\' which becomes "\\";
//   - valid UTF-8 of printable characters is kept (names, accents, box drawing);
//   - C0 controls, DEL, C1 controls (U+0080..U+009F) and the bidirectional overrides
//     (U+202A..U+202E, U+2066..U+2069, "Trojan Source") become visible escapes:
//     \n \r \t \e \xNN \u{NNNN};
//   - bytes that are not valid UTF-8 become \xNN.
// With Newlines::Keep, '\n' and '\t' pass through (multi-line logs); '\r' never does.
// Machine-readable output (--json) never goes through here: it stays exact.
#pragma once

#include <string>
#include <string_view>

namespace util {

enum class Newlines { Escape, Keep };

std::string terminal_text(std::string_view text, Newlines newlines = Newlines::Escape);

// The same for a stream read in chunks: a UTF-8 sequence split between two chunks is
// held back until its end arrives (or finish() shows it as bytes).
class TerminalTextStream {
 public:
  explicit TerminalTextStream(Newlines newlines) : m_newlines(newlines) {}
  std::string feed(std::string_view chunk);
  std::string finish();

 private:
  Newlines m_newlines;
  std::string m_pending;
};

}  // namespace util
