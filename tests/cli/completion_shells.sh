# The zsh and fish scripts of `matchlock completion` load in their shells and offer
# what `matchlock __complete` answers: verbs, task names, sandbox names. (The
# completion logic itself is tested through bash in cli.completion.) zsh and fish are
# in scripts/install-deps; the test is skipped (77) only when neither is installed.
source "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
printf 'version = 1\n[sandbox]\nimage = "alpine:3.20"\n[tasks.build]\nrun = "make"\n[tasks.test]\nrun = "make test"\n' >Matchlockfile
mkdir -p "$XDG_STATE_HOME/matchlock/sandboxes/alpha"
printf '{"name": "alpha", "state": "stopped"}\n' >"$XDG_STATE_HOME/matchlock/sandboxes/alpha/sandbox.json"
tested=0

if command -v zsh >/dev/null; then
  "$MATCHLOCK" completion zsh >"$TEST_TMP/_matchlock"
  zsh -n "$TEST_TMP/_matchlock" || fail "zsh: the script does not parse"
  # compadd only works inside the completion system: record what it is given instead.
  zsh_complete() {
    zsh -f -c '
      script=$1; shift
      compdef() { :; }
      _files() { print -r -- ":files" }
      compadd() { local -a out; while (( $# )); do case $1 in (-a) shift; out=("${(@P)1}");; (-d) shift;; (-l|--) ;; (*) out+=("$1");; esac; shift; done; print -rl -- $out }
      source $script
      words=("$@"); CURRENT=${#words}
      _matchlock' _ "$TEST_TMP/_matchlock" "$MATCHLOCK" "$@" | sort
  }
  got=$(zsh_complete "")
  grep -qx up <<<"$got" || fail "zsh: no verbs: $got"
  grep -qx __supervise <<<"$got" && fail "zsh: hidden verb offered"
  [ "$(zsh_complete run "")" = "$(printf 'build\ntest')" ] || fail "zsh: tasks: $(zsh_complete run "")"
  [ "$(zsh_complete down "")" = alpha ] || fail "zsh: sandboxes: $(zsh_complete down "")"
  [ "$(zsh_complete validate "")" = ":files" ] || fail "zsh: files: $(zsh_complete validate "")"
  tested=$((tested + 1))
fi

if command -v fish >/dev/null; then
  "$MATCHLOCK" completion fish >"$TEST_TMP/matchlock.fish"
  fish -n "$TEST_TMP/matchlock.fish" || fail "fish: the script does not parse"
  # fish's own `complete -C` runs the registered completion for a command line.
  fish_complete() {  # fish_complete LINE: the candidates' values, sorted
    fish --no-config -c "source $TEST_TMP/matchlock.fish; function matchlock; $MATCHLOCK \$argv; end; complete -C '$1'" | cut -f1 | sort
  }
  got=$(fish_complete "matchlock ")
  grep -qx up <<<"$got" || fail "fish: no verbs: $got"
  grep -qx __supervise <<<"$got" && fail "fish: hidden verb offered"
  [ "$(fish_complete "matchlock run ")" = "$(printf 'build\ntest')" ] || fail "fish: tasks: $(fish_complete "matchlock run ")"
  [ "$(fish_complete "matchlock down ")" = alpha ] || fail "fish: sandboxes: $(fish_complete "matchlock down ")"
  tested=$((tested + 1))
fi
[ "$tested" -gt 0 ] || { echo "SKIP: neither zsh nor fish is installed (scripts/install-deps installs both)"; exit 77; }
