#!/usr/bin/env bash
# cli_cuda_validate.sh — `accinf validate --device cuda|cuda-f32` (candidate
# on the GPU, reference the fp32 CPU engine) on every fixture model and the
# demo model, and on the demo model's q8_0 / q4_K_M GGUF files on "cuda":
# each passes the default thresholds (cuda-f32 with no failing token), its
# per-token cross entropy stays within the calibrated distance of the CPU
# candidate's (the reference against itself; see docs/VALIDATION.md,
# "GPU candidates"): |dCE| <= 1e-4 for cuda-f32 (measured <= 3.9e-6),
# <= 0.1 for cuda (measured <= 4.1e-2) and for a GGUF file on cuda against
# the CPU on the same file (measured <= 3.2e-2); greedy agreement >= 0.9
# (measured >= 0.938).  Prints one "calib:" line per run.  python3, no jq.
# usage: cli_cuda_validate.sh ACCINF FIXTURES EXAMPLES
set -u
ACCINF=$1 FIXTURES=$2 EXAMPLES=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
DATA="$FIXTURES/validate/sharegpt-tiny.json"
COMMON=(--dataset "$DATA" -n 32 --reference-threads 4 --threads 4 --json
        --reference-dir "$WORK/refs" --save-reference)

# judge NAME DEVICE SELF.json CAND.json MAX_DCE MIN_ARGMAX MAX_FAILING_TOKENS
judge() {
    python3 - "$@" <<'EOF'
import json, sys
name, dev, self_path, cand_path, max_dce, min_argmax, max_fails = sys.argv[1:8]
s, c = json.load(open(self_path)), json.load(open(cand_path))
ds = [abs(x - y) for cs, cc in zip(s["cases"], c["cases"]) for x, y in zip(cs["ce"], cc["ce"])]
tokens = sum(k["tokens"] for k in c["cases"])
argmax = sum(k["argmax_match"] for k in c["cases"]) / tokens
fails = sum(k["failures"] for k in c["cases"])
worst_ce = max(k["max_ce"] for k in c["cases"])
print(f"calib: {name} {dev}: {len(c['cases'])} cases {tokens} tokens, passed {c['passed']}, "
      f"failing tokens {fails}, argmax {argmax:.3f}, max CE {worst_ce:.3f}, "
      f"max |dCE| {max(ds):.2e}, mean |dCE| {sum(ds) / len(ds):.2e}")
ok = (c["passed"] and fails <= int(max_fails) and max(ds) <= float(max_dce)
      and argmax >= float(min_argmax))
sys.exit(0 if ok else 1)
EOF
}

run_validate() { # OUT MODEL ARGS...
    local out=$1
    shift
    "$ACCINF" validate "$@" "${COMMON[@]}" >"$out" 2>"$out.err" || {
        fail "validate $*: exit $?: $(tail -2 "$out.err")"
        return 1
    }
}

for MODEL in "$FIXTURES"/models/*/ "$EXAMPLES/demo-model/"; do
    MODEL=${MODEL%/}
    name=$(basename "$MODEL")
    run_validate "$WORK/$name.cpu" "$MODEL" || continue
    for dev in cuda-f32 cuda; do
        run_validate "$WORK/$name.$dev" "$MODEL" --device "$dev" || continue
        if [ "$dev" = cuda-f32 ]; then bound="1e-4 1.0 0"; else bound="0.1 0.9 3"; fi
        # shellcheck disable=SC2086
        judge "$name" "$dev" "$WORK/$name.cpu" "$WORK/$name.$dev" $bound ||
            fail "$name --device $dev outside the calibrated bounds ($bound)"
    done
done

# quantized GGUF candidates on the GPU against the f32 demo reference: the
# CPU running the same file is the comparison point
for t in q8_0 q4_K_M; do
    gguf="$WORK/demo-$t.gguf"
    "$ACCINF" convert "$EXAMPLES/demo-model" -o "$gguf" --type "$t" >/dev/null 2>&1 ||
        { fail "convert $t"; continue; }
    run_validate "$WORK/$t.cpu" "$gguf" --reference "$EXAMPLES/demo-model" || continue
    run_validate "$WORK/$t.cuda" "$gguf" --reference "$EXAMPLES/demo-model" --device cuda || continue
    judge "demo-$t(cpu)" cpu "$WORK/demo-model.cpu" "$WORK/$t.cpu" 10 0 999 >/dev/null ||
        fail "demo $t on the cpu does not pass"
    judge "demo-$t" cuda "$WORK/demo-model.cpu" "$WORK/$t.cuda" 1.0 0.9 3 ||
        fail "demo $t --device cuda outside the bounds"
    judge "demo-$t vs its cpu run" cuda "$WORK/$t.cpu" "$WORK/$t.cuda" 0.1 0 999 ||
        fail "demo $t: cuda too far from the cpu on the same file"
done

echo "cli_cuda_validate: $failures failure(s)"
[ "$failures" -eq 0 ]
