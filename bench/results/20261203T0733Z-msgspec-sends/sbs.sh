#!/bin/bash
# Side by side: before (the previous commit, checked out as a worktree in /tmp/old) and
# after (/work/main), alternating, `fanout bench e2e --leads 200000 --tune`. --tune restarts
# the sender and the resolver from the current directory, so each side runs its own code.
set -u
for round in 1 2 3; do
  for side in old main; do
    dir=/tmp/old; [ "$side" = main ] && dir=/work/main
    cd "$dir"
    /work/main/.venv/bin/fanout bench e2e --leads 200000 --tune --out "/tmp/prof/$side.jsonl" \
      > "/tmp/prof/last-$side.out" 2>&1
    echo "round $round $side rc=$?"
  done
done
