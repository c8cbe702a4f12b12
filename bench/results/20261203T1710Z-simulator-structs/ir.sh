#!/bin/sh
# Ir of micro2 with N calls processed minus generated-only, per email, in folder $1
cd $1
export FANOUT_SIMULATOR_WEBHOOK_SECRET=abcdefabcdefabcdefabcdefabcdef12
ir() { PYTHONPATH=. valgrind --tool=callgrind --callgrind-out-file=/tmp/simb/cg.$3.out /work/main/.venv/bin/python /tmp/simb/micro2.py $1 $2 2>&1 | awk '/Collected/ {print $4}'; }
a=$(ir $2 gen $4gen); b=$(ir $2 run $4run)
echo "$1: $(( (b - a) / ($2 * 50) )) instructions per email ($a, $b)"
