// Exit codes (documented in README.md):
//   0 ok, 2 usage or configuration error, 3 lockfile missing/out of date under
//   --frozen, 4 refused (trust not granted), 125 matchlock itself failed.
//   Commands run in a sandbox pass their own code through (126, 127, 128+N).
#pragma once

#include <utility>

#include "util/result.hpp"

namespace cmd {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_frozen = 3;
inline constexpr int k_exit_denied = 4;
inline constexpr int k_exit_failure = 125;

int exit_code_for(const util::Error& error);
// Prints "matchlock: error: MESSAGE" and returns exit_code_for(error).
int report(const util::Error& error);

// A verb's CLI11 callback from BODY, a callable returning util::Result<int>: the verb's
// exit code is BODY's value, or report(error) when BODY fails. Verbs return errors
// (`if (!x) return x.error();`, ML_TRY) instead of setting the code by hand.
template <class Body>
auto verb_callback(int& exit_code, Body body) {
  return [&exit_code, body = std::move(body)]() mutable {
    util::Result<int> r = body();
    exit_code = r ? *r : report(r.error());
  };
}

}  // namespace cmd
