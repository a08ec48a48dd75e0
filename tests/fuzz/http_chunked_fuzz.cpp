// Fuzz target: chunked bodies (net/proxy_stream BufferedReader::copy_chunked), in both modes:
// Verbatim (responses: forwarded as received) and Canonical (guest requests: parsed strictly
// and re-emitted without extensions or trailers, so no upstream can frame them differently).
// Input: byte 0 picks the read sizes, the rest is the body stream.
// Invariants: Verbatim forwards exactly the bytes it consumed and counts them; whatever
// Canonical accepts, Verbatim accepts with the same length; Canonical output is a fixed point
// (parsing it again, in either mode, yields it unchanged and consumes all of it).
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/memory_stream.hpp"

namespace {

using Mode = net::BufferedReader::Chunked;

struct Copy {
  bool ok = false;
  std::string out;
  uint64_t counted = 0;
  size_t used = 0;  // input bytes consumed
};

Copy copy(std::string_view body, uint8_t step, Mode mode) {
  fuzz::MemoryStream from(body, step), to({}, 0);
  net::BufferedReader reader(from);
  Copy c;
  c.ok = reader.copy_chunked(to, c.counted, mode).has_value();
  c.out = to.written();
  c.used = from.consumed() - reader.take_buffered().size();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  uint8_t step = in.u8();
  std::string_view body = in.rest();

  Copy verbatim = copy(body, step, Mode::Verbatim);
  FUZZ_CHECK(body.substr(0, verbatim.used).starts_with(verbatim.out));
  if (verbatim.ok) {
    FUZZ_CHECK(verbatim.out.size() == verbatim.used && verbatim.counted == verbatim.used);
    FUZZ_CHECK(copy(body, static_cast<uint8_t>(step + 1), Mode::Verbatim).used ==
               verbatim.used);  // read sizes do not matter
  }

  Copy canonical = copy(body, step, Mode::Canonical);
  if (!canonical.ok) return 0;
  FUZZ_CHECK(verbatim.ok && verbatim.used == canonical.used && canonical.counted == canonical.used);
  FUZZ_CHECK(canonical.out.ends_with("0\r\n\r\n"));
  for (Mode mode : {Mode::Canonical, Mode::Verbatim}) {
    Copy again = copy(canonical.out, static_cast<uint8_t>(step + 3), mode);
    FUZZ_CHECK(again.ok && again.out == canonical.out && again.used == canonical.out.size());
  }
  return 0;
}
