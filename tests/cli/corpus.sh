# Schema and validator agree: every valid corpus file and example passes both,
# every invalid case fails both with the expected LINE:COL messages.
source "$(dirname "$0")/lib.sh"
python3 -c 'import jsonschema, tomllib' 2>/dev/null || { echo "SKIP: python3-jsonschema or tomllib missing"; exit 77; }
python3 "$MATCHLOCK_SOURCE_DIR/tests/corpus/check_corpus.py"
