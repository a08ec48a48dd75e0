#include "guest/agent/net_config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "util/fd.hpp"

namespace agent {

namespace {

constexpr const char* k_nic = "eth0";
constexpr auto k_nic_timeout = std::chrono::seconds(10);

util::Result<in_addr> parse_ipv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
    return util::make_error(util::ErrorCode::Guest, "network: bad IPv4 address '" + text + "'");
  return a;
}

sockaddr make_sockaddr(in_addr a) {
  sockaddr out{};
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = a;
  std::memcpy(&out, &sin, sizeof sin);
  return out;
}

ifreq make_ifreq(const char* name) {
  ifreq r{};
  std::strncpy(r.ifr_name, name, IFNAMSIZ - 1);
  return r;
}

util::Result<void> set_addr(int sock, const char* name, unsigned long request, in_addr a, const char* what) {
  ifreq r = make_ifreq(name);
  r.ifr_addr = make_sockaddr(a);
  if (::ioctl(sock, request, &r) < 0) return util::sys_error(std::string(what) + " " + name);
  return util::ok();
}

util::Result<void> set_up(int sock, const char* name) {
  ifreq r = make_ifreq(name);
  if (::ioctl(sock, SIOCGIFFLAGS, &r) < 0) return util::sys_error(std::string("SIOCGIFFLAGS ") + name);
  r.ifr_flags = static_cast<short>(r.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock, SIOCSIFFLAGS, &r) < 0) return util::sys_error(std::string("SIOCSIFFLAGS ") + name);
  return util::ok();
}

util::Result<util::Fd> inet_socket() {
  util::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return util::sys_error("socket AF_INET");
  return sock;
}

in_addr netmask(int prefix) {
  in_addr m{};
  m.s_addr = htonl(prefix <= 0 ? 0u : ~uint32_t{0} << (32 - prefix));
  return m;
}

// Replaces PATH (also when it is a symlink, e.g. to systemd-resolved's file).
util::Result<void> replace_file(const std::string& path, const std::string& data) {
  std::string tmp = path + ".ml-tmp";
  {
    util::Fd fd = ML_TRY(util::open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ML_TRY(util::write_all(fd.get(), data));
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) return util::sys_error("rename", path);
  return util::ok();
}

void write_sysctl(const char* path, const char* value) {
  auto fd = util::open_fd(path, O_WRONLY);
  if (fd) (void)util::write_all(fd->get(), value);
}

}  // namespace

util::Result<void> bring_up_loopback() {
  util::Fd sock = ML_TRY(inet_socket());
  in_addr lo{};
  lo.s_addr = htonl(INADDR_LOOPBACK);
  ML_TRY(set_addr(sock.get(), "lo", SIOCSIFADDR, lo, "SIOCSIFADDR"));
  ML_TRY(set_addr(sock.get(), "lo", SIOCSIFNETMASK, netmask(8), "SIOCSIFNETMASK"));
  return set_up(sock.get(), "lo");
}

util::Result<void> install_ca(const std::string& pem, const std::vector<std::string>& bundles,
                              const std::string& ca_path, const std::string& bundle_path) {
  std::string block = pem;
  if (!block.empty() && block.back() != '\n') block += '\n';
  std::string combined;
  for (const auto& bundle : bundles) {
    struct stat st;
    if (::stat(bundle.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    util::Fd fd = ML_TRY(util::open_fd(bundle, O_RDWR | O_APPEND));
    std::string prefix;
    if (st.st_size > 0) {
      char last = 0;
      if (::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') prefix = "\n";
    }
    ML_TRY_CTX(util::write_all(fd.get(), prefix + block), "append the sandbox CA to " + bundle);
    if (combined.empty()) {
      util::Fd in = ML_TRY(util::open_fd(bundle, O_RDONLY));
      combined = ML_TRY(util::read_all(in.get()));
    }
  }
  // The parent directories of CA_PATH (e.g. /etc/matchlock).
  for (size_t slash = ca_path.find('/', 1); slash != std::string::npos; slash = ca_path.find('/', slash + 1)) {
    std::string dir = ca_path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return util::sys_error("mkdir", dir);
  }
  ML_TRY(replace_file(ca_path, block));
  return replace_file(bundle_path, combined.empty() ? block : combined);
}

util::Result<void> replace_ca(const std::string& old_pem, const std::string& new_pem,
                              const std::vector<std::string>& bundles, const std::string& ca_path,
                              const std::string& bundle_path) {
  auto block_of = [](std::string pem) {
    if (!pem.empty() && pem.back() != '\n') pem += '\n';
    return pem;
  };
  const std::string old_block = block_of(old_pem), new_block = block_of(new_pem);
  std::string combined;
  for (const auto& bundle : bundles) {
    struct stat st;
    if (::stat(bundle.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    util::Fd in = ML_TRY(util::open_fd(bundle, O_RDONLY));
    std::string text = ML_TRY(util::read_all(in.get()));
    auto at = old_block.empty() ? std::string::npos : text.rfind(old_block);
    if (at != std::string::npos) {
      text.replace(at, old_block.size(), new_block);
    } else {
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += new_block;
    }
    ML_TRY_CTX(replace_file(bundle, text), "replace the sandbox CA in " + bundle);
    if (combined.empty()) combined = text;
  }
  ML_TRY(replace_file(ca_path, new_block));
  return replace_file(bundle_path, combined.empty() ? new_block : combined);
}

util::Result<void> configure_network(const protocol::NetConfig& net) {
  in_addr address = ML_TRY(parse_ipv4(net.address));
  in_addr gateway = ML_TRY(parse_ipv4(net.gateway));
  // The guest is IPv4-only (the host stack drops IPv6); keep the kernel from trying.
  write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
  write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");

  // virtio-net registers its interface asynchronously after the module loads.
  auto deadline = std::chrono::steady_clock::now() + k_nic_timeout;
  while (::if_nametoindex(k_nic) == 0) {
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorCode::Guest, std::string("network: interface ") + k_nic + " did not appear");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  util::Fd sock = ML_TRY(inet_socket());
  ifreq mtu = make_ifreq(k_nic);
  mtu.ifr_mtu = static_cast<int>(net.mtu);
  if (::ioctl(sock.get(), SIOCSIFMTU, &mtu) < 0) return util::sys_error("SIOCSIFMTU " + std::to_string(net.mtu));
  ML_TRY(set_addr(sock.get(), k_nic, SIOCSIFADDR, address, "SIOCSIFADDR"));
  ML_TRY(set_addr(sock.get(), k_nic, SIOCSIFNETMASK, netmask(net.prefix), "SIOCSIFNETMASK"));
  ML_TRY(set_up(sock.get(), k_nic));

  rtentry route{};
  in_addr any{};
  route.rt_dst = make_sockaddr(any);
  route.rt_genmask = make_sockaddr(any);
  route.rt_gateway = make_sockaddr(gateway);
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  if (::ioctl(sock.get(), SIOCADDRT, &route) < 0 && errno != EEXIST)
    return util::sys_error("SIOCADDRT default via " + net.gateway);

  ::mkdir("/etc", 0755);
  ML_TRY(replace_file("/etc/resolv.conf", "nameserver " + net.gateway + "\noptions attempts:2 timeout:2\n"));
  if (!net.ca_pem.empty()) ML_TRY(install_ca(net.ca_pem, k_trust_bundles, k_sandbox_ca_path, k_sandbox_bundle_path));
  return util::ok();
}

}  // namespace agent
