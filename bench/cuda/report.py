#!/usr/bin/env python3
"""Summarises bench/cuda/bench.sh's results as markdown tables: accinf's
prefill (TFLOP/s and share of the dense bf16 peak) and decode (tokens/s and
share of the roofline: weight bytes per step over HBM bandwidth, or the
matmul FLOPs over the dense peak when that is longer) at each batch size,
beside transformers on the same model.
usage: report.py BENCH_JSONL OUTDIR GPU_NAME"""
import glob
import json
import os
import sys

DENSE_BF16 = 989e12  # H100/H200 SXM datasheet, dense


def last_json(path):
    best = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                best = json.loads(line)
            except ValueError:
                pass
    return best


def counts(hp, params):
    """(bytes a decode step reads, matmul parameters of the layers, attention
    FLOPs per (query, key) pair)"""
    d, v = hp["hidden_size"], hp["vocab_size"]
    tied = hp["tie_word_embeddings"]
    # decode reads every matrix once; an untied embedding table only rows
    read = params - (0 if tied else v * d)
    layer_params = params - v * d * (1 if tied else 2)
    attn_pair = 4 * hp["n_heads"] * hp["head_dim"] * hp["n_layers"]  # QK^T + PV, 2 FLOP each
    return read, layer_params, attn_pair


def main():
    runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    outdir, gpu = sys.argv[2], sys.argv[3]
    bw = 4.8e12 if "H200" in gpu else 3.35e12
    hf = {}
    for path in glob.glob(os.path.join(outdir, "hf_*.jsonl")):
        hf[os.path.basename(path)[3:-6]] = last_json(path)
    copy = next((h.get("copy_bytes_per_s") for h in hf.values() if h.get("copy_bytes_per_s")),
                None)
    print(f"{gpu}: HBM datasheet {bw / 1e12:.2f} TB/s"
          + (f", measured copy (read+write) {copy / 1e12:.2f} TB/s" if copy else "")
          + f"; dense bf16 peak {DENSE_BF16 / 1e12:.0f} TFLOP/s (datasheet)")
    print("\n| model | device | test | tok/s | roofline tok/s | share | TFLOP/s | % of dense peak |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        info, b = r["info"], r["bench"]
        hp, params = info["hparams"], info["parameters"]
        name = info["path"].rstrip("/").split("/")[-1].replace("accinf-bench-", "")
        per = 4 if b["backend"] == "cuda-f32" else 2
        read, layer_params, attn_pair = counts(hp, params)
        for pr in b.get("pp_runs", []):
            n, tps = pr["pp"], pr["tok_s"]
            flops = 2 * layer_params * n + attn_pair * n * (n + 1) / 2
            tf = flops * tps / n
            print(f"| {name} | {b['backend']} | pp{n} | {tps:.0f} | - | - | {tf / 1e12:.1f} | "
                  f"{100 * tf / DENSE_BF16:.0f}% |")
        for tr in b.get("tg_runs", []):
            batch, tps = tr["batch"], tr["tok_s"]
            step = max(read * per / bw, 2 * read * batch / DENSE_BF16)
            roof = batch / step
            print(f"| {name} | {b['backend']} | tg{b['tg']} batch {batch} | {tps:.1f} | "
                  f"{roof:.0f} | {100 * tps / roof:.0f}% | - | - |")
    for name, h in sorted(hf.items()):
        if not h:
            continue
        keys = [k for k in h if k.endswith("_tok_s")]
        print(f"\ntransformers {h.get('transformers')} (torch {h.get('torch')}), {name}: " +
              ", ".join(f"{k[:-6]} {h[k]:.1f}" for k in keys) +
              (f"; compile {h['compile_s']:.0f} s" if "compile_s" in h else "") +
              (f"; compile failed: {h['compile_error']}" if "compile_error" in h else ""))


if __name__ == "__main__":
    main()
