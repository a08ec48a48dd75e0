// The shell scripts of `matchlock completion bash|zsh|fish` (cmd/complete.hpp does the work).
#pragma once

#include <optional>
#include <string_view>

namespace cmd {

inline constexpr const char* k_completion_shells = "bash|zsh|fish";

// The script for SHELL, nullopt for a shell we have none for.
std::optional<std::string_view> completion_script(std::string_view shell);

}  // namespace cmd
