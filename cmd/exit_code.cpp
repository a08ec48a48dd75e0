#include "cmd/exit_code.hpp"

#include <unistd.h>

#include <string>

#include "util/terminal_text.hpp"

namespace cmd {

int exit_code_for(const util::Error& error) {
  switch (error.code()) {
    case util::ErrorCode::Usage:
    case util::ErrorCode::Config:
      return k_exit_usage;
    case util::ErrorCode::Frozen:
      return k_exit_frozen;
    case util::ErrorCode::Denied:
      return k_exit_denied;
    default:
      return k_exit_failure;
  }
}

int report(const util::Error& error) {
  // Messages may carry text from the guest (agent replies, console tails): shown escaped.
  std::string line = "matchlock: error: " + util::terminal_text(error.message(), util::Newlines::Keep) + "\n";
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
  return exit_code_for(error);
}

}  // namespace cmd
