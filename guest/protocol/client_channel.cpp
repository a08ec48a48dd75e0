// ChannelHandle (blocking per-channel helper), file transfer and raw streams.
#include <poll.h>
#include <unistd.h>

#include "guest/protocol/client_impl.hpp"
#include "guest/protocol/messages.hpp"

namespace protocol {

using nlohmann::json;

ChannelHandle::~ChannelHandle() {
  if (m_impl && m_ch) m_impl->forget_channel(m_ch->id, m_done ? false : true);
}

void ChannelHandle::drain_wake() {
  uint64_t v;
  ssize_t r = ::read(m_ch->wake.get(), &v, sizeof v);
  (void)r;
}

void ChannelHandle::wait_wake(int timeout_ms) {
  pollfd p{m_ch->wake.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) drain_wake();
}

util::Result<size_t> ChannelHandle::wait_credit(size_t want) {
  for (;;) {
    {
      std::lock_guard lock(m_impl->mu);
      if (!m_impl->connected) return m_impl->disconnected_error();
      if (m_ch->closed) return protocol_error("agent closed the channel");
      if (m_ch->send_credit > 0) return std::min<size_t>({want, m_ch->send_credit, k_data_chunk});
    }
    wait_wake(-1);
  }
}

void ChannelHandle::send_data(StreamId stream, std::string_view bytes) {
  {
    std::lock_guard lock(m_impl->mu);
    m_ch->send_credit -= static_cast<uint32_t>(bytes.size());
  }
  m_impl->send(encode_data(m_ch->id, stream, bytes));
}

void ChannelHandle::send_eof(StreamId stream) { m_impl->send(encode_eof(m_ch->id, stream)); }

void ChannelHandle::send_control(const json& j) { m_impl->send(encode_frame(m_ch->id, FrameType::Control, j.dump())); }

void ChannelHandle::grant(uint32_t bytes) {
  if (bytes == 0) return;
  {
    std::lock_guard lock(m_impl->mu);
    m_ch->recv_window += bytes;
  }
  m_impl->send(encode_credit(m_ch->id, bytes));
}

util::Result<json> ChannelHandle::result_locked() {
  if (!m_ch->result) return protocol_error("agent closed the channel without a result");
  ML_TRY(channel_result_from_json(*m_ch->result));
  return *m_ch->result;
}

util::Result<void> Client::put_file(const std::string& guest_path, std::string_view data, int mode,
                                    const std::string& user) {
  std::shared_ptr<Impl> impl = m_impl;
  json open = {{"kind", "put"}, {"path", guest_path}, {"mode", mode}};
  if (!user.empty()) open["user"] = user;
  auto st = ML_TRY(impl->open_channel(open));
  ChannelHandle ch(impl, st);
  while (!data.empty()) {
    auto n = ch.wait_credit(data.size());
    if (!n) break;  // the agent gave up (error result below) or disconnected
    ch.send_data(StreamId::In, data.substr(0, *n));
    data.remove_prefix(*n);
  }
  if (data.empty()) ch.send_eof(StreamId::In);
  for (;;) {
    {
      std::lock_guard lock(ch.mu());
      if (st->closed) {
        ch.set_done();
        auto r = ch.result_locked();
        if (!r) return std::move(r).error().context("put " + guest_path);
        return util::ok();
      }
      if (!impl->connected) return impl->disconnected_error().context("put " + guest_path);
    }
    ch.wait_wake(-1);
  }
}

util::Result<std::string> Client::get_file(const std::string& guest_path, size_t max_size) {
  std::shared_ptr<Impl> impl = m_impl;
  auto st = ML_TRY(
      impl->open_channel(json{{"kind", "get"}, {"path", guest_path}, {"max_size", static_cast<uint64_t>(max_size)}}));
  ChannelHandle ch(impl, st);
  std::string out;
  for (;;) {
    uint32_t consumed = 0;
    bool closed;
    {
      std::lock_guard lock(ch.mu());
      while (!st->inbound.empty()) {
        consumed += static_cast<uint32_t>(st->inbound.front().second.size());
        out += st->inbound.front().second;
        st->inbound.pop_front();
      }
      closed = st->closed;
      if (!closed && !impl->connected) return impl->disconnected_error().context("get " + guest_path);
    }
    if (out.size() > max_size)
      return util::make_error(util::ErrorCode::Guest, "get " + guest_path + ": file too large");
    if (closed) {
      std::lock_guard lock(ch.mu());
      ch.set_done();
      auto r = ch.result_locked();
      if (!r) return std::move(r).error().context("get " + guest_path);
      return out;
    }
    ch.grant(consumed);
    ch.wait_wake(-1);
  }
}

struct Stream::State {
  std::unique_ptr<ChannelHandle> handle;
  std::mutex read_mu;
};

Stream::Stream(std::shared_ptr<Client::Impl> client, std::shared_ptr<State> state)
    : m_client(std::move(client)), m_state(std::move(state)) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() = default;

util::Result<Stream> Client::open_stream(std::string_view kind, int port) {
  auto st = ML_TRY(m_impl->open_channel(json{{"kind", kind}, {"port", port}}));
  auto state = std::make_shared<Stream::State>();
  state->handle = std::make_unique<ChannelHandle>(m_impl, st);
  return Stream(m_impl, std::move(state));
}

util::Result<void> Stream::write(std::string_view data) {
  ChannelHandle& ch = *m_state->handle;
  while (!data.empty()) {
    size_t n = ML_TRY(ch.wait_credit(data.size()));
    ch.send_data(StreamId::In, data.substr(0, n));
    data.remove_prefix(n);
  }
  return util::ok();
}

util::Result<void> Stream::close_write() {
  m_state->handle->send_eof(StreamId::In);
  return util::ok();
}

util::Result<std::optional<std::string>> Stream::read() {
  std::lock_guard read_lock(m_state->read_mu);
  ChannelHandle& ch = *m_state->handle;
  for (;;) {
    {
      std::lock_guard lock(ch.mu());
      ChannelState& st = ch.state();
      if (!st.inbound.empty()) {
        std::string s = std::move(st.inbound.front().second);
        st.inbound.pop_front();
        st.recv_window += static_cast<uint32_t>(s.size());
        ch.impl().outbuf.append(encode_credit(st.id, static_cast<uint32_t>(s.size())));
        uint64_t one = 1;
        ssize_t r = ::write(ch.impl().wake.get(), &one, sizeof one);
        (void)r;
        return std::optional<std::string>(std::move(s));
      }
      if (st.eof_out || st.closed) {
        if (st.result && op_of(*st.result) == "error")
          return util::make_error(util::ErrorCode::Guest, "guest stream: " + message_of(*st.result, ""));
        return std::optional<std::string>();
      }
      if (!ch.impl().connected) return ch.impl().disconnected_error();
    }
    ch.wait_wake(-1);
  }
}

}  // namespace protocol
