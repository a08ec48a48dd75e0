// util::EventLoop, built twice: util_tests (the host platform's loop: epoll on Linux) and
// util_posix_tests (the poll(2) loop macOS uses). Every case must hold for both.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "util/event_loop.hpp"
#include "util/fd.hpp"

namespace {

struct Pair {
  util::Fd a, b;
};

Pair socket_pair() {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  Pair p{util::Fd(sv[0]), util::Fd(sv[1])};
  REQUIRE(util::set_nonblocking(p.a.get()).has_value());
  REQUIRE(util::set_nonblocking(p.b.get()).has_value());
  return p;
}

util::EventLoop make_loop() {
  auto loop = util::EventLoop::create();
  REQUIRE(loop.has_value());
  return std::move(*loop);
}

std::vector<util::Event> wait_for(util::EventLoop& loop, int timeout_ms) {
  std::vector<util::Event> out(16);
  auto n = loop.wait(out, timeout_ms);
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

uint32_t events_of(const std::vector<util::Event>& evs, uint64_t token) {
  uint32_t e = 0;
  for (const auto& x : evs)
    if (x.token == token) e |= x.events;
  return e;
}

void put(int fd, const char* s) { REQUIRE(::write(fd, s, strlen(s)) == static_cast<ssize_t>(strlen(s))); }

void drain(int fd) {
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace

TEST_CASE("event loop: wake() from another thread returns the wake token") {
  auto loop = make_loop();
  std::thread t([&] { loop.wake(); });
  auto evs = wait_for(loop, 5000);
  t.join();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].token == util::EventLoop::k_wake_token);
  loop.drain_wake();
  CHECK(wait_for(loop, 0).empty());
}

TEST_CASE("event loop: level-triggered readiness repeats until the data is read") {
  auto loop = make_loop();
  auto p = socket_pair();
  REQUIRE(loop.add(p.a.get(), util::ev::k_in, 7).has_value());
  CHECK(wait_for(loop, 0).empty());
  put(p.b.get(), "x");
  CHECK((events_of(wait_for(loop, 1000), 7) & util::ev::k_in));
  CHECK((events_of(wait_for(loop, 1000), 7) & util::ev::k_in));  // still unread: reported again
  drain(p.a.get());
  CHECK(wait_for(loop, 0).empty());
}

TEST_CASE("event loop: an edge is reported once, not again while the owner has not drained") {
  auto loop = make_loop();
  auto p = socket_pair();
  REQUIRE(loop.add(p.a.get(), util::ev::k_in | util::ev::k_edge, 9).has_value());
  put(p.b.get(), "one");
  CHECK((events_of(wait_for(loop, 1000), 9) & util::ev::k_in));
  // Backpressure: the owner keeps the readiness and does not read. No spinning.
  CHECK(wait_for(loop, 50).empty());
  // Drained to EAGAIN: the next data is a new edge.
  drain(p.a.get());
  loop.rearm(p.a.get(), util::ev::k_in);
  CHECK(wait_for(loop, 0).empty());
  put(p.b.get(), "two");
  CHECK((events_of(wait_for(loop, 1000), 9) & util::ev::k_in));
}

TEST_CASE("event loop: an edge registration reports writability once") {
  auto loop = make_loop();
  auto p = socket_pair();
  REQUIRE(loop.add(p.a.get(), util::ev::k_in | util::ev::k_out | util::ev::k_edge, 3).has_value());
  auto first = events_of(wait_for(loop, 1000), 3);
  CHECK((first & util::ev::k_out));
  CHECK(!(first & util::ev::k_in));
  CHECK(wait_for(loop, 50).empty());
}

TEST_CASE("event loop: a peer's close or shutdown wakes the reader") {
  auto loop = make_loop();
  auto p = socket_pair();
  REQUIRE(loop.add(p.a.get(), util::ev::k_in | util::ev::k_rdhup | util::ev::k_edge, 5).has_value());
  SECTION("shutdown(SHUT_WR)") {
    REQUIRE(::shutdown(p.b.get(), SHUT_WR) == 0);
    CHECK((events_of(wait_for(loop, 1000), 5) & (util::ev::k_in | util::ev::k_rdhup)));
    char c;
    CHECK(::read(p.a.get(), &c, 1) == 0);  // end of file
  }
  SECTION("close") {
    p.b.reset();
    auto e = events_of(wait_for(loop, 1000), 5);
    CHECK((e & util::ev::k_hup));
    CHECK(wait_for(loop, 50).empty());  // edge: reported once
  }
}

TEST_CASE("event loop: modify changes the interest and remove stops the reports") {
  auto loop = make_loop();
  auto p = socket_pair();
  REQUIRE(loop.add(p.a.get(), util::ev::k_in, 1).has_value());
  CHECK(wait_for(loop, 0).empty());
  REQUIRE(loop.modify(p.a.get(), util::ev::k_in | util::ev::k_out, 2).has_value());
  auto evs = wait_for(loop, 1000);
  CHECK((events_of(evs, 2) & util::ev::k_out));
  CHECK(events_of(evs, 1) == 0);
  loop.remove(p.a.get());
  put(p.b.get(), "x");
  CHECK(wait_for(loop, 50).empty());
  CHECK(!loop.modify(p.a.get(), util::ev::k_in, 2).has_value());  // no longer registered
}

TEST_CASE("event loop: more ready fds than the output span are all reported over several waits") {
  auto loop = make_loop();
  std::vector<Pair> pairs;
  for (uint64_t i = 0; i < 40; ++i) {
    pairs.push_back(socket_pair());
    REQUIRE(loop.add(pairs.back().a.get(), util::ev::k_in, i).has_value());
    put(pairs.back().b.get(), "x");
  }
  std::vector<bool> seen(40);
  for (int round = 0; round < 10; ++round) {
    for (const auto& e : wait_for(loop, 1000)) {
      REQUIRE(e.token < 40);
      seen[e.token] = true;
      drain(pairs[e.token].a.get());
    }
  }
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i]);
}

TEST_CASE("event loop: an fd closed while registered is dropped, and its number can be registered again") {
  auto loop = make_loop();
  auto p = socket_pair();
  int n = p.a.get();
  REQUIRE(loop.add(n, util::ev::k_in | util::ev::k_edge, 11).has_value());
  p.a.reset();  // closed without remove()
  CHECK(wait_for(loop, 0).empty());
  auto q = socket_pair();
  REQUIRE(::dup2(q.a.get(), n) == n);  // the same number, a new file
  util::Fd reused(n);
  REQUIRE(loop.add(n, util::ev::k_in | util::ev::k_edge, 12).has_value());
  loop.forget(n, 11);  // the old owner's late forget must not drop the new registration
  put(q.b.get(), "x");
  auto evs = wait_for(loop, 1000);
  CHECK((events_of(evs, 12) & util::ev::k_in));
  CHECK(events_of(evs, 11) == 0);
}
