#!/usr/bin/env bash
# rig.tree_dump: the tree checker agrees with an independent unpacker (umoci) and
# mke2fs -d on the `layers` fixture, and reports each kind of damage it is shown.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
EXPECTED=$ML_IMG_DIR/layers.expected.json
TD=(python3 "$ML_RIG_SRC/tree_dump.py")

# umoci 0.4.7 cannot read zstd layers: same entries, every layer gzip
python3 - "$TEST_TMP/layout" <<'PY'
import os, sys, tarfile
sys.path.insert(0, os.environ["ML_RIG_SRC"])
import fixtures, ocilayout as L
l1, l2, l3 = fixtures.layers_entries()
lay = L.Layout(sys.argv[1])
layers = [lay.add_layer(l1, "gzip"), lay.add_layer(l2, "gzip"), lay.add_layer(l3, None, fmt=tarfile.GNU_FORMAT)]
lay.tag(lay.add_image(layers, fixtures.LAYERS_CONFIG), "latest")
lay.finish()
PY
umoci unpack --image "$TEST_TMP/layout:latest" "$TEST_TMP/bundle" >/dev/null 2>&1 || fail "umoci unpack failed"
ROOT=$TEST_TMP/bundle/rootfs
"${TD[@]}" dir "$ROOT" --compare "$EXPECTED" || fail "umoci's tree differs from expected.json"
mke2fs -q -F -t ext4 -d "$ROOT" "$TEST_TMP/good.ext4" 64M >/dev/null
"${TD[@]}" ext4 "$TEST_TMP/good.ext4" --compare "$EXPECTED" || fail "mke2fs -d image differs from expected.json"

# damage: content, mode, a broken hardlink, a lost xattr, a missing and an extra file
echo changed >"$ROOT/a/keep"
chmod 0600 "$ROOT/bin/ep"
rm "$ROOT/hl/link" && cp "$ROOT/hl/target" "$ROOT/hl/link"
setfattr_py() { python3 -c 'import os,sys; os.removexattr(sys.argv[1], "user.rig")' "$1"; }
setfattr_py "$ROOT/xattr/cap"
rm "$ROOT/empty"
echo extra >"$ROOT/extra"
mke2fs -q -F -t ext4 -d "$ROOT" "$TEST_TMP/bad.ext4" 64M >/dev/null
set +e
OUT=$("${TD[@]}" ext4 "$TEST_TMP/bad.ext4" --compare "$EXPECTED")
rc=$?
set -e
[ "$rc" = 1 ] || fail "damaged image passed: $OUT"
for want in "/a/keep: sha256" "/bin/ep: mode is '0600', want '0755'" "/hl/link: not a hardlink of /hl/target" \
            "/xattr/cap: xattrs" "missing: /empty" "unexpected: /extra" "7 differences"; do
  expect_contains "$OUT" "$want"
done
echo "tree_dump selftest: ok"
