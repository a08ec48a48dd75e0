// Frame codec: one byte stream carries frames
//   u32 channel | u8 type | u8 flags(0) | u16 reserved(0) | u32 length | payload
// (little-endian, 12-byte header). The decoder parses from memory and rejects
// anything malformed; it never trusts a length beyond k_max_payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace protocol {

inline constexpr size_t k_header_size = 12;
inline constexpr size_t k_max_payload = size_t{1} << 20;  // any frame
inline constexpr size_t k_data_chunk = size_t{32} << 10;  // data frames we send
inline constexpr uint32_t k_initial_window = 256u << 10;  // per channel and direction
inline constexpr uint32_t k_session_channel = 0;

enum class FrameType : uint8_t {
  Hello = 1,    // channel 0, JSON {"version", "agent"|"host"}
  Control = 2,  // JSON {"op": ...}; channel 0: session ops, channel N: channel ops
  Open = 3,     // channel N (host-allocated, odd), JSON {"kind": ...}
  Data = 4,     // channel N: u8 stream + bytes; consumes credit (bytes only)
  Eof = 5,      // channel N: u8 stream; no more Data on that stream
  Credit = 6,   // channel N: u32 bytes the receiver may additionally accept
  Close = 7,    // channel N: sender is done with the channel (empty)
};

// Streams inside a channel (first byte of Data/Eof payloads).
enum class StreamId : uint8_t { In = 0, Out = 1, Err = 2 };

struct Frame {
  uint32_t channel = 0;
  FrameType type = FrameType::Control;
  std::string payload;
};

std::string encode_frame(uint32_t channel, FrameType type, std::string_view payload);
std::string encode_data(uint32_t channel, StreamId stream, std::string_view bytes);
std::string encode_eof(uint32_t channel, StreamId stream);
std::string encode_credit(uint32_t channel, uint32_t bytes);

bool is_known_type(uint8_t type);

// Incremental decoder: feed bytes as they arrive, then pop frames.
class FrameDecoder {
 public:
  // Appends bytes and decodes all complete frames. After an error the decoder
  // stays failed (the stream cannot be resynchronised).
  util::Result<void> feed(std::string_view bytes);
  std::optional<Frame> pop();
  size_t buffered() const { return m_buf.size(); }

 private:
  std::string m_buf;
  std::deque<Frame> m_frames;
  bool m_failed = false;
};

// Helpers to parse typed payloads; errors are ErrorCode::Guest protocol errors.
util::Result<std::pair<StreamId, std::string_view>> parse_data(const Frame& f);
util::Result<StreamId> parse_eof(const Frame& f);
util::Result<uint32_t> parse_credit(const Frame& f);

}  // namespace protocol
