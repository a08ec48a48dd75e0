// Internals of protocol::Client (not part of the public API). One mutex guards
// all state; the I/O thread never blocks on anything but the stream fd, and
// each channel has an eventfd that wakes the thread serving it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "guest/protocol/client.hpp"
#include "guest/protocol/frame.hpp"
#include "util/fd.hpp"

namespace protocol {

struct ChannelState {
  uint32_t id = 0;
  util::Fd wake;  // eventfd: something changed
  uint32_t send_credit = k_initial_window;
  uint32_t recv_window = k_initial_window;  // bytes the agent may still send us
  std::deque<std::pair<StreamId, std::string>> inbound;
  bool eof_out = false, eof_err = false;
  std::optional<nlohmann::json> result;  // last Control from the agent (exit/done/error)
  bool closed = false;                   // agent sent Close
};

struct Client::Impl {
  util::Fd stream;
  util::Fd wake;  // eventfd for the I/O thread
  std::mutex mu;
  std::condition_variable cv;  // session messages, hello, disconnect
  std::string outbuf;
  std::map<uint32_t, std::shared_ptr<ChannelState>> channels;
  uint32_t next_channel = 1;  // host allocates odd ids
  std::deque<nlohmann::json> session;
  std::optional<std::string> peer_hello;
  int peer_version = 0;
  std::string agent_version;
  bool connected = true;
  bool stopping = false;
  std::string disconnect_reason;
  std::thread io;

  ~Impl();
  void start();
  void stop();
  void run_io();

  // All of these take the lock themselves.
  void send(std::string bytes);
  util::Error disconnected_error();  // caller holds mu
  util::Result<std::shared_ptr<ChannelState>> open_channel(const nlohmann::json& open);
  void forget_channel(uint32_t id, bool send_close);
  util::Result<nlohmann::json> wait_session(const char* op, std::chrono::milliseconds timeout);

  // One frame from the agent into the session and channel state; an error is a protocol
  // violation (the connection fails). Caller holds mu. Also driven by
  // tests/fuzz/protocol_host_fuzz.cpp.
  util::Result<void> handle_frame(Frame f);

 private:
  void notify(ChannelState& ch);
  void fail(std::string reason);  // caller holds mu
};

// Blocking helper around one channel, used from a caller thread.
class ChannelHandle {
 public:
  ChannelHandle(std::shared_ptr<Client::Impl> impl, std::shared_ptr<ChannelState> ch)
      : m_impl(std::move(impl)), m_ch(std::move(ch)) {}
  ~ChannelHandle();
  ChannelHandle(ChannelHandle&&) = default;
  ChannelHandle& operator=(ChannelHandle&&) = delete;

  ChannelState& state() { return *m_ch; }
  int wake_fd() const { return m_ch->wake.get(); }
  std::mutex& mu() { return m_impl->mu; }
  Client::Impl& impl() { return *m_impl; }

  // Waits until at least one byte of credit is available; returns it (capped).
  util::Result<size_t> wait_credit(size_t want);
  // Sends bytes (<= credit obtained from wait_credit) as Data frames.
  void send_data(StreamId stream, std::string_view bytes);
  void send_eof(StreamId stream);
  void send_control(const nlohmann::json& j);
  void grant(uint32_t bytes);
  // Waits for the eventfd (or timeout), then drains it.
  void wait_wake(int timeout_ms);
  void drain_wake();
  // Result after the agent closed the channel.
  util::Result<nlohmann::json> result_locked();
  void set_done() { m_done = true; }

 private:
  std::shared_ptr<Client::Impl> m_impl;
  std::shared_ptr<ChannelState> m_ch;
  bool m_done = false;
};

}  // namespace protocol
