#include "guest/protocol/server.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "guest/protocol/messages.hpp"
#include "guest/protocol/version.hpp"

namespace protocol {

namespace {

// How long the port must keep saying "hung up" before the host counts as gone. virtio-serial
// delivers the host's "port open" on its control queue apart from the data: right after a
// new connection (after a memory snapshot) the host's first bytes can be read while the port
// still says hung up, and until the guest kernel handles that message it also refuses our
// writes. Well under the host's 2 s wait for the VM to power off once it closes the stream.
constexpr auto k_hangup_grace = std::chrono::milliseconds(1000);

}  // namespace

using nlohmann::json;

util::Result<util::Fd> System::open_fuse(const MountSpec& mount) {
  return util::make_error(util::ErrorCode::Unsupported, "FUSE mounts are not supported here (" + mount.target + ")");
}

Server::Server(util::Fd stream, util::Fd sigchld, System& system, ServerOptions options)
    : m_stream(std::move(stream)), m_sigchld(std::move(sigchld)), m_system(&system), m_options(std::move(options)) {
  m_context.root = m_options.root;
  m_context.open_fuse = [sys = m_system](const MountSpec& m) { return sys->open_fuse(m); };
  m_outbox = encode_frame(k_session_channel, FrameType::Hello, encode_hello({k_version, k_agent_version, Role::Agent}));
}

Server::~Server() = default;

util::Result<Server> Server::create(util::Fd stream, System& system, ServerOptions options) {
  ML_TRY(util::set_nonblocking(stream.get()));
  util::Fd sigchld;
  if (options.reap == Reap::All) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    int fd = ::signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return util::sys_error("signalfd");
    sigchld = util::Fd(fd);
  }
  return Server(std::move(stream), std::move(sigchld), system, std::move(options));
}

void Server::reap_all() {
  signalfd_siginfo si;
  while (::read(m_sigchld.get(), &si, sizeof si) > 0) {
  }
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& [id, ch] : m_channels) {
      if (ch->pid() == pid) ch->on_exit(status);
    }
  }
}

void Server::flush_blocking(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!m_outbox.empty() && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::write(m_stream.get(), m_outbox.data(), m_outbox.size());
    if (n > 0) {
      m_outbox.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    pollfd p{m_stream.get(), POLLOUT, 0};
    ::poll(&p, 1, 50);
  }
}

util::Result<void> Server::handle_frame(Frame& f, bool& stop, ServeEnd& end, std::string& why) {
  if (!m_hello_seen) {
    if (f.channel != k_session_channel || f.type != FrameType::Hello) return protocol_error("expected Hello");
    Hello h = ML_TRY(decode_hello(f.payload));
    if (h.role != Role::Host) return protocol_error("Hello: peer is not a host");
    if (h.version != k_version)
      return protocol_error("host speaks protocol version " + std::to_string(h.version) + ", agent speaks " +
                            std::to_string(k_version));
    m_hello_seen = true;
    return util::ok();
  }
  if (f.channel == k_session_channel) {
    if (f.type != FrameType::Control) return protocol_error("unexpected frame type on the session channel");
    json j = ML_TRY(parse_json_object(f.payload));
    std::string op = op_of(j);
    if (op == "boot") {
      BootConfig config = ML_TRY(boot_from_json(j));
      auto info = m_system->boot(config);
      if (!info) {
        m_outbox += encode_frame(k_session_channel, FrameType::Control,
                                 json{{"op", "boot_failed"}, {"message", info.error().message()}}.dump());
        stop = true;
        end = ServeEnd::BootFailed;
        why = info.error().message();
        return util::ok();
      }
      m_context.mounts = config.mounts;  // served by "fuse" channels (docs/workspace.md)
      m_outbox += encode_frame(k_session_channel, FrameType::Control, boot_info_to_json(*info).dump());
    } else if (op == "freeze" || op == "thaw") {
      auto r = m_system->freeze_writable(op == "freeze" ? Freeze::Freeze : Freeze::Thaw);
      json reply = r ? json{{"op", op == "freeze" ? "frozen" : "thawed"}}
                     : json{{"op", "error"}, {"message", r.error().message()}};
      m_outbox += encode_frame(k_session_channel, FrameType::Control, reply.dump());
    } else if (op == "suspend") {
      // A memory snapshot follows (docs/protocol.md): no channel survives it.
      m_channels.clear();
      m_outbox += encode_frame(k_session_channel, FrameType::Control, json{{"op", "suspended"}}.dump());
      m_suspended = true;
      m_resume_expected = true;
      stop = true;  // stop reading this connection: run() flushes the answer and waits
    } else if (op == "resume") {
      if (!m_resume_expected) return protocol_error("resume without a suspend");
      ResumeConfig config = ML_TRY(resume_from_json(j));
      auto r = m_system->resume(config);
      if (!r) {
        m_outbox += encode_frame(k_session_channel, FrameType::Control,
                                 json{{"op", "error"}, {"message", r.error().message()}}.dump());
        return util::ok();
      }
      m_resume_expected = false;
      m_context.mounts = config.mounts;
      m_outbox += encode_frame(k_session_channel, FrameType::Control, json{{"op", "resumed"}}.dump());
    } else if (op == "clock") {
      auto t = j.find("time_unix_ns");
      if (t == j.end() || !t->is_number_integer()) return protocol_error("clock: time_unix_ns must be an integer");
      m_system->set_clock(t->get<int64_t>());
    } else if (op == "shutdown") {
      m_channels.clear();  // kills their processes
      m_system->prepare_shutdown();
      m_outbox += encode_frame(k_session_channel, FrameType::Control, json{{"op", "shutdown_ack"}}.dump());
      stop = true;
      end = ServeEnd::Shutdown;
      why = "shutdown requested";
    } else {
      m_outbox += encode_frame(k_session_channel, FrameType::Control,
                               json{{"op", "error"}, {"message", "unknown session op " + op}}.dump());
    }
    return util::ok();
  }
  if (f.type == FrameType::Open) {
    if (f.channel % 2 == 0) return protocol_error("host opened an even channel id");
    if (m_channels.count(f.channel)) return protocol_error("channel " + std::to_string(f.channel) + " already open");
    json j = ML_TRY(parse_json_object(f.payload));
    ChannelLink link(f.channel, m_outbox, m_options.outbox_limit);
    m_channels[f.channel] = open_guest_channel(link, j, m_context);
    return util::ok();
  }
  auto it = m_channels.find(f.channel);
  if (it == m_channels.end()) return util::ok();  // frames racing with our Close
  GuestChannel& ch = *it->second;
  switch (f.type) {
    case FrameType::Data: {
      auto [sid, bytes] = ML_TRY(parse_data(f));
      if (!ch.link().take_window(bytes.size())) return protocol_error("host exceeded the credit window");
      ch.on_data(sid, bytes);
      break;
    }
    case FrameType::Eof:
      ch.on_eof(ML_TRY(parse_eof(f)));
      break;
    case FrameType::Credit: {
      uint32_t c = ML_TRY(parse_credit(f));
      ch.link().add_credit(c);
      break;
    }
    case FrameType::Control:
      ch.on_control(ML_TRY(parse_json_object(f.payload)));
      break;
    case FrameType::Close:
      ch.on_abort();
      break;
    default:
      return protocol_error("unexpected frame type from host");
  }
  return util::ok();
}

ServeEnd Server::run(std::string& why) {
  FrameDecoder decoder;
  for (;;) {
    ServeEnd end = serve_connection(decoder, why);
    if (end != ServeEnd::Suspended) return end;
    // Wait for the next connection: its first bytes (the host's Hello) end the wait.
    // Until then the port reads EOF or hangs up; poll it at a gentle pace.
    for (;;) {
      pollfd p{m_stream.get(), POLLIN, 0};
      ::poll(&p, 1, 20);
      char byte;
      ssize_t n = ::read(m_stream.get(), &byte, 1);
      if (n == 1) {
        decoder = FrameDecoder();
        m_suspended = false;
        m_hello_seen = false;
        m_outbox =
            encode_frame(k_session_channel, FrameType::Hello, encode_hello({k_version, k_agent_version, Role::Agent}));
        if (auto fed = decoder.feed(std::string_view(&byte, 1)); !fed) {
          why = fed.error().message();
          return ServeEnd::ProtocolError;
        }
        break;
      }
      if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
        if (n == 0) ::poll(nullptr, 0, 20);  // the host end is closed: reads return EOF at once
        continue;
      }
      why = std::string("read: ") + std::strerror(errno);
      return ServeEnd::Disconnected;
    }
  }
}

ServeEnd Server::serve_connection(FrameDecoder& decoder, std::string& why) {
  std::string buf(64 << 10, '\0');
  std::vector<pollfd> fds;
  std::vector<std::pair<GuestChannel*, size_t>> slices;
  bool hung_up = false;  // the port said "hung up" at every poll since hung_up_since
  std::chrono::steady_clock::time_point hung_up_since{};
  for (;;) {
    fds.clear();
    slices.clear();
    fds.push_back({m_stream.get(), static_cast<short>(POLLIN | (m_outbox.empty() ? 0 : POLLOUT)), 0});
    fds.push_back({m_sigchld ? m_sigchld.get() : -1, POLLIN, 0});
    int timeout = -1;
    for (auto& [id, ch] : m_channels) {
      slices.emplace_back(ch.get(), fds.size());
      ch->poll_fds(fds);
      if (ch->busy()) timeout = 0;
      int w = ch->wake_after_ms();
      if (w >= 0 && (timeout < 0 || w < timeout)) timeout = w;
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      why = std::string("poll: ") + std::strerror(errno);
      return ServeEnd::Disconnected;
    }
    if (fds[1].revents) reap_all();
    for (size_t i = 0; i < slices.size(); ++i) {
      size_t end = i + 1 < slices.size() ? slices[i + 1].second : fds.size();
      slices[i].first->step(std::span<const pollfd>(fds.data() + slices[i].second, end - slices[i].second));
    }
    if (fds[0].revents & POLLOUT) {
      ssize_t n = ::write(m_stream.get(), m_outbox.data(), m_outbox.size());
      if (n > 0) m_outbox.erase(0, static_cast<size_t>(n));
    }
    bool stop = false;
    ServeEnd end = ServeEnd::Disconnected;
    if (fds[0].revents & POLLIN) {
      ssize_t n = ::read(m_stream.get(), buf.data(), buf.size());
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        why = n == 0 ? "host closed the connection" : std::string("read: ") + std::strerror(errno);
        return ServeEnd::Disconnected;
      }
      if (n > 0) {
        auto fed = decoder.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
        while (fed && !stop) {
          auto f = decoder.pop();
          if (!f) break;
          fed = handle_frame(*f, stop, end, why);
        }
        if (!fed) {
          why = fed.error().message();
          m_outbox +=
              encode_frame(k_session_channel, FrameType::Control, json{{"op", "error"}, {"message", why}}.dump());
          flush_blocking(1000);
          return ServeEnd::ProtocolError;
        }
      }
    } else if (fds[0].revents & (POLLHUP | POLLERR)) {
      auto now = std::chrono::steady_clock::now();
      if (!hung_up) hung_up_since = now;
      hung_up = true;
      if (now - hung_up_since >= k_hangup_grace) {
        why = "host side hung up";
        return ServeEnd::Disconnected;
      }
      ::poll(nullptr, 0, 10);  // the port keeps polling "hung up": do not spin
    }
    if (!(fds[0].revents & (POLLHUP | POLLERR))) hung_up = false;
    if (stop) {
      flush_blocking(5000);
      return m_suspended ? ServeEnd::Suspended : end;
    }
    for (auto it = m_channels.begin(); it != m_channels.end();) {
      if (it->second->link().closed())
        it = m_channels.erase(it);
      else
        ++it;
    }
  }
}

}  // namespace protocol
