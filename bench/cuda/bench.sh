#!/usr/bin/env bash
# bench.sh — first CUDA benchmark: prefill and batch-1 decode tokens/s of
# the demo model and of a Llama-3.2-1B-shaped random model (f16 weights,
# tools/make_random_model.py), beside the HBM roofline (16-bit weight bytes
# read per decode token / bandwidth: the datasheet's and a measured copy)
# and Hugging Face transformers (eager, f16) on the same GPU.
# usage: bench/cuda/bench.sh ACCINF OUTDIR   (run on the GPU machine)
set -u
ACCINF=$1 OUTDIR=$2
cd "$(dirname "$0")/../.."
llama=/tmp/accinf-bench-llama-3.2-1b
[ -f "$llama/model.safetensors" ] ||
    python3 tools/make_random_model.py --shape llama-3.2-1b --out "$llama" >&2
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "gpu: $gpu; commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
runs=$OUTDIR/bench.jsonl
: >"$runs"
bench() { # MODEL DEVICE PP TG REPS
    local json
    if json=$("$ACCINF" bench "$1" --device "$2" --pp "$3" --tg "$4" --reps "$5" --json); then
        echo "{\"model_dir\":\"$1\",\"info\":$("$ACCINF" info "$1" --json),\"bench\":$json}" >>"$runs"
    else
        echo "bench $1 --device $2 --pp $3 --tg $4 failed" >&2
    fi
}
bench examples/demo-model cuda 512 128 5
bench examples/demo-model cuda-f32 512 128 3
bench "$llama" cuda 512 128 3
bench "$llama" cuda 2048 0 3
timeout 150 python3 bench/cuda/hf_bench.py "$llama" >"$OUTDIR/hf.json" 2>"$OUTDIR/hf.err" ||
    echo "transformers run failed: $(tail -3 "$OUTDIR/hf.err")"
python3 - "$runs" "$OUTDIR/hf.json" "$gpu" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
try:
    hf = json.load(open(sys.argv[2]))
except Exception:
    hf = {}
gpu = sys.argv[3]
peak = 4.8e12 if "H200" in gpu else 3.35e12
copy = hf.get("copy_bytes_per_s")
print(f"datasheet HBM bandwidth {peak/1e12:.2f} TB/s" +
      (f"; measured device copy (read+write) {copy/1e12:.2f} TB/s" if copy else ""))
print("| model | device | weight bytes/token (MB) | decode roofline (tok/s) | pp tok/s | tg tok/s | tg % of roofline |")
print("|---|---|---|---|---|---|---|")
for r in runs:
    info, b = r["info"], r["bench"]
    hp, params = info["hparams"], info["parameters"]
    # decode reads every matrix once; an untied embedding table only one row
    read = params - (0 if hp["tie_word_embeddings"] else hp["vocab_size"] * hp["hidden_size"])
    per = 4 if b["backend"] == "cuda-f32" else 2
    nbytes = read * per
    roof = peak / nbytes
    tg = b.get("tg_tok_s")
    name = info["path"].rstrip("/").split("/")[-1]
    tg_s = f"{tg:.1f}" if tg else "-"
    share = f"{100 * tg / roof:.0f}%" if tg else "-"
    print(f"| {name} | {b['backend']} | {nbytes/1e6:.1f} | {roof:.0f} | pp{b['pp']}: {b['pp_tok_s']:.0f} | {tg_s} | {share} |")
if hf:
    print(f"transformers {hf.get('transformers')} eager f16, same random 1B model: "
          f"pp512 {hf['pp512_tok_s']:.0f} tok/s, pp2048 {hf['pp2048_tok_s']:.0f} tok/s, "
          f"batch-1 decode {hf['tg128_tok_s']:.1f} tok/s")
PY
