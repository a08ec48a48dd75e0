// Fresh randomness for a VM resumed from a memory snapshot: every sibling resumed
// from one snapshot starts with the same CRNG state, so the host sends seed bytes
// with "resume" and the agent mixes them in before anything else runs
// (docs/threat-model.md, "Memory snapshots").
#pragma once

#include <string_view>

#include "util/result.hpp"

namespace agent {

// Writes SEED to /dev/urandom, credits it (RNDADDENTROPY, 8 bits a byte: the host's
// getrandom output) and forces the CRNG to reseed now (RNDRESEEDCRNG), so the next
// getrandom()/urandom read in the guest depends on SEED.
util::Result<void> reseed_entropy(std::string_view seed);

}  // namespace agent
