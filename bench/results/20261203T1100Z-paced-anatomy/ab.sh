#!/bin/sh
# paced_anatomy.py alternating: merge threads at nice 0, then 19; twice.
for i in 1 2; do
  for n in 0 19; do
    echo "== $(date -u +%H:%M:%S) run $i nice $n load $(cut -d' ' -f1-3 /proc/loadavg)"
    /work/main/.venv/bin/python paced_anatomy.py 2000000 300000 3 "ab-$i-$n.csv" "$n"
  done
done
