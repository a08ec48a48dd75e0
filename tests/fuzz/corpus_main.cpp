// Replays a fuzz corpus as a plain test: every file, every prefix of it, and every single-bit
// flip of its first 128 bytes. Fails if the corpus is empty; crashes are the failure otherwise.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  size_t files = 0, runs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path(), std::ios::binary);
    std::vector<uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ++files;
    for (size_t n = 0; n <= d.size(); ++n, ++runs) LLVMFuzzerTestOneInput(d.data(), n);
    for (size_t bit = 0; bit < std::min<size_t>(d.size(), 128) * 8; ++bit, ++runs) {
      d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      LLVMFuzzerTestOneInput(d.data(), d.size());
      d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    }
  }
  if (files == 0) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 1;
  }
  std::printf("%zu corpus files, %zu inputs, no crash\n", files, runs);
  return 0;
}
