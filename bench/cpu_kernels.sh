#!/usr/bin/env bash
# CPU kernel speed per weight precision on a GPT-2-124M-shaped random model:
# pp and tg medians over ROUNDS rounds (each round: the bandwidth probe, then
# every precision once), with the read bandwidth measured in the same round,
# and decode as a share of that bandwidth.  The machine may be shared, so
# rounds interleave precisions rather than running each back to back.
# usage: bench/cpu_kernels.sh [THREADS] [PP] [TG] [ROUNDS] [PRECISION...]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2} pp=${2:-512} tg=${3:-128} rounds=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
precisions=${*:-stored q8_0 q4_0 q4_K}
make build >/dev/null
gpt2=${TMPDIR:-/tmp}/accinf-bench-gpt2-124m
[ -f "$gpt2/model.safetensors" ] || python3 tools/make_random_model.py --shape gpt2-124m --out "$gpt2" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq "$rounds"); do
  bw=$(./build/accinf-membw "$threads" 2048 | sed -E 's/.*"read_gb_s":([0-9.]+).*/\1/')
  for p in $precisions; do
    ./build/accinf-bench-cpu "$gpt2" "$threads" "$pp" "$tg" 1 "$p" |
      sed -E "s/^\\{/{\"round\":$round,\"bw\":$bw,/" >>"$out"
  done
done
echo "commit $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds, $threads threads"
# bytes a decode step reads: the matmul weights (the head is the tied embedding) at each precision
awk -v pp="$pp" -v tg="$tg" '
function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ match($0, /"weights":"[^"]*"/); w = substr($0, RSTART + 11, RLENGTH - 12)
  match($0, /"bw":[0-9.]+/); bw = substr($0, RSTART + 5, RLENGTH - 5)
  match($0, /"pp_tok_s":[0-9.]+/); p = substr($0, RSTART + 11, RLENGTH - 11)
  match($0, /"tg_tok_s":[0-9.]+/); t = substr($0, RSTART + 11, RLENGTH - 11)
  n[w]++; P[w, n[w]] = p; T[w, n[w]] = t; B[w, n[w]] = bw; order[w] = NR }
END {
  bpw["f32"] = 4; bpw["stored"] = 2; bpw["q8_0"] = 34 / 32; bpw["q4_0"] = 18 / 32; bpw["q4_K"] = 144 / 256; bpw["q6_K"] = 210 / 256
  params = 12 * (768 * 2304 + 768 * 768 + 2 * 768 * 3072) + 50257 * 768
  printf "| weights | pp%d tok/s (median) | tg%d tok/s (median) | read GB/s (median) | MB read per token | tg share of bandwidth |\n|---|---|---|---|---|---|\n", pp, tg
  for (w in n) {
    for (i = 1; i <= n[w]; i++) { a[i] = P[w, i]; b[i] = T[w, i]; c[i] = B[w, i] }
    mp = med(a, n[w]); mt = med(b, n[w]); mb = med(c, n[w]); mbytes = params * bpw[w] / 1e6
    printf "| %s | %.1f | %.1f | %.2f | %.0f | %.0f%% |\n", w, mp, mt, mb, mbytes, 100 * mt * mbytes / 1e3 / mb
  }
}' "$out"
