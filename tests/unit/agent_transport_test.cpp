// The control channel's transport: the kernel command line word both ends agree on
// (guest/protocol/control_transport.hpp) and the agent's vsock listener
// (guest/agent/vsock_control.hpp). A vsock connection needs a hypervisor's transport
// (vhost-vsock or VZ); neither exists on this CI machine, so the accept is tested up to its timeout.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "guest/agent/vsock_control.hpp"
#include "guest/protocol/control_transport.hpp"

using protocol::ControlKind;
using protocol::ControlTransport;

TEST_CASE("control transport: absent or virtio-serial is QEMU's port, vsock:PORT is vsock") {
  struct Case {
    const char* cmdline;
    ControlTransport want;
  };
  const Case cases[] = {
      {"", {}},
      {"console=hvc0 panic=-1 quiet rdinit=/init", {}},
      {"console=ttyS0 matchlock.control=virtio-serial", {}},
      {"console=hvc0 matchlock.control=vsock:1024 quiet", {ControlKind::Vsock, 1024}},
      {"matchlock.control=vsock:0", {ControlKind::Vsock, 0}},
      {"matchlock.control=vsock:4294967294", {ControlKind::Vsock, 4294967294u}},
      // The last occurrence wins, as for the kernel's own parameters.
      {"matchlock.control=vsock:5 matchlock.control=virtio-serial", {}},
      {"matchlock.control=virtio-serial matchlock.control=vsock:7\n", {ControlKind::Vsock, 7}},
      // Only the exact key: a longer word is someone else's parameter.
      {"xmatchlock.control=vsock:9 matchlock.controller=vsock:9", {}},
  };
  for (const auto& c : cases) {
    INFO(c.cmdline);
    auto got = protocol::parse_control_transport(c.cmdline);
    REQUIRE(got);
    CHECK(*got == c.want);
  }
}

TEST_CASE("control transport: a bad value is an error naming the word") {
  for (const char* bad :
       {"matchlock.control=", "matchlock.control=vsock:", "matchlock.control=vsock:-1", "matchlock.control=vsock:12ab",
        "matchlock.control=vsock:4294967296", "matchlock.control=vsock:4294967295", "matchlock.control=tcp:80",
        "matchlock.control=vsock: 80"}) {
    INFO(bad);
    auto got = protocol::parse_control_transport(std::string("quiet ") + bad);
    REQUIRE_FALSE(got);
    std::string first_word(bad, std::string_view(bad).find(' ') == std::string_view::npos
                                    ? std::string_view(bad).size()
                                    : std::string_view(bad).find(' '));
    CHECK_THAT(got.error().message(), Catch::Contains(first_word));
  }
}

TEST_CASE("control transport: the host's word parses back to what it says") {
  for (ControlTransport t :
       {ControlTransport{}, ControlTransport{ControlKind::Vsock, protocol::k_vsock_control_port}}) {
    std::string word = protocol::control_cmdline(t);
    auto got = protocol::parse_control_transport("console=hvc0 " + word + " rdinit=/init");
    REQUIRE(got);
    CHECK(*got == t);
  }
  CHECK(protocol::control_cmdline({ControlKind::Vsock, 1024}) == "matchlock.control=vsock:1024");
}

TEST_CASE("agent vsock: listens on the port and gives up on a host that never connects") {
  auto listener = agent::listen_vsock(protocol::k_vsock_control_port + 4321);
  if (!listener) {
    // The host kernel has no AF_VSOCK (no vsock module): the error must say what failed.
    WARN("AF_VSOCK unavailable here: " << listener.error().message());
    CHECK_THAT(listener.error().message(), Catch::Contains("AF_VSOCK"));
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto conn = agent::accept_host(listener->get(), 200);
  auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(conn);
  CHECK_THAT(conn.error().message(), Catch::Contains("never connected"));
  CHECK(waited >= std::chrono::milliseconds(190));
  CHECK(waited < std::chrono::seconds(5));
  // The port is taken while the listener lives: a second agent could not bind it.
  auto second = agent::listen_vsock(protocol::k_vsock_control_port + 4321);
  CHECK_FALSE(second);
}
