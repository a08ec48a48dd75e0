#include "net/syn_cookie.hpp"

#include <array>
#include <random>

namespace net {

namespace {

// MSS values a cookie can carry (the guest's is rounded down to one of these).
constexpr std::array<uint16_t, 8> k_mss = {536, 1220, 1440, 1460, 4036, 8940, 16344, 65480};
constexpr int k_hash_bits = 19;
constexpr uint32_t k_low_mask = (1u << (32 - k_hash_bits)) - 1;  // counter | mss | wscale | sack

uint32_t counter(TimePoint now) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return static_cast<uint32_t>(s / 64) & 31;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

SynCookies::SynCookies() {
  std::random_device rd;
  for (auto& k : m_key) k = (uint64_t{rd()} << 32) | rd();
}

uint32_t SynCookies::hash(const TcpTuple& t, uint32_t guest_isn, uint32_t low_bits) const {
  uint64_t a = (uint64_t{t.guest_ip.value} << 32) | t.dst_ip.value;
  uint64_t b = (uint64_t{t.guest_port} << 48) | (uint64_t{t.dst_port} << 32) | guest_isn;
  uint64_t h = mix(mix(a ^ m_key[0]) ^ b ^ m_key[1]) ^ low_bits;
  return static_cast<uint32_t>(mix(h)) >> (32 - k_hash_bits);
}

uint32_t SynCookies::make(const TcpTuple& tuple, const TcpSegment& syn, TimePoint now) const {
  uint32_t mss_index = 0;
  for (uint32_t i = 0; i < k_mss.size(); ++i)
    if (k_mss[i] <= syn.mss.value_or(536)) mss_index = i;
  uint32_t wscale = syn.wscale ? *syn.wscale : 15;  // 15: not offered (parsed values stop at 14)
  uint32_t low = (counter(now) << 8) | (mss_index << 5) | (wscale << 1) | (syn.sack_permitted ? 1 : 0);
  return (hash(tuple, syn.seq, low) << (32 - k_hash_bits)) | low;
}

std::optional<TcpSegment> SynCookies::check(const TcpTuple& tuple, const TcpSegment& ack, TimePoint now) const {
  uint32_t cookie = ack.ack - 1;
  uint32_t low = cookie & k_low_mask;
  uint32_t age = (counter(now) - (low >> 8)) & 31;
  if (age > 1) return std::nullopt;
  uint32_t guest_isn = ack.seq - 1;
  if ((cookie >> (32 - k_hash_bits)) != hash(tuple, guest_isn, low)) return std::nullopt;
  TcpSegment syn;
  syn.src_port = tuple.guest_port;
  syn.dst_port = tuple.dst_port;
  syn.seq = guest_isn;
  syn.flags = tcp_flag::k_syn;
  syn.window = ack.window;
  syn.mss = k_mss[(low >> 5) & 7];
  uint32_t wscale = (low >> 1) & 15;
  if (wscale != 15) syn.wscale = static_cast<uint8_t>(wscale);
  syn.sack_permitted = (low & 1) != 0;
  return syn;
}

}  // namespace net
