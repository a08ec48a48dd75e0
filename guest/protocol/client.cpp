#include "guest/protocol/client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/protocol/client_impl.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/version.hpp"

namespace protocol {

using nlohmann::json;

namespace {

constexpr size_t k_max_pending_session = 64;

void signal_eventfd(int fd) {
  uint64_t one = 1;
  ssize_t r = ::write(fd, &one, sizeof one);
  (void)r;
}

util::Result<util::Fd> make_eventfd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return util::sys_error("eventfd");
  return util::Fd(fd);
}

}  // namespace

Client::Impl::~Impl() { stop(); }

void Client::Impl::start() {
  io = std::thread([this] { run_io(); });
}

void Client::Impl::stop() {
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  if (wake) signal_eventfd(wake.get());
  if (io.joinable()) io.join();
  // Closing the stream tells the agent we are gone; callers still inside
  // exec() on other threads see "disconnected".
  std::lock_guard lock(mu);
  fail("client closed");
  stream.reset();
}

void Client::Impl::notify(ChannelState& ch) { signal_eventfd(ch.wake.get()); }

void Client::Impl::fail(std::string reason) {
  if (!connected) return;
  connected = false;
  disconnect_reason = std::move(reason);
  // Tell the agent at once (it powers off); nothing more is read or written.
  if (stream) ::shutdown(stream.get(), SHUT_RDWR);
  for (auto& [id, ch] : channels) notify(*ch);
  cv.notify_all();
}

util::Error Client::Impl::disconnected_error() {
  return util::make_error(util::ErrorCode::Guest, "guest agent disconnected: " + disconnect_reason);
}

void Client::Impl::send(std::string bytes) {
  {
    std::lock_guard lock(mu);
    if (!connected) return;
    outbuf.append(bytes);
  }
  signal_eventfd(wake.get());
}

util::Result<void> Client::Impl::handle_frame(Frame f) {
  if (f.channel == k_session_channel) {
    if (f.type == FrameType::Hello) {
      peer_hello = f.payload;
    } else if (f.type == FrameType::Control) {
      // Nobody asked for more than a few answers: a guest flooding the
      // session channel must not grow host memory.
      if (session.size() >= k_max_pending_session) return protocol_error("agent flooded the session channel");
      session.push_back(ML_TRY(parse_json_object(f.payload)));
    } else {
      return protocol_error("unexpected frame type on the session channel");
    }
    cv.notify_all();
    return util::ok();
  }
  auto it = channels.find(f.channel);
  if (it == channels.end()) return util::ok();  // late frames of a channel we abandoned
  ChannelState& ch = *it->second;
  switch (f.type) {
    case FrameType::Data: {
      auto [sid, bytes] = ML_TRY(parse_data(f));
      if (bytes.size() > ch.recv_window) return protocol_error("agent exceeded the credit window");
      ch.recv_window -= static_cast<uint32_t>(bytes.size());
      if (!bytes.empty()) ch.inbound.emplace_back(sid, std::string(bytes));
      break;
    }
    case FrameType::Eof: {
      StreamId s = ML_TRY(parse_eof(f));
      (s == StreamId::Err ? ch.eof_err : ch.eof_out) = true;
      break;
    }
    case FrameType::Credit: {
      uint32_t c = ML_TRY(parse_credit(f));
      if (uint64_t{ch.send_credit} + c > (uint64_t{1} << 31)) return protocol_error("credit overflow");
      ch.send_credit += c;
      break;
    }
    case FrameType::Control:
      ch.result = ML_TRY(parse_json_object(f.payload));
      break;
    case FrameType::Close:
      ch.closed = true;
      break;
    default:
      return protocol_error("unexpected frame type from agent");
  }
  notify(ch);
  return util::ok();
}

void Client::Impl::run_io() {
  // A peer that went away must give EPIPE, not kill the host process: SIGPIPE
  // from write() is thread-directed, so blocking it here is enough.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  FrameDecoder decoder;
  std::string buf(64 << 10, '\0');
  for (;;) {
    bool want_write;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      if (!connected) return;
      want_write = !outbuf.empty();
    }
    pollfd p[2] = {{stream.get(), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0}, {wake.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::lock_guard lock(mu);
      fail("poll: " + std::string(strerror(errno)));
      return;
    }
    if (p[1].revents) {
      uint64_t v;
      ssize_t r = ::read(wake.get(), &v, sizeof v);
      (void)r;
    }
    std::lock_guard lock(mu);
    if (p[0].revents & POLLOUT) {
      ssize_t n = ::write(stream.get(), outbuf.data(), outbuf.size());
      if (n > 0) {
        outbuf.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        fail("write: " + std::string(strerror(errno)));
        return;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(stream.get(), buf.data(), buf.size());
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        fail(n == 0 ? "connection closed" : "read: " + std::string(strerror(errno)));
        return;
      }
      if (n > 0) {
        if (auto r = decoder.feed(std::string_view(buf.data(), static_cast<size_t>(n))); !r) {
          fail(r.error().message());
          return;
        }
        while (auto f = decoder.pop()) {
          if (auto r = handle_frame(std::move(*f)); !r) {
            fail(r.error().message());
            return;
          }
        }
      }
    }
  }
}

util::Result<std::shared_ptr<ChannelState>> Client::Impl::open_channel(const json& open) {
  auto ch = std::make_shared<ChannelState>();
  ch->wake = ML_TRY(make_eventfd());
  {
    std::lock_guard lock(mu);
    if (!connected) return disconnected_error();
    ch->id = next_channel;
    next_channel += 2;
    channels[ch->id] = ch;
    outbuf.append(encode_frame(ch->id, FrameType::Open, open.dump()));
  }
  signal_eventfd(wake.get());
  return ch;
}

void Client::Impl::forget_channel(uint32_t id, bool send_close) {
  {
    std::lock_guard lock(mu);
    channels.erase(id);
    if (!send_close || !connected) return;
    outbuf.append(encode_frame(id, FrameType::Close, {}));
  }
  signal_eventfd(wake.get());
}

util::Result<json> Client::Impl::wait_session(const char* op, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = session.begin(); it != session.end(); ++it) {
      auto o = it->find("op");
      if (o != it->end() && o->is_string() && (*o == op || *o == "error" || *o == "boot_failed")) {
        json j = std::move(*it);
        session.erase(it);
        return j;
      }
    }
    if (!connected) return disconnected_error();
    if (cv.wait_until(lock, deadline) == std::cv_status::timeout)
      return util::make_error(util::ErrorCode::Guest, std::string("timed out waiting for the agent (") + op + ")");
  }
}

Client::Client(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() {
  if (m_impl) m_impl->stop();
}

util::Result<Client> Client::handshake(util::Fd stream, std::chrono::milliseconds timeout) {
  ML_TRY(util::set_nonblocking(stream.get()));
  auto impl = std::make_shared<Impl>();
  impl->stream = std::move(stream);
  impl->wake = ML_TRY(make_eventfd());
  impl->outbuf =
      encode_frame(k_session_channel, FrameType::Hello, encode_hello({k_version, k_agent_version, Role::Host}));
  impl->start();
  std::string hello;
  {
    std::unique_lock lock(impl->mu);
    if (!impl->cv.wait_for(lock, timeout, [&] { return impl->peer_hello || !impl->connected; }))
      return util::make_error(util::ErrorCode::Guest,
                              "no Hello from the guest agent within " + std::to_string(timeout.count()) + " ms");
    if (!impl->peer_hello) return impl->disconnected_error().context("handshake");
    hello = *impl->peer_hello;
  }
  Hello h = ML_TRY_CTX(decode_hello(hello), "handshake");
  if (h.role != Role::Agent) return protocol_error("handshake: peer is not an agent");
  if (h.version != k_version)
    return util::make_error(util::ErrorCode::Guest, "guest agent speaks protocol version " + std::to_string(h.version) +
                                                        ", this host speaks " + std::to_string(k_version));
  impl->peer_version = h.version;
  impl->agent_version = h.software;
  return Client(std::move(impl));
}

int Client::peer_version() const { return m_impl->peer_version; }
const std::string& Client::agent_version() const { return m_impl->agent_version; }

bool Client::connected() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->connected;
}

util::Result<BootInfo> Client::boot(const BootConfig& config, std::chrono::milliseconds timeout) {
  m_impl->send(encode_frame(k_session_channel, FrameType::Control, boot_to_json(config).dump()));
  json j = ML_TRY_CTX(m_impl->wait_session("ready", timeout), "boot");
  return boot_reply_from_json(j);
}

namespace {

util::Result<void> session_op(Client::Impl& impl, const char* op, const char* answer,
                              std::chrono::milliseconds timeout) {
  impl.send(encode_frame(k_session_channel, FrameType::Control, json{{"op", op}}.dump()));
  json j = ML_TRY_CTX(impl.wait_session(answer, timeout), op);
  return session_reply_from_json(j, op, answer);
}

}  // namespace

util::Result<void> Client::freeze_writable(std::chrono::milliseconds timeout) {
  return session_op(*m_impl, "freeze", "frozen", timeout);
}
util::Result<void> Client::thaw_writable(std::chrono::milliseconds timeout) {
  return session_op(*m_impl, "thaw", "thawed", timeout);
}

util::Result<void> Client::suspend(std::chrono::milliseconds timeout) {
  return session_op(*m_impl, "suspend", "suspended", timeout);
}

util::Result<void> Client::resume(const ResumeConfig& config, std::chrono::milliseconds timeout) {
  m_impl->send(encode_frame(k_session_channel, FrameType::Control, resume_to_json(config).dump()));
  json j = ML_TRY_CTX(m_impl->wait_session("resumed", timeout), "resume");
  return session_reply_from_json(j, "resume", "resumed");
}

void Client::sync_clock() {
  {
    // A time stamp queued behind other frames would arrive stale: skip this round.
    std::lock_guard lock(m_impl->mu);
    if (!m_impl->connected || m_impl->outbuf.size() > 4096) return;
  }
  int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  m_impl->send(
      encode_frame(k_session_channel, FrameType::Control, json{{"op", "clock"}, {"time_unix_ns", now}}.dump()));
}

util::Result<void> Client::shutdown(std::chrono::milliseconds timeout) {
  m_impl->send(encode_frame(k_session_channel, FrameType::Control, json{{"op", "shutdown"}}.dump()));
  auto r = m_impl->wait_session("shutdown_ack", timeout);
  if (!r) return std::move(r).error().context("shutdown");
  return util::ok();
}

}  // namespace protocol
