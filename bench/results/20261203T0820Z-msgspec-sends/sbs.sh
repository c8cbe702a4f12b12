#!/bin/bash
# side by side: before (HEAD~1 worktree) and after (main), alternating, e2e 200k with --tune
out=/tmp/prof/sbs-$(date -u +%H%M).jsonl
for round in 1 2 3; do
  for side in old main; do
    dir=/tmp/old; [ $side = main ] && dir=/work/main
    cd $dir
    /work/main/.venv/bin/fanout bench e2e --leads 200000 --tune --out /tmp/prof/$side.jsonl > /tmp/prof/last-$side.out 2>&1
    spid=$(pgrep -f 'python -m services.sender$'); echo "round $round $side rc=$? sender cwd $(readlink /proc/$spid/cwd)"
  done
done
