// Host-side resolution of an allowed name for the upstream connect (never the guest's DNS).
// Blocking (getaddrinfo): call it from a worker thread, never from the stack's thread.
#pragma once

#include <string_view>
#include <vector>

#include "net/ipv4.hpp"
#include "util/result.hpp"

namespace net {

enum class BlockPrivate { No, Yes };

// True for addresses a sandbox must not reach when block_private is on: 0/8, 10/8, 100.64/10
// (CGNAT), 127/8, 169.254/16 (link-local, incl. 169.254.169.254 metadata), 172.16/12,
// 192.0.0/24, 192.168/16, 198.18/15, 224/4 (multicast), 240/4, 255.255.255.255.
bool is_private_address(Ipv4 address);

// IPv4 addresses of `name`, in resolver order, duplicates removed. With BlockPrivate::Yes the
// private ones are dropped; NotFound when nothing is left, Network on resolver failure.
util::Result<std::vector<Ipv4>> resolve_upstream(std::string_view name, BlockPrivate block_private);

}  // namespace net
