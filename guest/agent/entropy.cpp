#include "guest/agent/entropy.hpp"

#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>

#include <cstring>
#include <vector>

#include "util/fd.hpp"

namespace agent {

util::Result<void> reseed_entropy(std::string_view seed) {
  util::Fd fd = ML_TRY(util::open_fd("/dev/urandom", O_RDWR));
  ML_TRY_CTX(util::write_all(fd.get(), seed), "mix the host's seed into /dev/urandom");
  std::vector<uint32_t> words(sizeof(rand_pool_info) / sizeof(uint32_t) + (seed.size() + 3) / 4 + 1, 0);
  auto* info = reinterpret_cast<rand_pool_info*>(words.data());
  info->entropy_count = static_cast<int>(seed.size() * 8);
  info->buf_size = static_cast<int>(seed.size());
  std::memcpy(info->buf, seed.data(), seed.size());
  if (::ioctl(fd.get(), RNDADDENTROPY, info) < 0) return util::sys_error("ioctl RNDADDENTROPY", "/dev/urandom");
  if (::ioctl(fd.get(), RNDRESEEDCRNG) < 0) return util::sys_error("ioctl RNDRESEEDCRNG", "/dev/urandom");
  return util::ok();
}

}  // namespace agent
