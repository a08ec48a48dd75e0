// Byte streams the proxy forwards between: a plain fd (with bytes already read
// while sniffing put back in front) or a TLS session over an fd. A buffered
// reader on top frames HTTP messages and copies bodies without parsing them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/tls_util.hpp"
#include "util/result.hpp"

namespace net {

class Stream {
 public:
  virtual ~Stream() = default;
  // Blocks until some bytes arrive; 0 at end of stream.
  virtual util::Result<size_t> read(std::span<char> buf) = 0;
  // After poll() said readable: like read(), but nullopt when only protocol records
  // (TLS session tickets, ...) arrived, instead of blocking for application data.
  virtual util::Result<std::optional<size_t>> read_ready(std::span<char> buf) {
    size_t n = ML_TRY(read(buf));
    return std::optional<size_t>(n);
  }
  virtual util::Result<void> write(std::string_view data) = 0;
  // No more data from us (FIN, or close_notify then FIN).
  virtual void shutdown_write() = 0;
  virtual int fd() const = 0;
  // Bytes readable without touching the fd (put-back bytes, decrypted TLS records).
  virtual bool has_buffered() const = 0;
};

class FdStream : public Stream {
 public:
  FdStream(int fd, std::string prefix) : m_fd(fd), m_prefix(std::move(prefix)) {}
  util::Result<size_t> read(std::span<char> buf) override;
  util::Result<void> write(std::string_view data) override;
  void shutdown_write() override;
  int fd() const override { return m_fd; }
  bool has_buffered() const override { return m_offset < m_prefix.size(); }

 private:
  int m_fd;
  std::string m_prefix;
  size_t m_offset = 0;
};

class TlsStream : public Stream {
 public:
  TlsStream(SslPtr ssl, int fd) : m_ssl(std::move(ssl)), m_fd(fd) { SSL_clear_mode(m_ssl.get(), SSL_MODE_AUTO_RETRY); }
  util::Result<size_t> read(std::span<char> buf) override;
  util::Result<std::optional<size_t>> read_ready(std::span<char> buf) override;
  util::Result<void> write(std::string_view data) override;
  void shutdown_write() override;
  int fd() const override { return m_fd; }
  bool has_buffered() const override { return SSL_pending(m_ssl.get()) > 0; }
  SSL* ssl() const { return m_ssl.get(); }

 private:
  SslPtr m_ssl;
  int m_fd;
};

// A BIO over FD that first returns the bytes of PREFIX (the sniffed ClientHello).
// The returned BIO owns a copy of PREFIX and does not close FD.
util::Result<BIO*> new_prefixed_fd_bio(int fd, std::string prefix);

class BufferedReader {
 public:
  explicit BufferedReader(Stream& stream) : m_stream(stream) {}
  Stream& stream() { return m_stream; }

  // Up to and including the blank line. nullopt at a clean end of stream before any byte.
  util::Result<std::optional<std::string>> read_head(size_t max_bytes);
  // Copies exactly N bytes to OUT.
  util::Result<void> copy_exact(uint64_t n, Stream& out, uint64_t& counted);
  // Copies a chunked body to OUT. Verbatim: sizes, extensions, data and trailers as
  // received (a bare LF accepted). Canonical (what the guest sends): parsed strictly (hex
  // size, CRLF line ends only, extensions and trailer fields well-formed) and re-emitted
  // as "<hex>\r\n<data>\r\n" ... "0\r\n\r\n" without extensions or trailers, so the
  // upstream cannot frame the body differently from us (no smuggled request inside it).
  // Decoded: only the chunks' data is written (the caller frames it anew); trailers dropped.
  enum class Chunked { Verbatim, Canonical, Decoded };
  util::Result<void> copy_chunked(Stream& out, uint64_t& counted, Chunked mode = Chunked::Verbatim);
  // Copies until end of stream.
  util::Result<void> copy_to_eof(Stream& out, uint64_t& counted);
  // Buffered bytes not consumed yet (handed over when the exchange becomes a tunnel).
  std::string take_buffered();
  bool has_buffered() const { return m_pos < m_buf.size(); }

 private:
  util::Result<bool> fill();  // false at end of stream
  util::Result<std::string> read_line(size_t max_bytes);

  Stream& m_stream;
  std::string m_buf;
  size_t m_pos = 0;
};

// Forwards both directions until both ends finished; counts bytes each way.
// a_to_b/b_to_a receive the byte counts.
util::Result<void> tunnel(Stream& a, Stream& b, uint64_t& a_to_b, uint64_t& b_to_a);

}  // namespace net
