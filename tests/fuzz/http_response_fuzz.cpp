// Fuzz target: what an upstream sends back on a proxied HTTP/1.1 connection, through the
// proxy's response path without sockets (net/proxy_http.cpp): response heads (1xx skipped),
// response_framing for the request's method, the body copied by its framing (Content-Length,
// verbatim chunked, until close), keep-alive, then the next response.
// Input: byte 0 picks the request (method, version, Connection), byte 1 the read sizes, the
// rest is the upstream's byte stream.
// Invariants: what reaches the guest is exactly what the upstream sent, in order (heads and
// bodies are forwarded byte for byte); a head re-serialised parses back to the same message.
#include "net/http_message.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/memory_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  uint8_t pick = in.u8();
  uint8_t step = in.u8();
  static constexpr const char* k_methods[] = {"GET", "HEAD", "POST", "OPTIONS"};
  net::HttpHead req;
  req.method = k_methods[pick & 3];
  req.target = "/";
  req.version = (pick & 4) ? "HTTP/1.0" : "HTTP/1.1";
  req.headers.push_back({"Host", "allowed.test"});
  if (pick & 8) req.headers.push_back({"Connection", "close"});
  std::string_view stream = in.rest();
  fuzz::MemoryStream upstream_stream(stream, step);
  fuzz::MemoryStream client({}, 0);
  net::BufferedReader upstream(upstream_stream);
  bool clean = true;  // stopped between messages, not inside one
  for (int exchange = 0; exchange < 8 && clean; ++exchange) {
    net::HttpHead resp;
    for (int interim = 0;; ++interim) {
      auto rhead = upstream.read_head(net::k_max_head_bytes);
      if (!rhead) clean = false;
      if (!rhead || !*rhead) break;
      auto parsed = net::parse_response_head(**rhead);
      if (!parsed) {
        clean = false;
        break;
      }
      resp = std::move(*parsed);
      FUZZ_CHECK(resp.status >= 100 && resp.status <= 999);
      auto again = net::parse_response_head(resp.serialize_response());
      FUZZ_CHECK(again && again->status == resp.status && again->headers.size() == resp.headers.size());
      FUZZ_CHECK(client.write(**rhead));
      if (resp.status >= 200 || resp.status == 101 || interim > 64) break;
    }
    if (!clean || resp.status == 0) break;
    auto framing = net::response_framing(resp, req.method);
    if (!framing) {
      clean = false;
      break;
    }
    if (req.method == "HEAD" || resp.status == 204 || resp.status == 304)
      FUZZ_CHECK(framing->kind == net::BodyKind::None);
    if (resp.status == 101) break;  // a tunnel from here on
    uint64_t counted = 0;
    util::Result<void> copied = util::ok();
    if (framing->kind == net::BodyKind::Length) copied = upstream.copy_exact(framing->length, client, counted);
    if (framing->kind == net::BodyKind::Chunked) copied = upstream.copy_chunked(client, counted);
    if (framing->kind == net::BodyKind::UntilClose) copied = upstream.copy_to_eof(client, counted);
    if (!copied) clean = false;
    if (copied && framing->kind == net::BodyKind::Length) FUZZ_CHECK(counted == framing->length);
    if (framing->kind == net::BodyKind::UntilClose || !net::keeps_alive(req, resp)) break;
  }
  // Forwarded byte for byte: the guest got the stream's bytes in order, and all of what was
  // consumed unless a message broke off.
  size_t used = upstream_stream.consumed() - upstream.take_buffered().size();
  FUZZ_CHECK(stream.substr(0, used).starts_with(client.written()));
  if (clean) FUZZ_CHECK(client.written().size() == used);
  return 0;
}
