#include "net/proxy_stream.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "util/fd.hpp"
#include "util/descriptors.hpp"

namespace net {

namespace {

// One read's worth: a TLS record's size. Every flow thread holds one on its stack while it
// tunnels and one in its reader, so this times the flow cap is memory the guest can pin.
constexpr size_t k_chunk = 16 * 1024;

// send() without SIGPIPE; falls back to write() for non-sockets.
ssize_t send_some(int fd, const char* data, size_t len) {
  ssize_t n = util::retry_eintr([&] { return util::send_nosignal(fd, data, len); });
  if (n < 0 && errno == ENOTSOCK) n = util::retry_eintr([&] { return ::write(fd, data, len); });
  return n;
}

util::Result<void> send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send_some(fd, data.data(), data.size());
    if (n < 0) return util::sys_error("send");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return util::ok();
}

struct PrefixedFd {
  int fd;
  std::string prefix;
  size_t offset = 0;
};

int bio_write(BIO* bio, const char* data, int len) {
  auto* p = static_cast<PrefixedFd*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = send_some(p->fd, data, static_cast<size_t>(len));
  return n < 0 ? -1 : static_cast<int>(n);
}

int bio_read(BIO* bio, char* out, int len) {
  auto* p = static_cast<PrefixedFd*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (p->offset < p->prefix.size()) {
    size_t n = std::min(p->prefix.size() - p->offset, static_cast<size_t>(len));
    std::copy_n(p->prefix.data() + p->offset, n, out);
    p->offset += n;
    return static_cast<int>(n);
  }
  ssize_t n = util::retry_eintr([&] { return ::read(p->fd, out, static_cast<size_t>(len)); });
  return n < 0 ? -1 : static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  auto* p = static_cast<PrefixedFd*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return p ? static_cast<long>(p->prefix.size() - p->offset) : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 0);
  BIO_set_data(bio, nullptr);
  return 1;
}

int bio_destroy(BIO* bio) {
  delete static_cast<PrefixedFd*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

BIO_METHOD* prefixed_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "matchlock prefixed fd");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    return m;
  }();
  return method;
}

}  // namespace

util::Result<BIO*> new_prefixed_fd_bio(int fd, std::string prefix) {
  BIO* bio = BIO_new(prefixed_method());
  if (!bio) return tls_error("BIO_new");
  BIO_set_data(bio, new PrefixedFd{fd, std::move(prefix)});
  BIO_set_init(bio, 1);
  return bio;
}

util::Result<size_t> FdStream::read(std::span<char> buf) {
  if (m_offset < m_prefix.size()) {
    size_t n = std::min(buf.size(), m_prefix.size() - m_offset);
    std::copy_n(m_prefix.data() + m_offset, n, buf.data());
    m_offset += n;
    return n;
  }
  return util::read_some(m_fd, buf);
}

util::Result<void> FdStream::write(std::string_view data) { return send_all(m_fd, data); }

void FdStream::shutdown_write() { ::shutdown(m_fd, SHUT_WR); }

util::Result<std::optional<size_t>> TlsStream::read_ready(std::span<char> buf) {
  size_t n = 0;
  errno = 0;
  if (SSL_read_ex(m_ssl.get(), buf.data(), buf.size(), &n) == 1) return std::optional<size_t>(n);
  int err = SSL_get_error(m_ssl.get(), 0);
  if (err == SSL_ERROR_ZERO_RETURN) return std::optional<size_t>(0);
  if (err == SSL_ERROR_WANT_READ) return std::optional<size_t>();  // a non-data record only
  if (err == SSL_ERROR_SYSCALL && errno == 0) return std::optional<size_t>(0);
  return tls_error("TLS read");
}

util::Result<size_t> TlsStream::read(std::span<char> buf) {
  while (true) {  // blocking fd: loops only past non-data records
    auto n = ML_TRY(read_ready(buf));
    if (n) return *n;
  }
}

util::Result<void> TlsStream::write(std::string_view data) {
  while (!data.empty()) {
    size_t n = 0;
    if (SSL_write_ex(m_ssl.get(), data.data(), data.size(), &n) != 1) return tls_error("TLS write");
    data.remove_prefix(n);
  }
  return util::ok();
}

void TlsStream::shutdown_write() {
  SSL_shutdown(m_ssl.get());
  ::shutdown(m_fd, SHUT_WR);
}

util::Result<bool> BufferedReader::fill() {
  if (m_pos > 0) {  // drop what was consumed, so the buffer holds only unread bytes
    m_buf.erase(0, m_pos);
    m_pos = 0;
    if (m_buf.capacity() > 2 * k_chunk) m_buf.shrink_to_fit();  // a large head is not kept for the flow's life
  }
  size_t old = m_buf.size();
  m_buf.resize(old + k_chunk);  // read straight into the buffer
  auto n = m_stream.read(std::span<char>(m_buf.data() + old, k_chunk));
  m_buf.resize(old + (n ? *n : 0));
  if (!n) return std::move(n).error();
  return *n > 0;
}

util::Result<std::optional<std::string>> BufferedReader::read_head(size_t max_bytes) {
  // How many bytes from m_pos on were searched already. Relative to m_pos, because fill()
  // moves the unread bytes to the front of the buffer.
  size_t scanned = 0;
  while (true) {
    size_t end = m_buf.find("\r\n\r\n", m_pos + (scanned > 3 ? scanned - 3 : 0));
    if (end != std::string::npos) {
      std::string head = m_buf.substr(m_pos, end + 4 - m_pos);
      m_pos = end + 4;
      return std::optional<std::string>(std::move(head));
    }
    scanned = m_buf.size() - m_pos;
    if (m_buf.size() - m_pos > max_bytes)
      return util::make_error(util::ErrorCode::Network,
                              "HTTP head larger than " + std::to_string(max_bytes) + " bytes");
    bool more = ML_TRY(fill());
    if (!more) {
      if (m_pos == m_buf.size()) return std::optional<std::string>();
      return util::make_error(util::ErrorCode::Network, "connection closed inside an HTTP head");
    }
  }
}

util::Result<std::string> BufferedReader::read_line(size_t max_bytes) {
  while (true) {
    size_t nl = m_buf.find('\n', m_pos);
    if (nl != std::string::npos) {
      std::string line = m_buf.substr(m_pos, nl + 1 - m_pos);
      m_pos = nl + 1;
      return line;
    }
    if (m_buf.size() - m_pos > max_bytes) return util::make_error(util::ErrorCode::Network, "chunk line too long");
    bool more = ML_TRY(fill());
    if (!more) return util::make_error(util::ErrorCode::Network, "connection closed inside a chunked body");
  }
}

util::Result<void> BufferedReader::copy_exact(uint64_t n, Stream& out, uint64_t& counted) {
  while (n > 0) {
    if (m_pos == m_buf.size()) {
      bool more = ML_TRY(fill());
      if (!more) return util::make_error(util::ErrorCode::Network, "connection closed inside a body");
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, m_buf.size() - m_pos));
    ML_TRY(out.write(std::string_view(m_buf).substr(m_pos, take)));
    m_pos += take;
    n -= take;
    counted += take;
  }
  return util::ok();
}

namespace {

util::Error bad_chunk(std::string what) { return util::make_error(util::ErrorCode::Network, "chunked body: " + what); }

bool is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A strict chunk-size line: HEX [;ext[=value]]... CRLF (RFC 9112 §7.1, no whitespace).
bool canonical_size_line(std::string_view line, size_t digits) {
  if (!line.ends_with("\r\n")) return false;
  std::string_view ext = line.substr(digits, line.size() - 2 - digits);
  while (!ext.empty()) {
    if (ext.front() != ';' || ext.size() < 2) return false;
    ext.remove_prefix(1);
    size_t i = 0;
    while (i < ext.size() && (is_tchar(ext[i]) || ext[i] == '=' || ext[i] == '"')) ++i;
    if (i == 0) return false;
    ext.remove_prefix(i);
  }
  return true;
}

// A trailer field line: token ':' value CRLF, no control bytes.
bool canonical_trailer_line(std::string_view line) {
  if (!line.ends_with("\r\n")) return false;
  auto colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (size_t i = 0; i < colon; ++i)
    if (!is_tchar(line[i])) return false;
  for (size_t i = colon + 1; i + 2 < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

util::Result<void> BufferedReader::copy_chunked(Stream& out, uint64_t& counted, Chunked mode) {
  const bool canonical = mode == Chunked::Canonical;
  const bool decoded = mode == Chunked::Decoded;
  while (true) {
    std::string line = ML_TRY(read_line(4096));
    counted += line.size();
    uint64_t size = 0;
    size_t digits = 0;
    for (char c : line) {
      int v = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (v < 0) break;
      if (++digits > 15) return bad_chunk("chunk size too large");
      size = size * 16 + static_cast<uint64_t>(v);
    }
    if (digits == 0) return bad_chunk("bad chunk size line");
    if (canonical && !canonical_size_line(line, digits)) return bad_chunk("malformed chunk size line");
    if (canonical) {
      char hex[24];
      std::snprintf(hex, sizeof hex, "%llx\r\n", static_cast<unsigned long long>(size));
      if (size) ML_TRY(out.write(hex));
    } else if (!decoded) {
      ML_TRY(out.write(line));
    }
    if (size == 0) break;
    ML_TRY(copy_exact(size, out, counted));
    auto crlf_line = read_line(4);
    if (!crlf_line) return std::move(crlf_line).error();
    std::string_view crlf = *crlf_line;
    if (crlf != "\r\n" && (canonical || crlf != "\n")) return bad_chunk("chunk not followed by CRLF");
    if (!decoded) ML_TRY(out.write(canonical ? std::string_view("\r\n") : crlf));
    counted += crlf.size();
  }
  while (true) {  // trailer section, ends with an empty line
    auto read = read_line(k_chunk);
    if (!read) return std::move(read).error();
    std::string_view line = *read;
    counted += line.size();
    bool end = line == "\r\n" || (!canonical && line == "\n");
    if (canonical && !end && !canonical_trailer_line(line)) return bad_chunk("malformed trailer field");
    if (!canonical && !decoded) ML_TRY(out.write(line));
    if (end) return canonical ? out.write("0\r\n\r\n") : util::ok();
  }
}

util::Result<void> BufferedReader::copy_to_eof(Stream& out, uint64_t& counted) {
  while (true) {
    if (m_pos < m_buf.size()) {
      ML_TRY(out.write(std::string_view(m_buf).substr(m_pos)));
      counted += m_buf.size() - m_pos;
      m_pos = m_buf.size();
    }
    bool more = ML_TRY(fill());
    if (!more) return util::ok();
  }
}

std::string BufferedReader::take_buffered() {
  std::string rest = m_buf.substr(m_pos);
  m_buf.clear();
  m_pos = 0;
  return rest;
}

util::Result<void> tunnel(Stream& a, Stream& b, uint64_t& a_to_b, uint64_t& b_to_a) {
  struct Dir {
    Stream& from;
    Stream& to;
    uint64_t& count;
    bool done = false;
  };
  Dir dirs[2] = {{a, b, a_to_b}, {b, a, b_to_a}};
  char buf[k_chunk];
  while (!dirs[0].done || !dirs[1].done) {
    pollfd fds[2];
    nfds_t nfds = 0;
    int map[2] = {-1, -1};
    bool ready[2] = {false, false};
    bool hangup[2] = {false, false};  // the peer closed both ways: nothing can be sent to it either
    bool any_buffered = false;
    for (int i = 0; i < 2; ++i) {
      if (dirs[i].done) continue;
      if (dirs[i].from.has_buffered()) {
        ready[i] = any_buffered = true;
        continue;
      }
      map[i] = static_cast<int>(nfds);
      fds[nfds++] = {dirs[i].from.fd(), POLLIN, 0};
    }
    if (!any_buffered) {
      int r = util::retry_eintr([&] { return ::poll(fds, nfds, -1); });
      if (r < 0) return util::sys_error("poll");
      for (int i = 0; i < 2; ++i) {
        if (map[i] >= 0 && fds[map[i]].revents) ready[i] = true;
        if (map[i] >= 0 && (fds[map[i]].revents & POLLHUP)) hangup[i] = true;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (!ready[i]) continue;
      auto n = dirs[i].from.read_ready(buf);
      if (n && !*n) continue;  // only a protocol record arrived
      if (!n || **n == 0) {
        dirs[i].done = true;
        dirs[i].to.shutdown_write();
        if (!n) return std::move(n).error();
        // A peer gone both ways (the guest's flow reset or timed out, an upstream that closed
        // after our FIN) can take nothing more: waiting for the other side would hold the
        // flow's thread until that side closes, which may be never.
        if (hangup[i]) return util::ok();
        continue;
      }
      ML_TRY(dirs[i].to.write(std::string_view(buf, **n)));
      dirs[i].count += **n;
    }
  }
  return util::ok();
}

}  // namespace net
