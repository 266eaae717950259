#!/usr/bin/env bash
# cli_cuda_quant.sh — the verbs on quantized GGUF files on the GPU: the demo
# model converted to q8_0 and q4_K_M; `logits --device cuda` within 3e-2 of
# max|logit| of the CPU on the same file (measured 1.0e-2 and 1.2e-2), `run
# --temperature 0 --device cuda` generates 16 tokens whose first 4 are the
# CPU's (after a near tie the continuations part: the CPU quantizes
# activations to int8; test_cuda_quant compares teacher-forced steps), a
# seeded `run --temperature 0.8 --top-k 20` works, `bench --device cuda`
# reports the backend.  python3, no jq.
# usage: cli_cuda_quant.sh ACCINF FIXTURES EXAMPLES
set -u
ACCINF=$1 EXAMPLES=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for t in q8_0 q4_K_M; do
    gguf="$WORK/demo-$t.gguf"
    "$ACCINF" convert "$EXAMPLES/demo-model" -o "$gguf" --type "$t" >/dev/null 2>&1 ||
        { fail "convert $t"; continue; }
    for dev in cpu cuda; do
        "$ACCINF" logits "$gguf" --ids 1,2,3,4,5,6,7 --json --device "$dev" >"$WORK/logits.$dev" \
            2>"$WORK/err" || fail "$t logits --device $dev: $(cat "$WORK/err")"
        "$ACCINF" run "$gguf" --ids 1,2,3,4,5 -n 16 --temperature 0 --json --device "$dev" \
            >"$WORK/run.$dev" 2>"$WORK/err" || fail "$t run --device $dev: $(cat "$WORK/err")"
    done
    python3 - "$WORK" "$t" <<'EOF' || failures=$((failures + 1))
import json, math, sys
w, t = sys.argv[1:3]
a = json.load(open(f"{w}/logits.cpu"))["logits"]
b = json.load(open(f"{w}/logits.cuda"))["logits"]
scale = max(1.0, max(abs(x) for x in a))
worst = max(abs(x - y) for x, y in zip(a, b)) / scale
assert len(a) == len(b) and all(math.isfinite(x) for x in b), "bad logits"
def ids(p):
    j = json.load(open(p))
    return j.get("ids") or j.get("tokens") or j.get("generated_ids") or []
x, y = ids(f"{w}/run.cpu"), ids(f"{w}/run.cuda")
lead = 0
while lead < min(len(x), len(y)) and x[lead] == y[lead]:
    lead += 1
ok = worst < 3e-2 and len(y) == len(x) == 16 and lead >= 4
print(f"ok: demo {t}: cuda logits within {worst:.2e} of max|logit|; greedy run: the first "
      f"{lead} of {len(x)} tokens equal the cpu's" if ok
      else f"FAIL: demo {t}: logits {worst:.2e}, run {x} vs {y}")
sys.exit(0 if ok else 1)
EOF
    "$ACCINF" run "$gguf" --ids 1,2,3 -n 8 --temperature 0.8 --top-k 20 --seed 3 --device cuda \
        >/dev/null 2>"$WORK/err" || fail "$t sampled run: $(cat "$WORK/err")"
    "$ACCINF" bench "$gguf" --device cuda --pp 64 --tg 8 --batch 1,4 --reps 1 --json >"$WORK/bench" \
        2>"$WORK/err" || fail "$t bench: $(cat "$WORK/err")"
    grep -q '"backend":"cuda"' "$WORK/bench" || fail "$t bench: no cuda backend in $(head -c 300 "$WORK/bench")"
done
echo "cli_cuda_quant: $failures failure(s)"
[ "$failures" -eq 0 ]
