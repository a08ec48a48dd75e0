#!/usr/bin/env bash
# oci.kernel_push: `matchlock kernel push REF` publishes the installed bundle as an OCI
# artifact; `[sandbox].kernel = "REF@sha256:..."` pulls it into a fresh cache (every
# file checked against bundle.json) and boots it under QEMU; `lock` records the kernel
# and `pull --frozen` checks it; a wrong digest or a tag-only reference is refused.
. "$(dirname "$0")/../vm/lib.sh"

run_ml kernel show
expect_rc 0
release=$(printf '%s\n' "$OUT" | awk '/^release/ {print $2}')
bundle_dir=$(dirname "$(printf '%s\n' "$OUT" | awk '/^kernel/ {print $2}')")
[ -n "$release" ] && [ -f "$bundle_dir/bundle.json" ] || fail "no installed bundle: $OUT"

run_ml kernel push "$ML_REG_ANON/matchlock/kernel:test"
expect_rc 0
ref=$OUT
case "$ref" in "$ML_REG_ANON/matchlock/kernel@sha256:"*) ;; *) fail "push printed '$ref'" ;; esac
manifest=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$ML_REG_ANON/v2/matchlock/kernel/manifests/test")
[ "sha256:$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)" = "${ref#*@}" ] || fail "tag does not point at ${ref#*@}"
expect_contains "$manifest" '"artifactType":"application/vnd.matchlock.kernel.v1"'

# A fresh cache: the kernel comes from the registry, not from the installed bundle.
export XDG_CACHE_HOME="$TEST_TMP/fresh-cache"
mkdir -p "$TEST_TMP/proj/.git"
cd "$TEST_TMP/proj"
printf 'version = 1\n[sandbox]\nimage = "%s"\nkernel = "%s"\n' "$BUSYBOX" "$ref" >Matchlockfile
run_ml run --rm --trust -- uname -r
expect_rc 0
[ "$OUT" = "$release" ] || fail "guest runs '$OUT', expected $release"
pulled="$XDG_CACHE_HOME/matchlock/kernels/oci-${ref#*@sha256:}"
cmp -s "$pulled/bundle.json" "$bundle_dir/bundle.json" || fail "pulled bundle.json differs"
cmp -s "$pulled/vmlinuz" "$bundle_dir/vmlinuz" || fail "pulled vmlinuz differs"
no_qemu_left

run_ml lock
expect_rc 0
grep -q "^reference = \"$ref\"" Matchlockfile.lock || fail "lock has no kernel entry: $(cat Matchlockfile.lock)"
grep -q "^bundle = \"sha256:$(sha256sum "$bundle_dir/bundle.json" | cut -d' ' -f1)\"" Matchlockfile.lock || fail "lock has the wrong bundle digest"
run_ml pull --frozen
expect_rc 0
sed -i "s/^bundle = .*/bundle = \"sha256:$(printf '0%.0s' $(seq 64))\"/" Matchlockfile.lock
run_ml pull --frozen
expect_rc 3
expect_contains "$ERR" "run \`matchlock lock\`"

printf 'version = 1\n[sandbox]\nimage = "%s"\nkernel = "%s"\n' "$BUSYBOX" "${ref%@*}@sha256:$(printf '0%.0s' $(seq 64))" >Matchlockfile
run_ml run --rm --trust -- true
[ "$RC" -ne 0 ] || fail "a kernel digest that is not in the registry booted"
printf 'version = 1\n[sandbox]\nimage = "%s"\nkernel = "%s:test"\n' "$BUSYBOX" "${ref%@*}" >Matchlockfile
run_ml run --rm --trust -- true
expect_rc 2
expect_contains "$ERR" "needs a digest"
no_qemu_left
echo "ok: $ref boots $release"
