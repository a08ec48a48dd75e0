#include "workspace/fuse_wire.hpp"

namespace workspace {

namespace {

util::Error wire_error(std::string message) {
  return util::make_error(util::ErrorCode::Guest, "fuse protocol error: " + std::move(message));
}

}  // namespace

util::Result<void> MessageSplitter::feed(std::string_view bytes, size_t min_len) {
  if (m_failed) return wire_error("stream already failed");
  if (m_pos > 0 && m_pos == m_buf.size()) {
    m_buf.clear();
    m_pos = 0;
  }
  m_buf.append(bytes);
  // Validate every complete length prefix now, so a bad length fails at once.
  size_t p = m_pos;
  while (m_buf.size() - p >= sizeof(uint32_t)) {
    uint32_t len;
    std::memcpy(&len, m_buf.data() + p, sizeof len);
    if (len < min_len || len > k_max_message) {
      m_failed = true;
      return wire_error("message length " + std::to_string(len) + " out of range");
    }
    if (m_buf.size() - p < len) break;
    p += len;
  }
  return util::ok();
}

std::optional<std::string> MessageSplitter::pop() {
  if (m_failed || m_buf.size() - m_pos < sizeof(uint32_t)) return std::nullopt;
  uint32_t len;
  std::memcpy(&len, m_buf.data() + m_pos, sizeof len);
  if (m_buf.size() - m_pos < len) return std::nullopt;
  std::string msg = m_buf.substr(m_pos, len);
  m_pos += len;
  if (m_pos > (size_t{1} << 20)) {  // compact now and then
    m_buf.erase(0, m_pos);
    m_pos = 0;
  }
  return msg;
}

std::optional<std::string_view> ArgReader::take_cstring() {
  size_t nul = m_body.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  std::string_view s = m_body.substr(0, nul);
  m_body.remove_prefix(nul + 1);
  return s;
}

std::optional<std::string_view> ArgReader::take_bytes(size_t n) {
  if (m_body.size() < n) return std::nullopt;
  std::string_view s = m_body.substr(0, n);
  m_body.remove_prefix(n);
  return s;
}

util::Result<Request> parse_request(std::string_view message) {
  Request r;
  if (message.size() < sizeof r.header) return wire_error("short request");
  std::memcpy(&r.header, message.data(), sizeof r.header);
  if (r.header.len != message.size()) return wire_error("request length does not match its header");
  r.body = message.substr(sizeof r.header);
  return r;
}

std::string encode_reply(uint64_t unique, std::string_view payload) {
  fuse_out_header h{};
  h.len = static_cast<uint32_t>(sizeof h + payload.size());
  h.error = 0;
  h.unique = unique;
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(payload);
  return out;
}

std::string encode_error(uint64_t unique, int err) {
  fuse_out_header h{};
  h.len = sizeof h;
  h.error = -err;
  h.unique = unique;
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

std::string opcode_name(uint32_t opcode) {
  switch (opcode) {
    case FUSE_LOOKUP:
      return "LOOKUP";
    case FUSE_FORGET:
      return "FORGET";
    case FUSE_GETATTR:
      return "GETATTR";
    case FUSE_SETATTR:
      return "SETATTR";
    case FUSE_READLINK:
      return "READLINK";
    case FUSE_SYMLINK:
      return "SYMLINK";
    case FUSE_MKNOD:
      return "MKNOD";
    case FUSE_MKDIR:
      return "MKDIR";
    case FUSE_UNLINK:
      return "UNLINK";
    case FUSE_RMDIR:
      return "RMDIR";
    case FUSE_RENAME:
      return "RENAME";
    case FUSE_LINK:
      return "LINK";
    case FUSE_OPEN:
      return "OPEN";
    case FUSE_READ:
      return "READ";
    case FUSE_WRITE:
      return "WRITE";
    case FUSE_STATFS:
      return "STATFS";
    case FUSE_RELEASE:
      return "RELEASE";
    case FUSE_FSYNC:
      return "FSYNC";
    case FUSE_FLUSH:
      return "FLUSH";
    case FUSE_INIT:
      return "INIT";
    case FUSE_OPENDIR:
      return "OPENDIR";
    case FUSE_READDIR:
      return "READDIR";
    case FUSE_RELEASEDIR:
      return "RELEASEDIR";
    case FUSE_CREATE:
      return "CREATE";
    case FUSE_READDIRPLUS:
      return "READDIRPLUS";
    case FUSE_RENAME2:
      return "RENAME2";
    default:
      return "OP" + std::to_string(opcode);
  }
}

}  // namespace workspace
