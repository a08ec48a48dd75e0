// Sniffing a TLS ClientHello: is this flow TLS, and which server name does it
// claim (SNI)? Parses from memory; handles a hello split over several records.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace net {

enum class HelloStatus { NeedMore, NotTls, Malformed, Complete };

struct ClientHello {
  HelloStatus status = HelloStatus::NeedMore;
  std::string server_name;        // lowercase host_name from the SNI extension; empty when absent
  std::vector<std::string> alpn;  // protocols offered, in order
  // An encrypted ClientHello (ECH, ext 0xfe0d, or the draft ESNI, 0xffce): the name we
  // check would be only the outer one, the server would act on the hidden inner one.
  bool encrypted_hello = false;
};

// DATA is the first bytes the client sent. NeedMore: call again with more bytes.
// Anything an upstream could read differently from us is Malformed: an extension type
// twice (RFC 8446 §4.2), more than one host_name or an empty one (RFC 6066 §3), bytes
// after the extensions.
ClientHello parse_client_hello(std::span<const uint8_t> data);

// Bytes of a fatal TLS alert record (level 2) with DESCRIPTION, e.g. 49 access_denied,
// 112 unrecognized_name, 40 handshake_failure.
std::string tls_alert_record(uint8_t description);
inline constexpr uint8_t k_alert_access_denied = 49;
inline constexpr uint8_t k_alert_unrecognized_name = 112;

}  // namespace net
