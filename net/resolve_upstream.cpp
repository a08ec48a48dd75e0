#include "net/resolve_upstream.hpp"

#include "net/hostname.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <string>

namespace net {

bool is_private_address(Ipv4 a) {
  static const Cidr k_blocked[] = {
      {Ipv4{0x00000000}, 8},  {Ipv4{0x0a000000}, 8},  {Ipv4{0x64400000}, 10}, {Ipv4{0x7f000000}, 8},
      {Ipv4{0xa9fe0000}, 16}, {Ipv4{0xac100000}, 12}, {Ipv4{0xc0000000}, 24}, {Ipv4{0xc0a80000}, 16},
      {Ipv4{0xc6120000}, 15}, {Ipv4{0xe0000000}, 4},  {Ipv4{0xf0000000}, 4},
  };
  return std::any_of(std::begin(k_blocked), std::end(k_blocked), [&](const Cidr& c) { return c.contains(a); });
}

util::Result<std::vector<Ipv4>> resolve_upstream(std::string_view name, BlockPrivate block_private) {
  // Only a validated name reaches getaddrinfo: it stops at a NUL and reads numeric forms
  // ("0x7f.1") as addresses, so anything else would resolve to another host than judged.
  if (!is_valid_hostname(name))
    return util::make_error(util::ErrorCode::Denied, "resolve: not a valid host name (refused before the resolver)");
  std::string host(name);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  if (rc != 0) {
    auto code = (rc == EAI_NONAME || rc == EAI_NODATA) ? util::ErrorCode::NotFound : util::ErrorCode::Network;
    return util::make_error(code, "resolve " + host + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(raw, freeaddrinfo);
  std::vector<Ipv4> out;
  size_t filtered = 0;
  for (addrinfo* ai = raw; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
    Ipv4 a{ntohl(sin->sin_addr.s_addr)};
    if (block_private == BlockPrivate::Yes && is_private_address(a)) {
      ++filtered;
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  if (out.empty())
    return util::make_error(util::ErrorCode::NotFound,
                            "resolve " + host + ": no usable IPv4 address" +
                                (filtered ? " (" + std::to_string(filtered) + " private address(es) blocked)" : ""));
  return out;
}

}  // namespace net
