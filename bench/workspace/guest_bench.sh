# Runs inside the sandbox (busybox sh, as root): the same workload on each
# directory given, printing "RESULT NAME KEY=VALUE..." lines for run.sh.
# Times come from /proc/uptime (10 ms resolution; every step takes seconds).
# Usage: sh guest_bench.sh MIB FILES NAME=DIR...
mib=$1 files=$2
shift 2
# The hundredths lose a leading 0: "08" would be read as a bad octal number.
now() { read -r up _ </proc/uptime; c=${up#*.}; echo $(( ${up%.*} * 1000 + 10 * ${c#0} )); }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
for spec in "$@"; do
  name=${spec%%=*} dir=${spec#*=}
  drop
  t0=$(now)
  dd if=/dev/zero of="$dir/big" bs=1M count="$mib" conv=fsync 2>/dev/null || { echo "RESULT $name error=write"; continue; }
  t1=$(now)
  drop
  t2=$(now)
  dd if="$dir/big" of=/dev/null bs=1M 2>/dev/null || { echo "RESULT $name error=read"; continue; }
  t3=$(now)
  rm -f "$dir/big"
  mkdir -p "$dir/tree"
  t4=$(now)
  d=0
  while [ $(( d * 100 )) -lt "$files" ]; do
    mkdir "$dir/tree/d$d"
    f=0
    while [ $f -lt 100 ] && [ $(( d * 100 + f )) -lt "$files" ]; do
      echo "$d $f" >"$dir/tree/d$d/f$f"
      f=$(( f + 1 ))
    done
    d=$(( d + 1 ))
  done
  sync
  t5=$(now)
  drop
  t6=$(now)
  n=$(find "$dir/tree" -type f | wc -l)
  ls -lR "$dir/tree" >/dev/null
  t7=$(now)
  rm -rf "$dir/tree"
  echo "RESULT $name write_ms=$(( t1 - t0 )) read_ms=$(( t3 - t2 )) create_ms=$(( t5 - t4 )) walk_ms=$(( t7 - t6 )) files=$n"
done
