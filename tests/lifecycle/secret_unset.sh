# A secret whose `from = "env:VAR"` is unset or empty is a configuration error with
# exit 2 whichever way the sandbox starts: `run -- CMD` (in the CLI), `up` and
# `run TASK` (in the supervisor, whose failure the CLI reports as its own): what
# docs/ci.md tells CI users about secrets a fork's workflow does not get.
. "$(dirname "$0")/lib.sh"
unset ML_TEST_SECRET
write_matchlockfile su '
[secrets.ML_TEST_SECRET]
from = "env:ML_TEST_SECRET"
hosts = ["api.example.com"]

[tasks.t]
run = "echo task-ran"'
for args in "up" "run --rm t" "run --rm -- true"; do
  run_ml $args
  expect_rc 2
  expect_contains "$ERR" "secret ML_TEST_SECRET (env:ML_TEST_SECRET): environment variable ML_TEST_SECRET is not set"
  case "$OUT" in *task-ran*) fail "$args: the task ran" ;; esac
done
export ML_TEST_SECRET=
run_ml run --rm t
expect_rc 2
expect_contains "$ERR" "the value is empty"
# Set: it starts and the task runs.
export ML_TEST_SECRET=s3cret
run_ml run --rm t
expect_rc 0
expect_contains "$OUT" "task-ran"
no_qemu_left
