// Guest-side channels: one object per open channel (exec, put, get, tcp),
// driven by protocol::Server's single-threaded poll loop.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "guest/protocol/frame.hpp"
#include "guest/protocol/types.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace protocol {

// The session as seen by one channel: credit accounting and the bounded outbox.
class ChannelLink {
 public:
  ChannelLink(uint32_t id, std::string& outbox, size_t outbox_limit)
      : m_id(id), m_outbox(&outbox), m_outbox_limit(outbox_limit) {}

  uint32_t id() const { return m_id; }
  // Bytes we may send right now (0: wait for credit or for the outbox to drain).
  size_t send_budget() const;
  void send_data(StreamId stream, std::string_view bytes);
  void send_eof(StreamId stream);
  void send_control(const nlohmann::json& j);
  void send_error(std::string_view message, std::string_view code = "io");
  void grant(uint32_t bytes);
  void close();  // sends Close; the channel is then dropped
  bool closed() const { return m_closed; }

  void add_credit(uint32_t bytes) { m_send_credit += bytes; }
  // Accounts inbound data; false if the host overran its window.
  bool take_window(size_t bytes);

 private:
  uint32_t m_id;
  std::string* m_outbox;
  size_t m_outbox_limit;
  uint32_t m_send_credit = k_initial_window;
  uint32_t m_recv_window = k_initial_window;
  bool m_closed = false;
};

class GuestChannel {
 public:
  explicit GuestChannel(ChannelLink link) : m_link(link) {}
  virtual ~GuestChannel() = default;
  GuestChannel(const GuestChannel&) = delete;
  GuestChannel& operator=(const GuestChannel&) = delete;

  ChannelLink& link() { return m_link; }

  virtual void on_data(StreamId stream, std::string_view bytes) = 0;
  virtual void on_eof(StreamId stream) = 0;
  virtual void on_control(const nlohmann::json& /*message*/) {}
  virtual void on_abort() = 0;  // host sent Close
  // Appends the pollfds it waits on; step() gets the same slice back with revents.
  virtual void poll_fds(std::vector<pollfd>& out) = 0;
  virtual void step(std::span<const pollfd> fds) = 0;
  // True when step() must run again without waiting (data ready to drain).
  virtual bool busy() const { return false; }
  // Poll timeout this channel needs (e.g. a grace period), or -1.
  virtual int wake_after_ms() const { return -1; }
  // PID of a process this channel waits for (exec), or -1.
  virtual pid_t pid() const { return -1; }
  virtual void on_exit(int /*wait_status*/) {}

 private:
  ChannelLink m_link;
};

struct OpenRequest;  // guest/protocol/messages.hpp

struct GuestContext {
  std::filesystem::path root = "/";                                   // where etc/passwd and etc/group are read
  std::vector<MountSpec> mounts;                                      // from the boot request
  std::function<util::Result<util::Fd>(const MountSpec&)> open_fuse;  // System::open_fuse
};

// Creates the channel for an Open request (decoded by open_request_from_json); on failure
// the returned channel has already sent an error and Close (so it is never null).
std::unique_ptr<GuestChannel> open_guest_channel(ChannelLink link, const nlohmann::json& open,
                                                 const GuestContext& context);

std::unique_ptr<GuestChannel> make_exec_channel(ChannelLink link, const ExecRequest& request,
                                                const GuestContext& context);
std::unique_ptr<GuestChannel> make_put_channel(ChannelLink link, const OpenRequest& request,
                                               const GuestContext& context);
std::unique_ptr<GuestChannel> make_get_channel(ChannelLink link, const std::string& path, uint64_t max_size);
std::unique_ptr<GuestChannel> make_tcp_channel(ChannelLink link, uint16_t port);
// "fuse": mounts BootConfig.mounts[id] and pumps /dev/fuse (guest/protocol/fuse_channel.cpp).
std::unique_ptr<GuestChannel> make_fuse_channel(ChannelLink link, uint32_t mount_id, const GuestContext& context);
// "snapshot" / "snapshot-list": overlay mount and upper-dir listing of a
// snapshot mount (guest/protocol/fuse_snapshot.cpp).
std::unique_ptr<GuestChannel> make_snapshot_channel(ChannelLink link, uint32_t mount_id, const GuestContext& context);
std::unique_ptr<GuestChannel> make_snapshot_list_channel(ChannelLink link, uint32_t mount_id,
                                                         const GuestContext& context);
// A channel that has already failed (error + Close sent).
std::unique_ptr<GuestChannel> make_failed_channel(ChannelLink link, std::string_view message,
                                                  std::string_view code = "io");

}  // namespace protocol
