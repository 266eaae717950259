#!/usr/bin/env python3
"""Hugging Face transformers on the same random model, for comparison with
accinf's cuda backend (f16): prefill tokens/s at each --pp length (one
forward, no cache), eager decode tokens/s at each --batch size (generate,
--tg new tokens after a 16-token prompt, B sequences together), then batch-1
decode with a static cache (generate then compiles its decoding step itself), when
--compile is given and it works.  Prints the results as one JSON object
after every measurement (the last line is the most complete), so a timeout
keeps what was measured.
usage: hf_bench.py MODEL_DIR [--pp 512,2048] [--batch 1,8] [--tg 64] [--compile]"""
import argparse
import json
import sys
import time

import torch
import transformers


def timed(fn, reps=3):
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--pp", default="512,2048")
    parser.add_argument("--batch", default="1")
    parser.add_argument("--tg", type=int, default=64)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    out = {"transformers": transformers.__version__, "torch": torch.__version__}

    def report():
        print(json.dumps(out), flush=True)

    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    out["copy_bytes_per_s"] = 2 * x.numel() / timed(lambda: y.copy_(x), 10)
    del x, y
    t0 = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float16)
    model = model.cuda().eval()
    out["load_s"] = time.perf_counter() - t0
    report()
    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(0)
    new = args.tg
    with torch.no_grad():
        for n in [int(v) for v in args.pp.split(",") if v]:
            ids = torch.randint(0, vocab, (1, n), generator=gen).cuda()
            out[f"pp{n}_tok_s"] = n / timed(lambda: model(ids, use_cache=False))
            report()
        for b in [int(v) for v in args.batch.split(",") if v]:
            ids = torch.randint(0, vocab, (b, 16), generator=gen).cuda()
            seconds = timed(lambda: model.generate(ids, attention_mask=torch.ones_like(ids),
                                                   max_new_tokens=new, min_new_tokens=new,
                                                   do_sample=False, pad_token_id=0), 2)
            out[f"tg_b{b}_eager_tok_s"] = b * new / seconds
            report()
        if args.compile:
            # transformers' own fast path: a static cache makes generate
            # compile the decoding forward itself (torch.compile, CUDA
            # graphs); a hand-wrapped compiled forward crashed here before
            ids = torch.randint(0, vocab, (1, 16), generator=gen).cuda()

            def run():
                model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new,
                               min_new_tokens=new, do_sample=False, pad_token_id=0,
                               cache_implementation="static")

            try:
                t0 = time.perf_counter()
                run()  # compiles
                out["compile_s"] = time.perf_counter() - t0
                out["tg_b1_static_compiled_tok_s"] = new / timed(run, 2)
            except Exception as e:  # report, keep the eager figures
                out["compile_error"] = f"{type(e).__name__}: {e}"[:300]
            report()

if __name__ == "__main__":
    sys.exit(main())
