// Splicer (tests only): copies bytes between a flow's socketpair end and a TCP connection to
// 127.0.0.1:port, one thread per flow, propagating half-close both ways and resets as resets.
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "util/fd.hpp"

namespace test_net {

class Splicer {
 public:
  ~Splicer() { join_all(); }
  void add(util::Fd flow, uint16_t port);
  void join_all();

 private:
  std::mutex m_mutex;
  std::vector<std::thread> m_threads;
};

}  // namespace test_net
