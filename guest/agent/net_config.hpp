// The guest side of the sandbox network, run by the agent after switch_root:
// `lo` up always; with BootConfig.net enabled, eth0's static address, MTU and
// default route (ioctl, no external tools), /etc/resolv.conf pointing at the
// gateway, IPv6 off, and the sandbox CA appended to the image's trust bundles
// and written to /etc/matchlock/ca.pem. docs/network.md, "Guest side".
#pragma once

#include <string>
#include <vector>

#include "guest/protocol/types.hpp"
#include "util/result.hpp"

namespace agent {

inline constexpr const char* k_sandbox_ca_path = "/etc/matchlock/ca.pem";
// The image's first trust bundle with the CA appended (the CA alone when it has none):
// what SSL_CERT_FILE and friends point at, so public CAs keep working.
inline constexpr const char* k_sandbox_bundle_path = "/etc/matchlock/ca-bundle.pem";

// Trust bundles the CA is appended to when they exist (Debian, Alpine, RHEL).
inline const std::vector<std::string> k_trust_bundles = {"/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
                                                         "/etc/pki/tls/certs/ca-bundle.crt"};

// Brings the loopback interface up (127.0.0.1/8).
util::Result<void> bring_up_loopback();

// Configures eth0 (waits up to a few seconds for it to appear), resolv.conf and the CA.
util::Result<void> configure_network(const protocol::NetConfig& net);

// Appends PEM to each existing bundle in BUNDLES (after a newline when the file
// does not end in one), writes it to CA_PATH and the combined bundle to BUNDLE_PATH
// (both in the same directory). Testable on any tree.
util::Result<void> install_ca(const std::string& pem, const std::vector<std::string>& bundles,
                              const std::string& ca_path, const std::string& bundle_path);

// After a resume from a memory snapshot: replaces the snapshot's CA (OLD_PEM, as
// install_ca appended it) by NEW_PEM in each existing bundle of BUNDLES, then
// rewrites CA_PATH and BUNDLE_PATH. A bundle without OLD_PEM gets NEW_PEM appended.
util::Result<void> replace_ca(const std::string& old_pem, const std::string& new_pem,
                              const std::vector<std::string>& bundles, const std::string& ca_path,
                              const std::string& bundle_path);

}  // namespace agent
