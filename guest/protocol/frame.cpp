#include "guest/protocol/frame.hpp"

#include <cstring>

namespace protocol {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

util::Error protocol_error(std::string message) {
  return util::make_error(util::ErrorCode::Guest, "protocol error: " + std::move(message));
}

std::string header(uint32_t channel, FrameType type, size_t length) {
  std::string out;
  out.reserve(k_header_size + length);
  put_u32(out, channel);
  out.push_back(static_cast<char>(type));
  out.append(3, '\0');
  put_u32(out, static_cast<uint32_t>(length));
  return out;
}

}  // namespace

bool is_known_type(uint8_t type) { return type >= 1 && type <= 7; }

std::string encode_frame(uint32_t channel, FrameType type, std::string_view payload) {
  std::string out = header(channel, type, payload.size());
  out.append(payload);
  return out;
}

std::string encode_data(uint32_t channel, StreamId stream, std::string_view bytes) {
  std::string out = header(channel, FrameType::Data, bytes.size() + 1);
  out.push_back(static_cast<char>(stream));
  out.append(bytes);
  return out;
}

std::string encode_eof(uint32_t channel, StreamId stream) {
  std::string out = header(channel, FrameType::Eof, 1);
  out.push_back(static_cast<char>(stream));
  return out;
}

std::string encode_credit(uint32_t channel, uint32_t bytes) {
  std::string out = header(channel, FrameType::Credit, 4);
  put_u32(out, bytes);
  return out;
}

util::Result<void> FrameDecoder::feed(std::string_view bytes) {
  if (m_failed) return protocol_error("stream already failed");
  m_buf.append(bytes);
  size_t pos = 0;
  while (m_buf.size() - pos >= k_header_size) {
    const char* h = m_buf.data() + pos;
    uint32_t channel = get_u32(h);
    auto type = static_cast<uint8_t>(h[4]);
    uint32_t length = get_u32(h + 8);
    if (!is_known_type(type)) {
      m_failed = true;
      return protocol_error("unknown frame type " + std::to_string(type));
    }
    if (h[5] != 0 || h[6] != 0 || h[7] != 0) {
      m_failed = true;
      return protocol_error("nonzero reserved header bytes");
    }
    if (length > k_max_payload) {
      m_failed = true;
      return protocol_error("frame length " + std::to_string(length) + " exceeds limit");
    }
    if (m_buf.size() - pos - k_header_size < length) break;
    Frame f;
    f.channel = channel;
    f.type = static_cast<FrameType>(type);
    f.payload.assign(h + k_header_size, length);
    m_frames.push_back(std::move(f));
    pos += k_header_size + length;
  }
  m_buf.erase(0, pos);
  return util::ok();
}

std::optional<Frame> FrameDecoder::pop() {
  if (m_frames.empty()) return std::nullopt;
  Frame f = std::move(m_frames.front());
  m_frames.pop_front();
  return f;
}

util::Result<std::pair<StreamId, std::string_view>> parse_data(const Frame& f) {
  if (f.payload.empty()) return protocol_error("empty data frame");
  auto s = static_cast<uint8_t>(f.payload[0]);
  if (s > 2) return protocol_error("bad stream id " + std::to_string(s));
  return std::pair<StreamId, std::string_view>(static_cast<StreamId>(s), std::string_view(f.payload).substr(1));
}

util::Result<StreamId> parse_eof(const Frame& f) {
  if (f.payload.size() != 1) return protocol_error("bad eof frame");
  auto s = static_cast<uint8_t>(f.payload[0]);
  if (s > 2) return protocol_error("bad stream id " + std::to_string(s));
  return static_cast<StreamId>(s);
}

util::Result<uint32_t> parse_credit(const Frame& f) {
  if (f.payload.size() != 4) return protocol_error("bad credit frame");
  uint32_t v = get_u32(f.payload.data());
  if (v == 0 || v > (1u << 30)) return protocol_error("bad credit " + std::to_string(v));
  return v;
}

}  // namespace protocol
