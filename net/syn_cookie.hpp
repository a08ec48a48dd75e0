// SynCookies: stateless SYN-ACKs for when the stack's half-open table is full (a SYN flood).
//
// The SYN-ACK's sequence number carries what the connection needs later — the guest's MSS
// (3 bits: an index into a table of common values, rounded down), its window scale (4 bits)
// and SACK-permitted (1 bit) — plus a 5-bit time counter (64 s steps) and 19 bits of a keyed
// hash over the 4-tuple, the guest's ISN, the counter and those options. The ACK completing the
// handshake is checked against it (counter at most one step old) and rebuilt into the SYN it
// answers. The hash is not cryptographic: the only party that can send us segments is the
// guest, which may complete handshakes anyway; cookies only spare us the state.
#pragma once

#include <cstdint>
#include <optional>

#include "net/tcp_conn.hpp"

namespace net {

class SynCookies {
 public:
  SynCookies();  // random key
  // Our ISS for a stateless SYN-ACK to SYN.
  uint32_t make(const TcpTuple& tuple, const TcpSegment& syn, TimePoint now) const;
  // The SYN (seq, MSS, window scale, SACK) an ACK completes, if it carries a valid cookie.
  std::optional<TcpSegment> check(const TcpTuple& tuple, const TcpSegment& ack, TimePoint now) const;

 private:
  uint32_t hash(const TcpTuple& tuple, uint32_t guest_isn, uint32_t low_bits) const;
  uint64_t m_key[2];
};

}  // namespace net
