#!/usr/bin/env bash
# cli_bench_sample.sh — `accinf bench --sample`: generation steps go through
# acc_engine_forward_sample (greedy sampler per sequence) at batch 1 and 3;
# the JSON says "sample":true and reports positive tg rates for every
# batch; without the flag it says "sample":false.
# usage: cli_bench_sample.sh ACCINF FIXTURES EXAMPLES
set -u
ACCINF=$1 FIXTURES=$2
model="$FIXTURES/models/llama-tiny"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

out=$("$ACCINF" bench "$model" --pp 0 --tg 4 --batch 1,3 --reps 2 --threads 1 --sample --json) ||
    fail "bench --sample exited $?"
echo "$out" | grep -q '"sample":true' || fail "no \"sample\":true in $out"
echo "$out" | grep -q '"batch":1,"tok_s":[1-9]' || fail "no batch-1 rate in $out"
echo "$out" | grep -q '"batch":3,"tok_s":[1-9]' || fail "no batch-3 rate in $out"
out=$("$ACCINF" bench "$model" --pp 0 --tg 2 --reps 1 --threads 1 --json) ||
    fail "bench exited $?"
echo "$out" | grep -q '"sample":false' || fail "no \"sample\":false in $out"
echo "cli_bench_sample: $failures failure(s)"
[ "$failures" -eq 0 ]
