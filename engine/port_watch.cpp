#include "engine/port_watch.hpp"

#include <charconv>

namespace engine {

namespace {

using namespace std::chrono_literals;
constexpr auto k_interval = 1s;
constexpr size_t k_max_proc_bytes = size_t{1} << 20;
// The guest's listeners, read through the agent (the guest is Linux whatever the host is).
constexpr const char* k_guest_tcp = "/proc/net/tcp";    // linux-only-ok: the guest's file
constexpr const char* k_guest_tcp6 = "/proc/net/tcp6";  // linux-only-ok: the guest's file
constexpr uint16_t k_min_auto_port = 1024;

std::optional<uint32_t> hex(std::string_view text) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// A listener the agent's connection to 127.0.0.1 reaches, from the address column of
// /proc/net/tcp (8 hex digits, little-endian per 32-bit word) or tcp6 (32): 127.0.0.1,
// 0.0.0.0, :: (dual-stack, as busybox nc and many runtimes listen) and the v4-mapped
// ::ffff:127.0.0.1 / ::ffff:0.0.0.0. Not ::1 or any other address.
bool reaches_loopback(std::string_view address) {
  if (address.find_first_not_of("0123456789ABCDEFabcdef") != std::string_view::npos) return false;
  auto v4 = [](std::string_view a) { return a == "0100007F" || a == "00000000"; };
  if (address.size() == 8) return v4(address);
  if (address.size() != 32) return false;
  if (address == std::string_view("00000000000000000000000000000000")) return true;
  return address.substr(0, 24) == "0000000000000000FFFF0000" && v4(address.substr(24));
}

}  // namespace

std::set<uint16_t> auto_port_candidates(std::string_view text) {
  std::set<uint16_t> out;
  bool header = true;
  while (!text.empty() && out.size() < k_max_port_forwards) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (header) {  // "  sl  local_address rem_address   st ..."
      header = false;
      continue;
    }
    // "   0: 0100007F:1F90 00000000:0000 0A ..."
    std::string_view fields[4];
    size_t n = 0;
    for (size_t i = 0; i < line.size() && n < 4;) {
      while (i < line.size() && line[i] == ' ') ++i;
      size_t j = line.find(' ', i);
      if (j == std::string_view::npos) j = line.size();
      if (j > i) fields[n++] = line.substr(i, j - i);
      i = j;
    }
    if (n < 4 || fields[3] != "0A") continue;  // TCP_LISTEN
    auto colon = fields[1].find(':');
    if ((colon != 8 && colon != 32) || fields[1].size() != colon + 5) continue;
    if (!reaches_loopback(fields[1].substr(0, colon))) continue;
    auto port = hex(fields[1].substr(colon + 1));
    if (!port || *port < k_min_auto_port) continue;
    out.insert(static_cast<uint16_t>(*port));
  }
  return out;
}

PortWatch::PortWatch(protocol::Client& client, PortForwarder& ports, std::function<void(const std::string&)> log)
    : m_client(client), m_ports(ports), m_log(std::move(log)) {
  m_thread = std::thread([this] { run(); });
}

PortWatch::~PortWatch() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

void PortWatch::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    lock.unlock();
    auto text = m_client.get_file(k_guest_tcp, k_max_proc_bytes);
    if (text) {
      // Dual-stack listeners (on ::) are in tcp6; a guest without IPv6 has none.
      auto text6 = m_client.get_file(k_guest_tcp6, k_max_proc_bytes);
      sync(auto_port_candidates(*text +
                                (text6 ? "\n" + text6->substr(std::min(text6->find('\n'), text6->size())) : "")));
      m_failing = false;
    } else if (!m_failing) {  // once per failure streak: the log stays bounded
      m_log("ports = \"auto\": reading the guest's listeners: " + text.error().message());
      m_failing = true;
    }
    lock.lock();
    m_cv.wait_for(lock, k_interval, [this] { return m_stop; });
  }
}

void PortWatch::sync(const std::set<uint16_t>& listening) {
  auto forwards = m_ports.list();
  for (const auto& f : forwards)
    if (f.origin == PortOrigin::Auto && !listening.count(f.guest)) {
      if (m_ports.remove(f.guest, f.host))
        m_log("port 127.0.0.1:" + std::to_string(f.host) + " -> guest " + std::to_string(f.guest) +
              " removed (the guest stopped listening)");
    }
  for (uint16_t guest : listening) {
    bool forwarded = false;
    for (const auto& f : forwards) forwarded = forwarded || f.guest == guest;
    if (forwarded) continue;
    auto added = m_ports.add(0, guest, PortOrigin::Auto);
    if (added)
      m_log("port 127.0.0.1:" + std::to_string(added->host) + " -> guest " + std::to_string(guest) +
            " (ports = \"auto\")");
  }
}

}  // namespace engine
