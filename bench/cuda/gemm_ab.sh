#!/usr/bin/env bash
# gemm_ab.sh — one-call A/B of the cuBLASLt GEMM path (docs/CUDA.md, "GEMM
# algorithm timing"): 8B prefill of 2048 tokens and batch-128 decode with
# ACCINF_CUDA_LT_TUNE 0, 1 (the default) and 2 (prefill shapes timed too),
# interleaved; then, when nsys is installed, its kernel summary of both
# runs (else ACCINF_CUDA_PROFILE), with the SM clock, power and throttle
# reasons sampled every 200 ms into OUTDIR/clocks.csv (summarised per phase).
# usage: bench/cuda/gemm_ab.sh ACCINF OUTDIR [ROUNDS]  (GPU machine, after
# device_run.sh build; makes the random 8B model as bench.sh does)
set -u
A=$1 OUT=$2 rounds=${3:-2}
cd "$(dirname "$0")/../.."
m=/tmp/accinf-bench-llama-3.1-8b
[ -f $m/model.safetensors ] ||
    python3 tools/make_random_model.py --shape llama-3.1-8b --out $m >&2
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
    --format=csv,noheader -lms 200 >"$OUT/clocks.csv" &
smi=$!
mark() { echo "MARK $1 $(date +%H:%M:%S.%N | cut -c1-12)" >>"$OUT/marks.txt"; }
tok() { grep -o '"tok_s":[0-9.]*' | cut -d: -f2 | tr '\n' ' '; }
pp_args="--pp 2048 --ubatch 2048 --tg 0 --reps 3"
tg_args="--pp 0 --tg 128 --batch 128 --reps 2 --sample"
for r in $(seq "$rounds"); do
    for t in 0 1 2; do
        mark "pp-tune$t"
        pp=$(ACCINF_CUDA_LT_TUNE=$t $A bench $m --device cuda $pp_args --json | tok)
        mark "tg-tune$t"
        tg=$(ACCINF_CUDA_LT_TUNE=$t $A bench $m --device cuda $tg_args --json | tok)
        echo "round $r tune=$t: prefill 2048 tok/s $pp| batch-128 decode tok/s $tg"
    done
done
nsys=$(command -v nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems*/bin/nsys 2>/dev/null | head -1)
echo "nsys: ${nsys:-none}"
for v in "0 base" "1 new"; do
    set -- $v
    for what in pp tg; do
        args=$pp_args
        [ $what = tg ] && args="--pp 0 --tg 32 --batch 128 --ubatch 128 --reps 1 --sample"
        mark "prof-$what-$2"
        if [ -n "$nsys" ]; then
            ACCINF_CUDA_LT_TUNE=$1 timeout 120 "$nsys" profile -t cuda -o "/tmp/prof-$what-$2" -f true \
                $A bench $m --device cuda ${args/--reps 3/--reps 1} >/dev/null 2>&1
            "$nsys" stats -q -r cuda_gpu_kern_sum -f csv "/tmp/prof-$what-$2.nsys-rep" 2>/dev/null \
                >"$OUT/kern-$what-$2.csv"
            echo "-- $what $2 (nsys, whole run: warm-up + reps): top kernels"
            python3 - "$OUT/kern-$what-$2.csv" <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
hdr = next((i for i, r in enumerate(rows) if r and r[0].startswith("Time")), None)
if hdr is None:
    print("no kernel summary"); sys.exit()
h = rows[hdr]; data = rows[hdr + 1:]
ti, ci, ni = h.index("Total Time (ns)"), h.index("Instances"), h.index("Name")
tot = sum(float(r[ti]) for r in data)
print(f"total kernel time {tot/1e6:.1f} ms")
for r in data[:18]:
    print(f"{float(r[ti])/1e6:9.2f} ms {float(r[ti])/tot*100:5.1f}% x{r[ci]:>6} {r[ni][:110]}")
PY
        else
            ACCINF_CUDA_PROFILE=1 ACCINF_CUDA_LT_TUNE=$1 \
                $A bench $m --device cuda $args >/dev/null 2>"$OUT/prof-$what-$2.txt"
            echo "-- $what $2 (ACCINF_CUDA_PROFILE)"; cat "$OUT/prof-$what-$2.txt"
        fi
    done
done
mark end
kill $smi
python3 - "$OUT/clocks.csv" "$OUT/marks.txt" <<'PY'
import sys
marks = [l.split()[1:] for l in open(sys.argv[2])]
def sec(t):
    h, m, s = t.split(":"); return int(h) * 3600 + int(m) * 60 + float(s)
rows = []
for l in open(sys.argv[1]):
    f = [x.strip() for x in l.split(",")]
    try:
        rows.append((sec(f[0].split()[1]), float(f[1].split()[0]), float(f[3].split()[0]), f[5]))
    except (ValueError, IndexError):
        pass
print("phase: samples, SM MHz min/median/max, W median/max, throttle reasons seen (at >200 W)")
for (name, t0), (_, t1) in zip(marks, marks[1:]):
    s = [r for r in rows if sec(t0) <= r[0] < sec(t1)]
    busy = [r for r in s if r[2] > 200]
    if not s:
        continue
    c = sorted(r[1] for r in s); w = sorted(r[2] for r in s)
    print(f"{name}: {len(s)}, {c[0]:.0f}/{c[len(c)//2]:.0f}/{c[-1]:.0f}, {w[len(w)//2]:.0f}/{w[-1]:.0f}, "
          f"{sorted(set(r[3] for r in busy))}")
PY
