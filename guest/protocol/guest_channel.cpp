#include "guest/protocol/guest_channel.hpp"

#include "guest/protocol/messages.hpp"

namespace protocol {

using nlohmann::json;

size_t ChannelLink::send_budget() const {
  if (m_closed || m_outbox->size() >= m_outbox_limit) return 0;
  return std::min<size_t>(m_send_credit, k_data_chunk);
}

void ChannelLink::send_data(StreamId stream, std::string_view bytes) {
  m_send_credit -= static_cast<uint32_t>(bytes.size());
  m_outbox->append(encode_data(m_id, stream, bytes));
}

void ChannelLink::send_eof(StreamId stream) { m_outbox->append(encode_eof(m_id, stream)); }

void ChannelLink::send_control(const json& j) { m_outbox->append(encode_frame(m_id, FrameType::Control, j.dump())); }

void ChannelLink::send_error(std::string_view message, std::string_view code) {
  send_control(json{{"op", "error"}, {"message", message}, {"code", code}});
}

void ChannelLink::grant(uint32_t bytes) {
  if (bytes == 0 || m_closed) return;
  m_recv_window += bytes;
  m_outbox->append(encode_credit(m_id, bytes));
}

void ChannelLink::close() {
  if (m_closed) return;
  m_closed = true;
  m_outbox->append(encode_frame(m_id, FrameType::Close, {}));
}

bool ChannelLink::take_window(size_t bytes) {
  if (bytes > m_recv_window) return false;
  m_recv_window -= static_cast<uint32_t>(bytes);
  return true;
}

namespace {

class FailedChannel : public GuestChannel {
 public:
  using GuestChannel::GuestChannel;
  void on_data(StreamId, std::string_view) override {}
  void on_eof(StreamId) override {}
  void on_abort() override {}
  void poll_fds(std::vector<pollfd>&) override {}
  void step(std::span<const pollfd>) override {}
};

}  // namespace

std::unique_ptr<GuestChannel> make_failed_channel(ChannelLink link, std::string_view message, std::string_view code) {
  auto ch = std::make_unique<FailedChannel>(link);
  ch->link().send_error(message, code);
  ch->link().close();
  return ch;
}

std::unique_ptr<GuestChannel> open_guest_channel(ChannelLink link, const json& open, const GuestContext& context) {
  auto kind = open.find("kind");
  if (kind == open.end() || !kind->is_string()) return make_failed_channel(link, "open: missing kind");
  if (*kind == "exec") return make_exec_channel(link, open, context);
  if (*kind == "put") return make_put_channel(link, open, context);
  if (*kind == "get") return make_get_channel(link, open);
  if (*kind == "tcp") return make_tcp_channel(link, open);
  if (*kind == "fuse") return make_fuse_channel(link, open, context);
  if (*kind == "snapshot") return make_snapshot_channel(link, open, context);
  if (*kind == "snapshot-list") return make_snapshot_list_channel(link, open, context);
  return make_failed_channel(link, "unknown channel kind " + kind->get<std::string>(), "unsupported");
}

}  // namespace protocol
