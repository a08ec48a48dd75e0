// Replays a fuzz corpus as a plain test (ctest fuzz.NAME, every build, no clang needed):
// every file whole, 64 prefixes of it (all of them for files up to 64 bytes), and every
// single-bit flip of its first 64 bytes. Fails if the corpus is empty; a crash or a broken
// invariant (FUZZ_CHECK aborts) is the failure otherwise.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t k_prefixes = 64;
constexpr size_t k_flip_bytes = 64;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // the same order on every run
  size_t runs = 0;
  for (const auto& path : files) {
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // A copy of exactly N bytes, so ASan sees any read past the end.
    auto run = [&](size_t n) {
      std::vector<uint8_t> copy(d.begin(), d.begin() + static_cast<long>(n));
      LLVMFuzzerTestOneInput(copy.data(), copy.size());
      ++runs;
    };
    run(d.size());
    size_t step = std::max<size_t>(1, d.size() / k_prefixes);
    for (size_t n = 0; n < d.size(); n += step) run(n);
    for (size_t bit = 0; bit < std::min(d.size(), k_flip_bytes) * 8; ++bit) {
      d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      run(d.size());
      d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  std::printf("%zu corpus files, %zu inputs, no crash\n", files.size(), runs);
  return 0;
}
