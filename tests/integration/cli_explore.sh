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

# calibrate: the validation set in one command, test-split MAPE within 10%
"$accinf" explore calibrate --measured "$examples/hw/validation.json" --max-test-mape 10 \
  > "$work/calib.txt" || fail "calibrate: $(tail -3 "$work/calib.txt")"
grep -q "^MAPE: calibrate .* test .*(15 points" "$work/calib.txt" || fail "calibrate report: $(tail -2 "$work/calib.txt")"
grep -q "Llama-2-70B bf16 decode TP8 .* test " "$work/calib.txt" || fail "calibrate table"
"$accinf" explore calibrate --measured "$examples/hw/validation.json" --json > "$work/calib.json"
grep -q '"mape_test_pct": [0-9]' "$work/calib.json" || fail "calibrate --json"
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
echo "explore_cli: ok"
