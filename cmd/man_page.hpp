// `matchlock man`: the manual page (roff, man(7) macros) generated from the
// same CLI11 definitions as --help and the shell completion.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace cmd {

std::string man_page(const CLI::App& root);

}  // namespace cmd
