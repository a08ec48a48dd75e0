// FUSE kernel wire format (the ABI of <linux/fuse.h>, not libfuse): splitting a
// byte stream into messages, decoding a request's header and arguments with
// bounds checks, and encoding replies. Every length comes from the untrusted
// guest, so every read is checked against the message size.
#pragma once

#include <linux/fuse.h>  // linux-only-ok: the guest kernel's FUSE wire ABI (a header, no call)

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace workspace {

// Largest message either side accepts: a 1 MiB write plus headers.
inline constexpr size_t k_max_message = (size_t{1} << 20) + 4096;
inline constexpr uint32_t k_max_write = uint32_t{1} << 20;

// Reassembles whole messages from a byte stream; each starts with a u32 length
// that covers the whole message (fuse_in_header.len / fuse_out_header.len).
class MessageSplitter {
 public:
  // Fails (and stays failed) on a length below MIN or above k_max_message.
  util::Result<void> feed(std::string_view bytes, size_t min_len);
  std::optional<std::string> pop();
  size_t buffered() const { return m_buf.size() - m_pos; }

 private:
  std::string m_buf;
  size_t m_pos = 0;
  bool m_failed = false;
};

// A request's arguments, consumed front to back.
class ArgReader {
 public:
  explicit ArgReader(std::string_view body) : m_body(body) {}
  // The next sizeof(T) bytes as T, or nullopt when the message is short.
  template <class T>
  std::optional<T> take() {
    if (m_body.size() < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, m_body.data(), sizeof(T));
    m_body.remove_prefix(sizeof(T));
    return v;
  }
  // A NUL-terminated string (a name or a symlink target).
  std::optional<std::string_view> take_cstring();
  // N raw bytes (write payload, xattr value).
  std::optional<std::string_view> take_bytes(size_t n);
  std::string_view rest() const { return m_body; }

 private:
  std::string_view m_body;
};

struct Request {
  fuse_in_header header{};
  std::string_view body;  // the bytes after the header (header.len - sizeof header)
};

// Checks the header against the message size. Errors are ErrorCode::Guest.
util::Result<Request> parse_request(std::string_view message);

std::string encode_reply(uint64_t unique, std::string_view payload);
std::string encode_error(uint64_t unique, int err);  // err > 0 (an errno value)
template <class T>
std::string encode_struct(uint64_t unique, const T& out) {
  return encode_reply(unique, std::string_view(reinterpret_cast<const char*>(&out), sizeof out));
}

// FUSE opcode name for logs ("LOOKUP"), or "OP<n>".
std::string opcode_name(uint32_t opcode);

}  // namespace workspace
