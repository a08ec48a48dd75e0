# run TASK -- ARGS: a diamond of `needs` runs each task once, dependencies first; a
# failing task stops the chain with its exit code; env precedence
# image < [sandbox.env] < task env < -e; --dry-run; `tasks`; changed-file
# detection on `up` and --recreate.
. "$(dirname "$0")/lib.sh"
write_matchlockfile tk '
[sandbox.env]
A = "sandbox"
B = "sandbox"
C = "sandbox"
[tasks.base]
description = "bottom of the diamond"
run = "echo base >> /tmp/order"
[tasks.left]
run = "echo left >> /tmp/order"
needs = ["base"]
[tasks.right]
run = "echo right >> /tmp/order"
needs = ["base"]
[tasks.top]
description = "top of the diamond"
run = "echo top >> /tmp/order; cat /tmp/order | tr \"\\n\" \" \"; echo; echo args=$*"
needs = ["left", "right"]
[tasks.fails]
run = "echo failing; exit 7"
[tasks.after]
run = "echo after >> /tmp/order"
needs = ["fails"]
[tasks.env]
run = "echo $A $B $C $PATH_SET"
env = { B = "task", C = "task" }
'
run_ml tasks
expect_rc 0
expect_contains "$OUT" "top of the diamond"
expect_contains "$OUT" "needs left, right"

run_ml run --dry-run top
expect_rc 0
[ "$(printf '%s\n' "$OUT" | head -1)" = "1. base" ] || fail "order: $OUT"
[ "$(printf '%s\n' "$OUT" | tail -1)" = "4. top" ] || fail "order: $OUT"

# Words after `--` go to the task's "$@" (dashes included).
run_ml run top -- x -y
expect_rc 0
line=$(printf '%s\n' "$OUT" | grep -E '^base ')
[ "$line" = "base left right top " ] || [ "$line" = "base right left top " ] || fail "diamond order: '$line' ($OUT)"
expect_contains "$OUT" "args=x -y"
expect_contains "$ERR" "==> task top"

run_ml run after
expect_rc 7
expect_contains "$OUT" "failing"
run_ml exec tk -- cat /tmp/order
expect_contains "$OUT" "top"
case "$OUT" in *after*) fail "the task after a failure ran: $OUT" ;; esac

run_ml run -e C=flag env
expect_rc 0
[ "$OUT" = "sandbox task flag" ] || fail "env precedence: '$OUT'"

# The Matchlockfile changed: up says what and refuses without --recreate.
pid=$(record_field tk pid)
echo '[tasks.extra]
run = "true"' >>Matchlockfile
run_ml up
expect_rc 2
expect_contains "$ERR" "+[tasks.extra]"
expect_contains "$ERR" "--recreate"
run_ml up --recreate
expect_rc 0
expect_contains "$OUT" "(started)"
[ "$(record_field tk pid)" != "$pid" ] || fail "--recreate kept the old supervisor"
run_ml exec -- cat /tmp/order
[ "$RC" -ne 0 ] || fail "the recreated sandbox kept /tmp/order: $OUT"

# run --rm tears the sandbox down after the task.
run_ml run --rm base
expect_rc 0
[ ! -e "$XDG_STATE_HOME/matchlock/sandboxes/tk" ] || fail "run --rm left the sandbox"
no_qemu_left
