#!/usr/bin/env bash
# explore_cli.sh — `accinf explore` end to end: reallm's hw_example + GPT-3
# inputs give reallm's HW.csv and MODEL.csv (compat mode, 0.5%), --json prints
# the summary, and bad inputs fail with exit 2 and FILE:LINE:COL.
# usage: explore_cli.sh ACCINF FIXTURES_DIR EXAMPLES_DIR
set -euo pipefail
accinf=$1 fixtures=$2 examples=$3
in=$fixtures/reallm/inputs
ref=$fixtures/reallm/tests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$accinf" explore --help | grep -q -- "--max-points" || fail "help"

# reallm's own regression: numbers within 0.5% in every numeric column
"$accinf" explore -hw "$in/hardware/config/hw_example.yaml" -m "$in/software/model/gpt3.yaml" \
  -c "$in/hardware/constant/7nm_default.yaml" -s "$in/software/system/sys_default.yaml" \
  -o "$work/out" --reallm-compat --threads 2 > "$work/stdout"
grep -q "1 servers" "$work/stdout" || fail "report: $(cat "$work/stdout")"
compare() { # REF GOT: same rows, numeric columns within 0.5% by header name
  awk -F', *' -v got="$2" '
    function num(s) { return s ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ }
    BEGIN { while ((getline line < got) > 0) { n = split(line, f, /, */); gr++
              for (i = 1; i <= n; i++) { if (gr == 1) gcol[f[i]] = i; else g[gr, i] = f[i] } } }
    NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; next }
    $0 ~ /[^ ,]/ { r = NR; for (i = 1; i <= NF; i++) { if (name[i] == "") continue
        if (!(name[i] in gcol)) { print "missing column " name[i]; bad = 1; continue }
        x = $i; y = g[r, gcol[name[i]]]
        if (num(x)) { d = x - y; if (d < 0) d = -d; s = x < 0 ? -x : x
          if ((s == 0 && d > 1e-12) || (s > 0 && d / s > 0.005)) { print name[i] " row " r ": " x " vs " y; bad = 1 } }
        else if (x != y) { print name[i] " row " r ": " x " vs " y; bad = 1 } } }
    END { if (NR != gr) { print "rows " NR " vs " gr; bad = 1 }; exit bad }' "$1"
}
compare "$ref/hw_example/hw_example.csv" "$work/out/hw_example.csv" || fail "hw_example.csv"
compare "$ref/hw_example/gpt3.csv" "$work/out/gpt3.csv" || fail "gpt3.csv"
[ -s "$work/out/pareto_tco.svg" ] && [ -s "$work/out/summary.json" ] || fail "plots/summary"

# --json: the summary on stdout
"$accinf" explore -hw "$in/hardware/config/hbm_explore.yaml" -m "$in/software/model/gpt3.yaml" \
  -s "$in/software/system/hbm_explore.yaml" -o "$work/hbm" --json > "$work/summary.json"
grep -q '"valid_packages": 3' "$work/summary.json" || fail "hbm_explore sweep: $(head -c 400 "$work/summary.json")"

# bad input: exit 2 with FILE:LINE:COL
sed 's/^  freq:/  frequency:/' "$in/hardware/config/hw_example.yaml" > "$work/bad.yaml"
line=$(grep -n '^  frequency:' "$work/bad.yaml" | cut -d: -f1)
set +e
"$accinf" explore -hw "$work/bad.yaml" -m "$in/software/model/gpt3.yaml" -o "$work/x" 2> "$work/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown key: exit $rc"
grep -q "bad.yaml:$line:3: unknown key 'frequency' in Chip" "$work/err" || fail "message: $(cat "$work/err")"
set +e
"$accinf" explore -hw "$examples/hw/sweep_example.yaml" -m "$in/software/model/gpt3.yaml" \
  -s "$examples/hw/sweep_example_system.yaml" --max-points 100 -o "$work/x" 2> "$work/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "max-points: exit $rc"
grep -q "sweep_example_system.yaml:2:14: sweep of 1280 design points" "$work/err" || fail "max-points message: $(cat "$work/err")"

# calibrate: the validation set in one command (test MAPE 7.15% over all
# chips, issue 4's bound 10%; per chip below, bounds as docs/EXPLORE.md
# reports them)
"$accinf" explore calibrate --measured "$examples/hw/validation.json" --max-test-mape 10 \
  > "$work/calib.txt" || fail "calibrate: $(tail -3 "$work/calib.txt")"
grep -q "^MAPE: calibrate .* test .*(37 points" "$work/calib.txt" || fail "calibrate report: $(tail -6 "$work/calib.txt")"
# per-hardware test MAPE (docs/EXPLORE.md, Validation): A100, H100 and TPU
# v4 within issue 4's 10%; the H200's 10.35% is reported there as above it
for hw_bound in a100-80gb-sxm:10 tpuv4:10 h100-sxm:10 h200:10.5; do
  hw=${hw_bound%:*}; bound=${hw_bound#*:}
  awk -v hw="$hw" -v b="$bound" '$1 == hw && $6 == "test" { v = $7; sub("%", "", v); found = 1; if (v + 0 > b) bad = 1 }
    END { exit (found && !bad) ? 0 : 1 }' "$work/calib.txt" || fail "calibrate: $hw test MAPE above $bound%: $(grep "^  $hw " "$work/calib.txt")"
done
# the H200 takes the H100's compute-side factors ("share") and fits its bandwidth
grep -q "compute_perf_efficiency .* # shared from h100-sxm" "$work/calib.txt" || fail "calibrate: share"
grep -q "Calibration: uncalibrated: .* <- the file's factors are not fitted" "$work/calib.txt" || fail "calibrate: uncalibrated TPU v4 not flagged"
grep -q "H100 LLaMA-7B fp8 first token 2048 .* calibrate " "$work/calib.txt" || fail "calibrate table (H100)"
grep -q "Llama-2-70B bf16 decode TP8 .* test " "$work/calib.txt" || fail "calibrate table"
# an uncalibrated preset: a warning on stderr, the stdout report and the summary say so
"$accinf" explore -hw "$examples/hw/b200.yaml" -m "$examples/hw/model-llama2-7b.yaml" \
  -s "$examples/hw/a100-80gb-sxm.system.yaml" -o "$work/b200" --no-plots > "$work/b200.txt" 2> "$work/b200.err"
grep -q "^accinf: warning: b200: efficiency factors are UNCALIBRATED" "$work/b200.err" || fail "b200 warning: $(cat "$work/b200.err")"
grep -q "^hardware b200 (UNCALIBRATED efficiency factors)" "$work/b200.txt" || fail "b200 report"
grep -q '"uncalibrated": true' "$work/b200/summary.json" || fail "b200 summary"
"$accinf" explore -hw "$examples/hw/a100-80gb-sxm.yaml" -m "$examples/hw/model-llama2-7b.yaml" \
  -s "$examples/hw/a100-80gb-sxm.system.yaml" -o "$work/a100" --no-plots > /dev/null 2> "$work/a100.err"
! grep -q "UNCALIBRATED" "$work/a100.err" || fail "a100 flagged uncalibrated"
grep -q '"uncalibrated": false' "$work/a100/summary.json" || fail "a100 summary"
"$accinf" explore calibrate --measured "$examples/hw/validation.json" --json > "$work/calib.json"
grep -q '"mape_test_pct": [0-9]' "$work/calib.json" || fail "calibrate --json"
grep -q '"name": "tpuv4", "path": "[^"]*", "calibration": "uncalibrated: [^"]*", "uncalibrated": true' "$work/calib.json" || fail "calibrate --json: tpuv4 uncalibrated"
grep -q '"shared_from": "h100-sxm"' "$work/calib.json" || fail "calibrate --json: share"
# an impossible bound fails with exit 1
set +e
"$accinf" explore calibrate --measured "$examples/hw/validation.json" --max-test-mape 0.01 > /dev/null 2> "$work/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "max-test-mape: exit $rc"
# accinf bench --json plus an envelope naming the hardware and model
printf '{"model": "demo", "pp": 512, "tg": 128, "pp_tok_s": 9000, "tg_tok_s": 100, "hardware": "%s", "model_config": "%s"}\n' \
  "$(cd "$examples" && pwd)/hw/a100-80gb-sxm.yaml" "$(cd "$examples" && pwd)/hw/model-llama2-7b.yaml" \
  > "$work/bench.json"
"$accinf" explore calibrate --measured "$work/bench.json" --fit bandwidth,compute > "$work/b.txt" \
  || fail "bench envelope"
grep -q "demo pp512 .*prefill_tok_s" "$work/b.txt" && grep -q "demo tg128 .*decode_tok_s" "$work/b.txt" \
  || fail "bench points: $(cat "$work/b.txt")"
# a malformed measured file: exit 2 naming the file and position
printf '{"points": [{"model": "m.yaml", "metric": "speed"}]}' > "$work/badm.json"
set +e
"$accinf" explore calibrate --measured "$work/badm.json" 2> "$work/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad measured: exit $rc"
grep -q "badm.json: points\[0\]" "$work/err" || fail "bad measured message: $(cat "$work/err")"
# serving workload: length distributions (KV at p99) and continuous batching
"$accinf" explore -hw "$examples/hw/a100-80gb-sxm.yaml" -m "$examples/hw/model-llama2-7b.yaml" \
  -s "$examples/hw/serving_example_system.yaml" -o "$work/serve" --threads 2 --no-plots \
  > /dev/null 2> "$work/err" || fail "serving: $(cat "$work/err")"
head -1 "$work/serve/llama2-7b.csv" | grep -q ",ttft_sec,tpot_sec,requests_per_sec$" || fail "serving columns"
grep -q '"input_len_dist": "uniform(64..4096)"' "$work/serve/summary.json" || fail "serving dist"
grep -q '"output_len_dist": "histogram(6)"' "$work/serve/summary.json" || fail "serving histogram"
grep -q '"kv_context": 4' "$work/serve/summary.json" || fail "serving kv context"
grep -q '"requests_per_sec": 8.0000' "$work/serve/summary.json" || fail "serving arrival rate"
# a bad distribution: exit 2 with FILE:LINE:COL
sed 's/dist: uniform/dist: zipf/' "$examples/hw/serving_example_system.yaml" > "$work/badserve.yaml"
set +e
"$accinf" explore -hw "$examples/hw/a100-80gb-sxm.yaml" -m "$examples/hw/model-llama2-7b.yaml" \
  -s "$work/badserve.yaml" -o "$work/x" 2> "$work/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad dist: exit $rc"
grep -q "badserve.yaml:[0-9]*:[0-9]*: dist: unknown distribution 'zipf'" "$work/err" || fail "bad dist message: $(cat "$work/err")"

# Pareto plots: through gnuplot when it is on PATH, else our own SVG and a note
accinf_abs=$(cd "$(dirname "$accinf")" && pwd)/$(basename "$accinf")
(PATH=/nonexistent "$accinf_abs" explore -hw "$examples/hw/a100-80gb-sxm.yaml" \
  -m "$examples/hw/model-llama2-7b.yaml" -o "$work/own" --threads 2 > /dev/null 2> "$work/err") \
  || fail "own plots: $(cat "$work/err")"
grep -q "gnuplot not found on PATH; wrote the Pareto plots as accinf's own SVG" "$work/err" || fail "no-gnuplot note"
grep -q "<polyline" "$work/own/pareto_tco.svg" || fail "own svg"
if command -v gnuplot > /dev/null; then
  "$accinf" explore -hw "$examples/hw/a100-80gb-sxm.yaml" -m "$examples/hw/model-llama2-7b.yaml" \
    -o "$work/gp" --threads 2 > /dev/null 2> "$work/err" || fail "gnuplot plots: $(cat "$work/err")"
  grep -q "Pareto front" "$work/gp/pareto_tco.gp" || fail "gnuplot script"
  grep -q "<svg" "$work/gp/pareto_tco.svg" && grep -q "decode throughput" "$work/gp/pareto_latency.svg" \
    || fail "gnuplot svg"
  if [ -f "$work/gp/pareto_tco.png" ]; then
    head -c 4 "$work/gp/pareto_tco.png" | grep -q "PNG" || fail "gnuplot png"
  fi
fi
echo "explore_cli: ok"
