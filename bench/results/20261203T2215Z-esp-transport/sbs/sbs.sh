#!/bin/bash
# side by side: before (/tmp/old worktree) and after (/work/main), alternating, e2e 300k;
# every service but Kafka restarted from the side's folder before its run; the broker's
# request and byte counters read over JMX (KafkaRequests.java) before and after each run.
# OUT: the output folder; ROUNDS: 3; TUNE: --tune (TUNE= for the default settings, as
# `default/` was run with ROUNDS=2)
out=${OUT:-/tmp/prof/sbs}
rounds=${ROUNDS:-3}
tune=${TUNE---tune}
here=$(cd "$(dirname "$0")" && pwd)  # holds KafkaRequests.java (this folder: KafkaRequests.java.txt)
mkdir -p $out
for round in $(seq 1 $rounds); do
  for side in old main; do
    dir=/tmp/old; [ $side = main ] && dir=/work/main
    cd $dir
    for f in /var/lib/fanout/run/*.pid; do
      case $f in *kafka*) continue;; esac
      kill $(cat $f) 2>/dev/null
    done
    sleep 8
    /work/main/.venv/bin/fanout stack up > $out/up-$round-$side.log 2>&1
    k=$(cat /var/lib/fanout/run/kafka.pid)
    java $here/KafkaRequests.java $k > $out/jmx-$round-$side-0.txt 2>&1
    /work/main/.venv/bin/fanout bench e2e --leads 300000 $tune --out $out/$side.jsonl > $out/run-$round-$side.out 2>&1
    rc=$?
    java $here/KafkaRequests.java $k > $out/jmx-$round-$side-1.txt 2>&1
    spid=$(cat /var/lib/fanout/run/sender.pid)
    echo "round $round $side rc=$rc sender cwd $(readlink /proc/$spid/cwd) $(date -u +%H:%M:%S)" >> $out/progress
  done
done
echo done >> $out/progress
