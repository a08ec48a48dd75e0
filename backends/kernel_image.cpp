#include "backends/kernel_image.hpp"

#include <zlib.h>

#include <memory>

namespace backends {

namespace {

constexpr size_t k_max_image = 256u << 20;  // a gzip that inflates past this is not a kernel

struct InflateEnd {
  void operator()(z_stream* z) const { inflateEnd(z); }
};

// One gzip member, inflated completely: a truncated or corrupt stream is an error.
util::Result<std::string> gunzip(std::string_view data, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return util::make_error(util::ErrorCode::Integrity, what + ": gunzip: " + why);
  };
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return bad("inflateInit2 failed");
  std::unique_ptr<z_stream, InflateEnd> owner(&z);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > k_max_image) return bad("inflates past 256 MiB");
    if (rc == Z_STREAM_END) return out;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) return bad("truncated");
    if (rc != Z_OK) return bad(z.msg ? z.msg : "corrupt stream");
  }
}

}  // namespace

std::optional<GuestArch> sniff_kernel_image(std::string_view head) {
  if (head.size() >= 0x3c && head.substr(0x38, 4) == std::string_view("ARM\x64", 4)) return GuestArch::Arm64;
  if (head.size() >= 0x206 && head.substr(0x202, 4) == "HdrS") return GuestArch::Amd64;
  return std::nullopt;
}

util::Result<std::string> arm64_image(std::string vmlinuz, const std::string& what) {
  if (vmlinuz.size() >= 2 && vmlinuz[0] == '\x1f' && vmlinuz[1] == '\x8b') vmlinuz = ML_TRY(gunzip(vmlinuz, what));
  auto arch = sniff_kernel_image(vmlinuz);
  if (arch == GuestArch::Arm64) return vmlinuz;
  if (vmlinuz.size() >= 8 && vmlinuz.substr(0, 2) == "MZ" && vmlinuz.substr(4, 4) == "zimg")
    return util::make_error(util::ErrorCode::Unsupported,
                            what + ": an EFI zboot image (compressed inside a PE file); not supported yet");
  return util::make_error(
      util::ErrorCode::Integrity,
      what + ": not an arm64 kernel Image" + (arch ? std::string(" (it is ") + to_string(*arch) + ")" : std::string()));
}

}  // namespace backends
