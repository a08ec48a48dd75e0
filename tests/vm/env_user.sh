# env, cwd and user come from the image config and are overridden by -e/-w/-u.
. "$(dirname "$0")/lib.sh"
ml_run -- sh -c 'echo "$PATH"; pwd; id -u'
expect_rc 0
expect_contains "$OUT" "/bin"          # the image's Env PATH
[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = "/" ] || fail "default cwd: $OUT"
[ "$(printf '%s\n' "$OUT" | sed -n 3p)" = "0" ] || fail "default user: $OUT"
export ML_FROM_HOST=passed-through
ml_run -e FOO=bar -e ML_FROM_HOST -w /tmp -u 1000 -- sh -c 'echo "$FOO $ML_FROM_HOST"; pwd; id -u; id -g'
expect_rc 0
[ "$OUT" = "$(printf 'bar passed-through\n/tmp\n1000\n1000')" ] || fail "overrides: $OUT / $ERR"
ml_run -w /no/such/dir -- true
[ "$RC" -ne 0 ] || fail "a missing workdir must fail"
