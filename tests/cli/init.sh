# `matchlock init` writes a valid Matchlockfile from a template, refuses to
# overwrite without --force, and rejects unknown templates (exit 2).
source "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
run_ml init
expect_rc 0
[ -f Matchlockfile ] || fail "no Matchlockfile written"
run_ml validate
expect_rc 0
run_ml init --template claude-code
expect_rc 2
expect_contains "$ERR" "Matchlockfile already exists (use --force to overwrite)"
run_ml init --template claude-code --force
expect_rc 0
grep -q 'api.anthropic.com' Matchlockfile || fail "--force did not write the claude-code template"
grep -q '#:schema' Matchlockfile && fail "the #:schema header (a source-tree path) was copied"
run_ml validate
expect_rc 0
run_ml init --list
expect_rc 0
list=$OUT
for t in default claude-code codex aider node-web python-data; do
  expect_contains "$list" "$t"
  run_ml -f "$TEST_TMP/$t.toml" init --template "$t"
  expect_rc 0
  run_ml validate "$TEST_TMP/$t.toml"
  expect_rc 0
done
run_ml init --template nope --force
expect_rc 2
expect_contains "$ERR" 'unknown template "nope"'
