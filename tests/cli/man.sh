# `matchlock man` prints a man(7) page generated from the CLI definitions: groff
# renders it without a warning, `man -l` shows every visible verb with its
# options and the exit codes, and the hidden supervisor verb is not in it.
source "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || fail "groff is not installed (scripts/install-deps: groff-base)"
run_ml man
expect_rc 0
page=$OUT
printf '%s\n' "$page" >"$TEST_TMP/matchlock.1"
case "$page" in .\\\"*) ;; *) fail "not a roff page: $(printf '%s' "$page" | head -3)" ;; esac
# -ww: all warnings; -z: no output, only the diagnostics.
warnings=$(groff -man -ww -z "$TEST_TMP/matchlock.1" 2>&1)
[ -z "$warnings" ] || fail "groff warns: $warnings"
text=$(MANWIDTH=100 man -l "$TEST_TMP/matchlock.1" 2>&1 | col -b 2>/dev/null || MANWIDTH=100 man -l "$TEST_TMP/matchlock.1")
expect_contains "$text" "MATCHLOCK(1)"
expect_contains "$text" "matchlock - run AI coding agents in microVMs"
# Every verb --help lists is a section, with its options.
run_ml --help
verbs=$(printf '%s\n' "$OUT" | awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }')
[ "$(printf '%s\n' "$verbs" | wc -l)" -ge 20 ] || fail "too few verbs in --help: $verbs"
for v in $verbs; do
  expect_contains "$text" "matchlock $v"
done
expect_contains "$text" "--frozen"
expect_contains "$text" "--pull always|missing|never"
expect_contains "$text" "matchlock kernel install"
expect_contains "$text" "EXIT STATUS"
expect_contains "$text" "125"
case "$text" in *__supervise*) fail "the man page documents __supervise" ;; esac
