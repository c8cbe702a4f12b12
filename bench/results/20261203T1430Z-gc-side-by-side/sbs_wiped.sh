#!/bin/bash
# report_sink's peak RSS, before (/tmp/old) and after (/work/main), alternating, e2e 300k with
# --tune, the stack wiped and every service started from the side's folder before each run
out=/tmp/prof/sbs3
mkdir -p $out
for round in 1 2 3; do
  for side in old main; do
    dir=/tmp/old; [ $side = main ] && dir=/work/main
    cd $dir
    /work/main/.venv/bin/fanout stack down --wipe > $out/down-$round-$side.log 2>&1
    /work/main/.venv/bin/fanout stack up > $out/up-$round-$side.log 2>&1
    /work/main/.venv/bin/fanout bench e2e --leads 300000 --tune --out $out/$side.jsonl > $out/run-$round-$side.out 2>&1
    rc=$?
    spid=$(cat /var/lib/fanout/run/report-sink.pid)
    echo "round $round $side rc=$rc sink cwd $(readlink /proc/$spid/cwd) $(date -u +%H:%M:%S)" >> $out/progress
  done
done
echo done >> $out/progress
