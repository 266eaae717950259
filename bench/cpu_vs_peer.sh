#!/usr/bin/env bash
# cpu_vs_peer.sh — accinf against an existing llama-bench on the same GGUF
# files and thread count, back to back: pp512 and tg128 of both, the ratio,
# and our decode as a share of the read bandwidth measured in the same run.
# It never builds the peer.  Models: random-weight HF models of real shapes
# (tools/make_random_model.py) converted by `accinf convert` to f16, q8_0,
# q4_0 and q4_K_M (kept under $TMPDIR/accinf-peer-bench).  Both shapes run
# by default; --shape picks one or a list (--models is the same option).
# llama.cpp needs a vocabulary in the GGUF: GPT-2's shape gets GPT-2's
# tokenizer (fixture), the llama shapes the synthetic Llama-3-style one that
# make_random_model.py writes.
# usage: bench/cpu_vs_peer.sh --peer-bench PATH [--threads T] [--shape "gpt2-124m llama-3.2-1b"]
#                             [--types "f16 q8_0 q4_0 q4_K_M"] [--pp N] [--tg N] [--reps R]
set -euo pipefail
cd "$(dirname "$0")/.."
peer="" reps=5 threads=2 models="gpt2-124m llama-3.2-1b" types="f16 q8_0 q4_0 q4_K_M" pp=512 tg=128
while [ $# -gt 0 ]; do
  case "$1" in
    --peer-bench) peer=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --shape|--shapes|--models) models=$2; shift 2 ;;
    --types) types=$2; shift 2 ;;
    --pp) pp=$2; shift 2 ;;
    --tg) tg=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "usage: $0 --peer-bench PATH [--threads T] [--shape LIST] [--types LIST] [--pp N] [--tg N] [--reps R]" >&2; exit 2 ;;
  esac
done
[ -x "$peer" ] || { echo "$0: --peer-bench: '$peer' is not an executable llama-bench" >&2; exit 2; }
make build >/dev/null
dir=${TMPDIR:-/tmp}/accinf-peer-bench
mkdir -p "$dir"
bw=$(./build/accinf-membw "$threads" 2048 | sed -E 's/.*"read_gb_s":([0-9.]+).*/\1/')
echo "accinf commit $(git rev-parse --short HEAD); peer: $peer"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads $threads"
echo "measured read bandwidth, $threads threads: $bw GB/s"
printf '| model | type | file MiB | llama.cpp pp%s | accinf pp%s | ratio | llama.cpp tg%s | accinf tg%s | ratio | accinf tg share of bandwidth |\n' "$pp" "$pp" "$tg" "$tg"
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for model in $models; do
  hf=$dir/$model
  # llama.cpp loads no model without a vocabulary: GPT-2's own (fixture);
  # the llama shapes get theirs from make_random_model.py (a directory made
  # before it wrote one is made again)
  if [ ! -f "$hf/config.json" ] || { [ "$model" != gpt2-124m ] && [ ! -f "$hf/tokenizer.json" ]; }; then
    python3 tools/make_random_model.py --shape "$model" --out "$hf" >&2
  fi
  if [ ! -f "$hf/tokenizer.json" ] && [ "$model" = gpt2-124m ]; then
    cp tests/fixtures/tokenizers/gpt2/tokenizer.json "$hf/"
  fi
  for type in $types; do
    gguf=$dir/$model-$type.gguf
    # (re)convert when missing or older than the tokenizer it must carry
    if [ ! -f "$gguf" ] || [ "$hf/tokenizer.json" -nt "$gguf" ]; then
      ./build/accinf convert "$hf" -o "$gguf" --type "$type" >&2
    fi
    peer_json=$("$peer" -m "$gguf" -p "$pp" -n "$tg" -t "$threads" -r "$reps" -o json 2>/dev/null)
    ours=$(./build/accinf bench "$gguf" --pp "$pp" --tg "$tg" --threads "$threads" --reps "$reps" --json)
    # bandwidth share: tg tok/s x the weights as held in memory (info; an
    # upper bound on the bytes a decode step reads) / measured read GB/s
    held=$(./build/accinf info "$gguf" --json | sed -E 's/.*"weights_stored_bytes":([0-9]+).*/\1/')
    python3 - "$model" "$type" "$gguf" "$peer_json" "$ours" "$bw" "$held" <<'PY'
import json, os, sys
model, typ, gguf, peer, ours, bw, held = sys.argv[1:]
peer = json.loads(peer); ours = json.loads(ours)
pp_peer = next(r["avg_ts"] for r in peer if r["n_prompt"] > 0)
tg_peer = next(r["avg_ts"] for r in peer if r["n_gen"] > 0)
limit = float(bw) * 1e9 / int(held)
sys.stderr.write("peer build %s (%s)\n" % (peer[0].get("build_number"), peer[0].get("build_commit")))
print("| %s | %s | %.0f | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.0f%% |" % (
    model, typ, os.path.getsize(gguf) / 2**20, pp_peer, ours["pp_tok_s"],
    ours["pp_tok_s"] / pp_peer, tg_peer, ours["tg_tok_s"], ours["tg_tok_s"] / tg_peer,
    100 * ours["tg_tok_s"] / limit))
PY
  done
done
