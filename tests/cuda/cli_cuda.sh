#!/usr/bin/env bash
# cli_cuda.sh — the CLI verbs with --device cuda / cuda-f32 on a GPU machine:
# greedy text of run equals the CPU's (cuda-f32 on every fixture model and
# the demo model), logits --json gives vocab finite floats close to the
# CPU's, bench reports the device, an unknown device is exit 2.  Plain bash
# and python3 (no jq: the GPU machine has none).
# usage: cli_cuda.sh ACCINF FIXTURES EXAMPLES
set -u
ACCINF=$1 FIXTURES=$2 EXAMPLES=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

for MODEL in "$FIXTURES"/models/*/ "$EXAMPLES/demo-model/"; do
    MODEL=${MODEL%/}
    name=$(basename "$MODEL")
    for dev in cpu cuda-f32 cuda; do
        "$ACCINF" run "$MODEL" --ids 1,2,3,4,5 -n 16 --temperature 0 --json --device "$dev" \
            >"$WORK/run.$dev" 2>"$WORK/err.$dev" || fail "$name run --device $dev: $(cat "$WORK/err.$dev")"
    done
    if cmp -s "$WORK/run.cpu" "$WORK/run.cuda-f32"; then
        pass "$name: cuda-f32 greedy run equals cpu"
    else
        fail "$name: cuda-f32 greedy run differs: $(cat "$WORK/run.cuda-f32") vs $(cat "$WORK/run.cpu")"
    fi
    for dev in cpu cuda; do
        "$ACCINF" logits "$MODEL" --ids 1,2,3,4,5,6,7 --json --device "$dev" >"$WORK/logits.$dev" \
            || fail "$name logits --device $dev"
    done
    python3 - "$WORK/logits.cpu" "$WORK/logits.cuda" "$name" <<'EOF' || failures=$((failures + 1))
import json, math, sys
a = json.load(open(sys.argv[1]))["logits"]
b = json.load(open(sys.argv[2]))["logits"]
scale = max(1.0, max(abs(x) for x in a))
assert len(a) == len(b), "vocab differs"
assert all(x is not None and math.isfinite(x) for x in b), "non-finite logits"
worst = max(abs(x - y) for x, y in zip(a, b)) / scale
print(f"ok: {sys.argv[3]}: cuda logits within {worst:.2e} of max|logit|" if worst < 6e-2 else
      f"FAIL: {sys.argv[3]}: cuda logits differ by {worst:.2e} of max|logit|")
sys.exit(0 if worst < 6e-2 else 1)
EOF
done

if "$ACCINF" bench "$EXAMPLES/demo-model" --device cuda --pp 64 --tg 16 --reps 2 --json >"$WORK/bench" &&
    grep -q '"backend":"cuda"' "$WORK/bench"; then
    pass "bench --device cuda: $(cat "$WORK/bench" | cut -c1-200)"
else
    fail "bench --device cuda"
fi
# --sample: decode steps pick tokens on the GPU (batch 1 and 4)
if "$ACCINF" bench "$EXAMPLES/demo-model" --device cuda --pp 0 --tg 16 --batch 1,4 --reps 2 \
    --sample --json >"$WORK/bench_sample" && grep -q '"sample":true' "$WORK/bench_sample" &&
    grep -q '"tg_tok_s":[1-9]' "$WORK/bench_sample"; then
    pass "bench --device cuda --sample: $(cut -c1-160 "$WORK/bench_sample")"
else
    fail "bench --device cuda --sample"
fi
"$ACCINF" logits "$EXAMPLES/demo-model" --ids 1,2 --device no-such-device >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && pass "unknown device is exit 2" || fail "unknown device: exit $rc"

echo "$failures failure(s)"
[ $failures -eq 0 ]
