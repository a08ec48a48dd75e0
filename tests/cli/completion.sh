# `matchlock completion bash` completes verbs, flags, option values, task names
# (from the Matchlockfile in the current directory, or -f) and sandbox names (from
# the state directory), run by bash's own completion machinery (COMP_WORDS,
# COMP_CWORD, the function `complete -F` registered). The hidden supervisor verb is
# in neither --help nor the completion.
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_TMP/proj"
cd "$TEST_TMP/proj"
cat >Matchlockfile <<'TOML'
version = 1
[sandbox]
image = "alpine:3.20"
[tasks.build]
description = "Build it"
run = "make"
[tasks.test]
run = "make test"
[tasks.lint]
run = "make lint"
TOML
mkdir -p other
printf 'version = 1\n[sandbox]\nimage = "alpine:3.20"\n[tasks.elsewhere]\nrun = "true"\n' >other/Matchlockfile
for s in alpha beta; do
  mkdir -p "$XDG_STATE_HOME/matchlock/sandboxes/$s"
  printf '{"name": "%s", "state": "stopped"}\n' "$s" >"$XDG_STATE_HOME/matchlock/sandboxes/$s/sandbox.json"
done

run_ml completion bash
expect_rc 0
printf '%s\n' "$OUT" >"$TEST_TMP/matchlock.bash"

# complete WORD...: what bash offers for the last word of `matchlock WORD...`, one per line, sorted.
complete_bash() {
  bash -c '
    source "$1"; shift
    complete -p matchlock >/dev/null || exit 9   # the script registered its function
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _matchlock
    printf "%s\n" "${COMPREPLY[@]}"' _ "$TEST_TMP/matchlock.bash" "$MATCHLOCK" "$@" | sort
}
expect_words() {  # expect_words "EXPECTED (one per line)" WORD...
  local want=$1 got
  shift
  got=$(complete_bash "$@")
  [ "$got" = "$want" ] || fail "completing 'matchlock $*': expected
$want
got
$got"
}
has_word() {  # has_word WORD LIST
  grep -qx -- "$1" <<<"$2"
}

verbs=$(complete_bash "")
for v in up run exec down tasks completion man init validate kernel; do
  has_word "$v" "$verbs" || fail "verb $v not offered: $verbs"
done
has_word __supervise "$verbs" && fail "the hidden __supervise verb is offered"
expect_words "up" u
expect_words "$(printf 'render\nrun\nrm\nrmi' | sort)" r
expect_words "kubernetes" render ""
# Task names, from ./Matchlockfile or -f's.
expect_words "$(printf 'build\nlint\ntest' | sort)" run ""
expect_words "test" run t
expect_words "elsewhere" -f other/Matchlockfile run ""
expect_words "elsewhere" --file=other/Matchlockfile run ""
# After the task, the words are its arguments: no more task names.
expect_words "" run build ""
expect_words "" run -- ""
# Sandbox names, from the state directory.
expect_words "$(printf 'alpha\nbeta')" exec ""
expect_words "alpha" down a
expect_words "$(printf 'alpha\nbeta')" up --name ""
expect_words "$(printf 'alpha\nbeta')" rm alpha ""
# Flags: the verb's and the global ones; values of the options that have a fixed set.
up_flags=$(complete_bash up --)
for f in --name --json --recreate --dry-run --pull --frozen --trust --file --verbose --quiet --help; do
  has_word "$f" "$up_flags" || fail "up: $f not offered: $up_flags"
done
has_word --rm "$up_flags" && fail "up: run's --rm offered"
expect_words "$(printf 'always\nmissing\nnever')" up --pull ""
expect_words "$(printf 'always\nmissing\nnever')" run --pull ""
expect_words "never" run --pull n
expect_words "$(printf 'bash\nfish\nzsh')" completion ""
expect_words "$(printf 'aider\nclaude-code\ncodex\nnone')" init --agent ""
expect_words "$(printf 'go\nnode\nnone\npython')" init --project ""
templates=$(complete_bash init --template "")
has_word claude-code "$templates" && has_word default "$templates" || fail "templates: $templates"
expect_words "$(printf 'install\npush\nshow')" kernel ""
# File values: bash completes paths.
expect_words "$(printf 'Matchlockfile\nother')" validate ""
expect_words "other" -f ot
# Nothing for the hidden verb, nothing for an unknown one.
expect_words "" __supervise ""
expect_words "" nosuchverb ""

# The protocol under the scripts: "VALUE<TAB>HELP" lines.
run_ml __complete ""
expect_rc 0
expect_contains "$OUT" "$(printf 'up\tBoot the sandbox')"
run_ml __complete run ""
expect_contains "$OUT" "$(printf 'build\tBuild it')"
run_ml __complete validate ""
[ "$OUT" = ":files" ] || fail "validate's files: $OUT"

# --help lists neither the hidden verb nor an empty line for it.
run_ml --help
expect_rc 0
case "$OUT" in *__supervise*) fail "--help lists __supervise: $OUT" ;; esac
expect_contains "$OUT" "completion"
run_ml completion tcsh
expect_rc 2
expect_contains "$ERR" 'no completion for shell "tcsh"'
