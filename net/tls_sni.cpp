#include "net/tls_sni.hpp"

#include <optional>
#include <set>

namespace net {

namespace {

constexpr size_t k_max_hello = 64 * 1024;

// Bounds-checked big-endian reader.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> d) : m_d(d) {}
  bool has(size_t n) const { return m_pos + n <= m_d.size(); }
  std::optional<uint32_t> num(int bytes) {
    if (!has(static_cast<size_t>(bytes))) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | m_d[m_pos++];
    return v;
  }
  std::optional<std::span<const uint8_t>> take(size_t n) {
    if (!has(n)) return std::nullopt;
    auto s = m_d.subspan(m_pos, n);
    m_pos += n;
    return s;
  }
  bool skip(size_t n) { return take(n).has_value(); }
  bool done() const { return m_pos == m_d.size(); }

 private:
  std::span<const uint8_t> m_d;
  size_t m_pos = 0;
};

std::string lower(std::span<const uint8_t> s) {
  std::string out(s.begin(), s.end());
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Extensions block of a complete ClientHello body.
bool parse_extensions(Reader& r, ClientHello& out) {
  if (r.done()) return true;  // no extensions at all
  auto total = r.num(2);
  if (!total) return false;
  auto block = r.take(*total);
  if (!block) return false;
  Reader e(*block);
  std::set<uint32_t> seen;
  while (!e.done()) {
    auto type = e.num(2);
    auto len = e.num(2);
    if (!type || !len) return false;
    if (!seen.insert(*type).second) return false;  // an extension twice
    auto body = e.take(*len);
    if (!body) return false;
    Reader b(*body);
    if (*type == 0xfe0d || *type == 0xffce) out.encrypted_hello = true;
    if (*type == 0) {  // server_name
      auto list_len = b.num(2);
      if (!list_len) return false;
      auto list = b.take(*list_len);
      if (!list || !b.done()) return false;
      Reader l(*list);
      while (!l.done()) {
        auto name_type = l.num(1);
        auto name_len = l.num(2);
        if (!name_type || !name_len) return false;
        auto name = l.take(*name_len);
        if (!name) return false;
        if (*name_type == 0) {
          if (!out.server_name.empty() || name->empty()) return false;  // one host_name, not empty
          out.server_name = lower(*name);
        }
      }
    } else if (*type == 16) {  // application_layer_protocol_negotiation
      auto list_len = b.num(2);
      if (!list_len) return false;
      auto list = b.take(*list_len);
      if (!list) return false;
      Reader l(*list);
      while (!l.done()) {
        auto plen = l.num(1);
        if (!plen) return false;
        auto p = l.take(*plen);
        if (!p) return false;
        out.alpn.emplace_back(p->begin(), p->end());
      }
    }
  }
  return true;
}

}  // namespace

ClientHello parse_client_hello(std::span<const uint8_t> data) {
  ClientHello out;
  // Reassemble the handshake layer from consecutive handshake records.
  std::vector<uint8_t> hs;
  size_t pos = 0;
  std::optional<size_t> need;  // total handshake bytes: 4 + body length
  while (!need || hs.size() < *need) {
    if (data.size() - pos < 5) {
      // Decide "not TLS" as early as possible from the first bytes.
      if (pos == 0 && !data.empty() && data[0] != 22)
        out.status = HelloStatus::NotTls;
      else if (pos == 0 && data.size() >= 2 && data[1] != 3)
        out.status = HelloStatus::NotTls;
      return out;
    }
    if (data[pos] != 22 || data[pos + 1] != 3) {
      out.status = pos == 0 ? HelloStatus::NotTls : HelloStatus::Malformed;
      return out;
    }
    size_t rec_len = (size_t{data[pos + 3]} << 8) | data[pos + 4];
    if (rec_len == 0 || rec_len > 16384 + 2048) {
      out.status = HelloStatus::Malformed;
      return out;
    }
    if (data.size() - pos - 5 < rec_len) return out;  // NeedMore
    hs.insert(hs.end(), data.begin() + static_cast<long>(pos + 5), data.begin() + static_cast<long>(pos + 5 + rec_len));
    pos += 5 + rec_len;
    if (!need && hs.size() >= 4) {
      if (hs[0] != 1) {  // not a ClientHello
        out.status = HelloStatus::Malformed;
        return out;
      }
      need = 4 + ((size_t{hs[1]} << 16) | (size_t{hs[2]} << 8) | hs[3]);
      if (*need > k_max_hello) {
        out.status = HelloStatus::Malformed;
        return out;
      }
    }
  }
  Reader r(std::span<const uint8_t>(hs).subspan(4, *need - 4));
  bool ok = r.skip(2) && r.skip(32);  // legacy_version, random
  auto sid_len = ok ? r.num(1) : std::nullopt;
  ok = sid_len && r.skip(*sid_len);
  auto cs_len = ok ? r.num(2) : std::nullopt;
  ok = cs_len && r.skip(*cs_len);
  auto cm_len = ok ? r.num(1) : std::nullopt;
  ok = cm_len && r.skip(*cm_len);
  if (!ok || !parse_extensions(r, out) || !r.done()) {
    out.status = HelloStatus::Malformed;
    out.server_name.clear();
    out.alpn.clear();
    return out;
  }
  out.status = HelloStatus::Complete;
  return out;
}

std::string tls_alert_record(uint8_t description) {
  // ContentType alert(21), TLS 1.2 record version, length 2, level fatal(2), description.
  return std::string{'\x15', '\x03', '\x03', '\x00', '\x02', '\x02', static_cast<char>(description)};
}

}  // namespace net
