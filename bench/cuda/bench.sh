#!/usr/bin/env bash
# bench.sh — CUDA benchmark: prefill and decode tokens/s (batch 1, 8, 32,
# 128 sequences per step) of the demo model and of Llama-3.2-1B- and
# Llama-3.1-8B-shaped random models (f16 weights, tools/make_random_model.py),
# beside the HBM roofline (16-bit weight bytes read per decode step /
# bandwidth) and the dense bf16 peak, and Hugging Face transformers on the
# same GPU (eager, and static cache + torch.compile for batch 1).
# usage: bench/cuda/bench.sh ACCINF OUTDIR [PART...]   (run on the GPU machine)
#   PART: demo 1b 8b profile1b profile8b hf1b hf8b (default: all); dec8b (8B decode,
#   batch 1 and 128, without prefill); sweep8b (decode per $SWEEP setting); nopdl8b (batch-1
#   decode with ACCINF_CUDA_NO_PDL); profile8b128 (batch-128 decode profile); hf1bc and
#   hf8bc: transformers' prefill 2048, batch-1 eager and compiled decode only
#   (profileNB: per-operation GPU times, ACCINF_CUDA_PROFILE, on stderr)
set -u
ACCINF=$1 OUTDIR=$2
shift 2
parts=${*:-demo 1b 8b profile1b profile8b hf1b hf8b}
cd "$(dirname "$0")/../.."
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "gpu: $gpu; commit: $(cat .commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)"
runs=$OUTDIR/bench.jsonl
touch "$runs"
model() { # SHAPE -> directory
    local dir=/tmp/accinf-bench-$1
    [ -f "$dir/model.safetensors" ] ||
        python3 tools/make_random_model.py --shape "$1" --out "$dir" >&2
    echo "$dir"
}
bench() { # MODEL DEVICE ARGS...
    local json m=$1 d=$2 t0=$SECONDS
    shift 2
    if json=$("$ACCINF" bench "$m" --device "$d" --json "$@"); then
        echo "{\"model_dir\":\"$m\",\"info\":$("$ACCINF" info "$m" --json),\"bench\":$json}" >>"$runs"
    else
        echo "bench $m --device $d $* failed" >&2
    fi
    echo "bench $(basename "$m") $d $*: $((SECONDS - t0)) s" >&2
}
hf() { # NAME MODEL TIMEOUT ARGS...
    local name=$1 m=$2 limit=$3 t0=$SECONDS
    shift 3
    PYTHONUNBUFFERED=1 timeout "$limit" python3 bench/cuda/hf_bench.py "$m" "$@" \
        >"$OUTDIR/hf_$name.jsonl" 2>"$OUTDIR/hf_$name.err" ||
        echo "transformers $name: exit $? ($(tail -2 "$OUTDIR/hf_$name.err" | cut -c1-200))"
    echo "transformers $name: $((SECONDS - t0)) s" >&2
}
for p in $parts; do
    case $p in
    demo)
        bench examples/demo-model cuda --pp 512 --tg 128 --reps 5
        bench examples/demo-model cuda-f32 --pp 512 --tg 128 --reps 3 ;;
    1b)
        bench "$(model llama-3.2-1b)" cuda --pp 512,2048 --ubatch 2048 --tg 128 \
            --batch 1,8,32,128 --reps 3 --sample ;;
    8b) # two engines: 128 sequences of 2048 tokens of KV cache (32 GiB in f16, 64 GiB
        # in f32 before) beside the weights; the batches need only 132 tokens
        bench "$(model llama-3.1-8b)" cuda --pp 512,2048 --ubatch 2048 --tg 128 --batch 1 \
            --reps 3 --sample
        bench "$(model llama-3.1-8b)" cuda --pp 0 --tg 128 --batch 8,32,128 --reps 3 --sample ;;
    dec8b) # decode only: batch 1 and 128, 128 steps after a 4-token prompt
        bench "$(model llama-3.1-8b)" cuda --pp 0 --tg 128 --batch 1,128 --reps 2 --sample ;;
    sweep8b) # decode (batch $SWEEP_BATCH, default 1) once per setting in $SWEEP (space-separated
        # NAME=VALUE, "-": none), rounds interleaved, so that the settings compare within one call
        for round in 1 2; do
            for s in ${SWEEP:--}; do
                env $([ "$s" = - ] || echo "$s") "$ACCINF" bench "$(model llama-3.1-8b)" --device cuda \
                    --pp 0 --tg 128 --batch "${SWEEP_BATCH:-1}" --reps 2 --sample --json |
                    grep -o '"tg_tok_s":[0-9.]*' | sed "s/^/8b batch ${SWEEP_BATCH:-1}, round $round, $s: /"
            done
        done ;;
    nopdl8b) # batch-1 decode with the GEMVs' programmatic dependent launch off, beside 8b's
        ACCINF_CUDA_NO_PDL=1 "$ACCINF" bench "$(model llama-3.1-8b)" --device cuda --pp 0 --tg 128 \
            --batch 1 --reps 3 --sample --json | grep -o '"tg_tok_s":[0-9.]*' |
            sed 's/^/8b without PDL: /' ;;
    profile1b | profile8b)
        m=$(model "$([ $p = profile1b ] && echo llama-3.2-1b || echo llama-3.1-8b)")
        ACCINF_CUDA_PROFILE=1 "$ACCINF" bench "$m" --device cuda --pp 2048 --ubatch 2048 --tg 64 \
            --reps 1 >/dev/null 2>"$OUTDIR/$p.txt"
        cat "$OUTDIR/$p.txt" ;;
    profile8b128) # per-operation GPU times of batch-128 decode steps (sampling on the GPU;
        # --ubatch 128: the default, min(context, 512) = 36 here, would split the steps)
        ACCINF_CUDA_PROFILE=1 "$ACCINF" bench "$(model llama-3.1-8b)" --device cuda --pp 0 --tg 32 --ubatch 128 \
            --batch 128 --reps 1 --sample >/dev/null 2>"$OUTDIR/$p.txt"
        cat "$OUTDIR/$p.txt" ;;
    hf1b)
        hf 1b "$(model llama-3.2-1b)" 150 --pp 512,2048 --batch 1,8,32,128 --tg 64 --compile ;;
    hf1bc)
        hf 1bc "$(model llama-3.2-1b)" 150 --pp 2048 --batch 1 --tg 64 --compile ;;
    hf8bc)
        hf 8bc "$(model llama-3.1-8b)" 200 --pp 2048 --batch 1 --tg 32 --compile ;;
    hf8b)
        hf 8b "$(model llama-3.1-8b)" 240 --pp 512,2048 --batch 1,8,32,128 --tg 32 --compile ;;
    esac
done
python3 bench/cuda/report.py "$runs" "$OUTDIR" "$gpu"
