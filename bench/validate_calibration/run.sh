#!/usr/bin/env bash
# run.sh — the calibration in docs/VALIDATION.md: builds the 40-prompt
# ShareGPT dataset from examples/demo-model/heldout.txt, converts the demo
# model to f16/q8_0/q4_K_M/q4_0/q3_K_M/q2_K GGUF, validates each (and the
# reference itself and three perturbations) on 12 cases x 64 new tokens,
# prints the Markdown table rows and draws validate-calibration.png.
#
# usage: bench/validate_calibration/run.sh ACCINF_BINARY [OUT_DIR]
set -euo pipefail
BIN=$(realpath "${1:?usage: run.sh ACCINF_BINARY [OUT_DIR]}")
OUT=${2:-/tmp/accinf-validate-calibration}
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$(cd "$HERE/../../examples/demo-model" && pwd)
mkdir -p "$OUT" && cd "$OUT"
python3 - "$REF/heldout.txt" <<'PY'
import json, sys
t = open(sys.argv[1]).read(); n = 40; step = len(t) // n; out = []
for i in range(n):
    s = t[i * step:(i + 1) * step]; s = s[s.find(' ') + 1:].strip()
    out.append({"id": f"heldout-{i}", "conversations": [{"from": "human", "value": s}, {"from": "gpt", "value": ""}]})
json.dump(out, open("calib.json", "w"))
PY
for t in f16 q8_0 q4_K_M q4_0 q3_K_M q2_K; do "$BIN" convert "$REF" -o "demo-$t.gguf" --type "$t" -q; done
P=()
for b in 1 2; do for L in 64 128 192 256 320 384; do P+=(--programs "?:$b,==$L"); done; done
run() { # NAME MODEL [extra flags]; exit 1 (a failed case) is a result here
    local name=$1; shift
    "$BIN" validate "$@" --reference "$REF" --dataset calib.json --max-context 512 -n 64 "${P[@]}" \
        --reference-threads 1 --threads 1 --reference-dir refs --save-reference --json >"$name.json" || [ $? -eq 1 ]
}
run self "$REF"
run f16 demo-f16.gguf; run q8_0 demo-q8_0.gguf; run q4_K_M demo-q4_K_M.gguf
run q4_0 demo-q4_0.gguf; run q3_K_M demo-q3_K_M.gguf; run q2_K demo-q2_K.gguf
run p2s4 "$REF" --perturb-layer 2 --perturb-scale 4
run p0s4 "$REF" --perturb-layer 0 --perturb-scale 4
run perturb2 "$REF" --perturb-layer 2
echo "| name | argmax | mean CE | p99 CE | max CE | >=2.5 | >=3.046 | cases failed 3.046/0.1 | 2.5/0.1 | mean dCE | p99 dCE | max dCE | dCE>=0.1 | cases dCE 0.1/0.1 | cases argmax<0.9 |"
python3 "$HERE/analyze.py"
gnuplot "$HERE/plot.gp" && echo "plot: $OUT/validate-calibration.png"
