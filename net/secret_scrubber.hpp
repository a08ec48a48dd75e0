// SecretScrubber: what an intercepted (secret-bound) upstream sends back toward the
// guest, rewritten so that no real secret value reaches it (docs/network-policy.md,
// "Responses"):
//  - every known value (of any secret, learned ones included) becomes its placeholder;
//  - a token shaped like the value of a secret bound to this connection (same scheme
//    prefix and similar length, or a JWT for a JWT; net/secrets.hpp TokenShape) that
//    starts at a token boundary becomes a NEW placeholder, learned by the table as a
//    binding of the same hosts: an OAuth refresh's new tokens reach the guest as
//    placeholders and keep working through the proxy.
// A stream: feed() returns what may be forwarded now and holds back a possible value
// or token cut by the end of the data (at most a token's length); finish() flushes.
// Pure string processing; tested without sockets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/secrets.hpp"
#include "util/result.hpp"

namespace net {

class SecretScrubber {
 public:
  SecretScrubber(const SecretTable& table, std::string_view conn_name, uint16_t conn_port);
  ~SecretScrubber();
  SecretScrubber(const SecretScrubber&) = delete;
  SecretScrubber& operator=(const SecretScrubber&) = delete;

  // Appends DATA; returns the bytes that are safe to forward now.
  util::Result<std::string> feed(std::string_view data);
  // End of the stream: everything still held back, rewritten.
  util::Result<std::string> finish();
  // Names of the secrets whose values (or new tokens) were replaced, each once.
  const std::vector<std::string>& replaced() const { return m_replaced; }
  bool active() const { return !m_entries.empty(); }

 private:
  util::Result<std::string> process(bool final);
  void note(const std::string& name);

  const SecretTable& m_table;
  std::vector<ScanEntry> m_entries;
  bool m_first[256] = {};  // bytes a value or a token shape can start with
  std::string m_pending;
  bool m_after_token_char = false;  // the last byte forwarded was a token character
  std::vector<std::string> m_replaced;
};

// One whole text (a header value, a made-up body): feed + finish.
util::Result<std::string> scrub_secrets(SecretScrubber& scrubber, std::string_view text);

}  // namespace net
