#!/bin/bash
# side by side: before (/tmp/old worktree) and after (/work/main), alternating, e2e 300k with --tune;
# every service restarted from the side's folder before its run
out=/tmp/simb/sbs2
mkdir -p $out
for round in 1 2 3; do
  for side in old main; do
    dir=/tmp/old; [ $side = main ] && dir=/work/main
    cd $dir
    for f in /var/lib/fanout/run/*.pid; do
      case $f in *kafka*) continue;; esac
      kill $(cat $f) 2>/dev/null
    done
    sleep 8
    /work/main/.venv/bin/fanout stack up > $out/up-$round-$side.log 2>&1
    /work/main/.venv/bin/fanout bench e2e --leads 300000 --tune --out $out/$side.jsonl > $out/run-$round-$side.out 2>&1
    rc=$?
    gpid=$(cat /var/lib/fanout/run/sender.pid)
    echo "round $round $side rc=$rc sender cwd $(readlink /proc/$gpid/cwd) $(date -u +%H:%M:%S)" >> $out/progress
  done
done
echo done >> $out/progress
