// The scripts `matchlock completion SHELL` prints. Each is a thin shim: on TAB
// it runs the same program the user typed (the command line's first word) as
// `PROG __complete WORD...` and offers what it prints (cmd/complete.hpp), so
// verbs, flags, task and sandbox names always match the binary in use.
#include "cmd/completion_scripts.hpp"

namespace cmd {

namespace {

constexpr std::string_view k_bash = R"BASH(# matchlock completion for bash: source <(matchlock completion bash)
_matchlock() {
  local cur=${COMP_WORDS[COMP_CWORD]} line paths=
  local -a words=("${COMP_WORDS[@]:1:COMP_CWORD}")
  COMPREPLY=()
  while IFS= read -r line; do
    case $line in
      :files) paths=files ;;
      :dirs) paths=dirs ;;
      *) COMPREPLY+=("${line%%$'\t'*}") ;;
    esac
  done < <("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null)
  if [ -n "$paths" ]; then
    local IFS=$'\n'
    if [ "$paths" = dirs ]; then COMPREPLY=($(compgen -d -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
    compopt -o filenames 2>/dev/null
  fi
}
complete -F _matchlock matchlock
)BASH";

constexpr std::string_view k_zsh = R"ZSH(#compdef matchlock
# matchlock completion for zsh: put this file in $fpath as _matchlock, or
# source <(matchlock completion zsh) after compinit.
_matchlock() {
  local -a values descriptions
  local line paths=
  for line in "${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
    case $line in
      ('') ;;
      (:files) paths=files ;;
      (:dirs) paths=dirs ;;
      (*$'\t'*) values+=("${line%%$'\t'*}"); descriptions+=("${line%%$'\t'*}  -- ${line#*$'\t'}") ;;
      (*) values+=("$line"); descriptions+=("$line") ;;
    esac
  done
  if [[ $paths == files ]]; then _files; return; fi
  if [[ $paths == dirs ]]; then _files -/; return; fi
  (( ${#values} )) && compadd -l -d descriptions -a values
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _matchlock "$@"
else
  compdef _matchlock matchlock
fi
)ZSH";

constexpr std::string_view k_fish = R"FISH(# matchlock completion for fish: matchlock completion fish | source
# (or save it as ~/.config/fish/completions/matchlock.fish)
function __matchlock_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete $words[2..-1] 2>/dev/null)
    for line in $out
        switch $line
            case ':files'
                __fish_complete_path (commandline -ct)
            case ':dirs'
                __fish_complete_directories (commandline -ct)
            case '*'
                echo $line
        end
    end
end
complete -c matchlock -f -a '(__matchlock_complete)'
)FISH";

}  // namespace

std::optional<std::string_view> completion_script(std::string_view shell) {
  if (shell == "bash") return k_bash;
  if (shell == "zsh") return k_zsh;
  if (shell == "fish") return k_fish;
  return std::nullopt;
}

}  // namespace cmd
