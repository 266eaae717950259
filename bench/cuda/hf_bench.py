#!/usr/bin/env python3
"""Hugging Face transformers on the same random model, for comparison with
accinf's cuda backend (eager, f16, batch 1): prefill tokens/s at 512 and
2048 prompt tokens, decode tokens/s over 128 new tokens, and the device's
copy bandwidth.  Prints one JSON object.  usage: hf_bench.py MODEL_DIR"""
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
    path = sys.argv[1]
    out = {"transformers": transformers.__version__, "torch": torch.__version__}
    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    out["copy_bytes_per_s"] = 2 * x.numel() / timed(lambda: y.copy_(x), 10)
    del x, y
    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float16)
    model = model.cuda().eval()
    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for n in (512, 2048):
            ids = torch.randint(0, vocab, (1, n), generator=gen).cuda()
            out[f"pp{n}_tok_s"] = n / timed(lambda: model(ids, use_cache=False))
        ids = torch.randint(0, vocab, (1, 16), generator=gen).cuda()
        new = 128
        seconds = timed(lambda: model.generate(ids, max_new_tokens=new, min_new_tokens=new,
                                               do_sample=False), 2)
        out["tg128_tok_s"] = new / seconds
    print(json.dumps(out))


if __name__ == "__main__":
    main()
