#include "net/dns_message.hpp"

#include <cstring>

#include "net/bytes.hpp"

namespace net {

namespace {

// Appends one label byte in presentation form (RFC 1035 §5.1): letters lowercased,
// digits and '-' as they are, every other byte as \DDD. So a label holding '.', NUL
// or a control byte can never read as another name, and is_valid_hostname refuses it.
void append_presentation(std::string& out, uint8_t byte) {
  char c = static_cast<char>(byte);
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
    out += c;
  } else if (c >= 'A' && c <= 'Z') {
    out += static_cast<char>(c - 'A' + 'a');
  } else {
    char buf[5] = {'\\', static_cast<char>('0' + byte / 100), static_cast<char>('0' + byte / 10 % 10),
                   static_cast<char>('0' + byte % 10), 0};
    out += buf;
  }
}

}  // namespace

DnsParse parse_dns_query(std::span<const uint8_t> m, DnsQuery& q) {
  if (m.size() < 12) return DnsParse::NotAQuery;
  q.id = load_be16(m.data());
  uint16_t flags = load_be16(m.data() + 2);
  if (flags & 0x8000) return DnsParse::NotAQuery;  // QR: a response
  q.opcode = static_cast<uint8_t>((flags >> 11) & 0x0f);
  q.recursion_desired = (flags & 0x0100) != 0;
  if (load_be16(m.data() + 4) != 1) return DnsParse::Malformed;  // exactly one question
  size_t i = 12;
  size_t wire = 1;  // the root label
  std::string name;
  while (true) {
    if (i >= m.size()) return DnsParse::Malformed;
    uint8_t len = m[i++];
    if (len == 0) break;
    if (len > 63 || i + len > m.size()) return DnsParse::Malformed;  // also rejects pointers
    if (!name.empty()) name += '.';
    for (size_t k = 0; k < len; ++k) append_presentation(name, m[i + k]);
    wire += 1 + len;
    if (wire > 255) return DnsParse::Malformed;  // RFC 1035 §2.3.4: names are at most 255 octets
    i += len;
  }
  if (i + 4 > m.size()) return DnsParse::Malformed;
  q.qtype = load_be16(m.data() + i);
  q.qclass = load_be16(m.data() + i + 2);
  q.question = m.subspan(12, i + 4 - 12);
  q.name = std::move(name);
  return DnsParse::Ok;
}

std::vector<uint8_t> build_dns_response(const DnsQuery& q, DnsRcode rcode, std::optional<Ipv4> answer, uint32_t ttl) {
  bool with_question = !q.question.empty();
  bool with_answer = answer.has_value() && with_question;
  std::vector<uint8_t> r(12 + q.question.size() + (with_answer ? 16 : 0), 0);
  uint8_t* p = r.data();
  store_be16(p, q.id);
  uint16_t flags = 0x8000 | static_cast<uint16_t>((q.opcode & 0x0f) << 11) | 0x0400 /* AA */ | 0x0080 /* RA */;
  if (q.recursion_desired) flags |= 0x0100;
  flags |= static_cast<uint16_t>(rcode);
  store_be16(p + 2, flags);
  store_be16(p + 4, with_question ? 1 : 0);
  store_be16(p + 6, with_answer ? 1 : 0);
  if (with_question) std::memcpy(p + 12, q.question.data(), q.question.size());
  if (with_answer) {
    uint8_t* rr = p + 12 + q.question.size();
    store_be16(rr, 0xc00c);  // pointer to the question name
    store_be16(rr + 2, dns_type::k_a);
    store_be16(rr + 4, k_dns_class_in);
    store_be32(rr + 6, ttl);
    store_be16(rr + 10, 4);
    store_be32(rr + 12, answer->value);
  }
  return r;
}

}  // namespace net
