#!/usr/bin/env python3
"""Train accinf's embedded default model: a small Llama-style model on the
King James Bible (public domain; Debian package bible-kjv, dumped by
tools/prepare_corpus.sh).

Runs on the GPU machine with torch + transformers + tokenizers.  Writes an HF
model directory (config.json, model.safetensors in f16, tokenizer.json) to
--out (default examples/demo-model) and the held-out text to
--out/heldout.txt for perplexity checks.  Every 50th verse is held out of
training; the checkpoint with the best held-out loss is kept (early stopping:
the corpus is only ~1M tokens, so a 5M-parameter model soon memorises it).
"""
import argparse
import json
import math
import os
import time

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from tokenizers import processors, trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def build_tokenizer(lines, vocab_size):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size,
                                  special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)])
    return tok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", default="examples/demo-model")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--seconds", type=float, default=300, help="training time budget")
    args = parser.parse_args()

    from transformers import LlamaConfig, LlamaForCausalLM

    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    train_lines = [line for i, line in enumerate(lines) if i % 50 != 0]
    held_lines = [line for i, line in enumerate(lines) if i % 50 == 0]

    tok = build_tokenizer(train_lines, 4096)
    eot = tok.token_to_id("<|end_of_text|>")
    bos = tok.token_to_id("<|begin_of_text|>")
    # One stream of verses, each ending with a newline, as one document.
    train_text = "\n".join(train_lines) + "\n"
    ids = torch.tensor([bos] + tok.encode(train_text, add_special_tokens=False).ids,
                       dtype=torch.long)
    print(f"corpus: {len(train_lines)} verses, {ids.numel()} tokens, vocab {tok.get_vocab_size()}")

    config_dict = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": tok.get_vocab_size(), "hidden_size": 256, "num_hidden_layers": 6,
        "num_attention_heads": 8, "num_key_value_heads": 4, "intermediate_size": 704,
        "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "hidden_act": "silu",
        "rope_theta": 10000.0, "tie_word_embeddings": True,
        "bos_token_id": bos, "eos_token_id": eot, "torch_dtype": "float16",
    }
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**config_dict)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters ({n_params * 2 / 1e6:.1f} MB as f16)")

    seq, batch = 256, 64
    held_text = "\n".join(held_lines) + "\n"
    held = torch.tensor(tok.encode(held_text, add_special_tokens=False).ids, device=device)

    def held_out_loss():
        model.eval()
        with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.bfloat16):
            n = (held.numel() - 1) // seq * seq
            x, y = held[:n].view(-1, seq), held[1:n + 1].view(-1, seq)
            logits = model(x).logits.float()
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)),
                                                     y.reshape(-1)).item()
        model.train()
        return loss

    best_loss, best_state, best_step = float("inf"), None, 0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    data = ids.to(device)
    start = time.time()
    step = 0
    for step in range(args.steps):
        lr = 1e-3 * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 *
                                                  (1 + math.cos(math.pi * step / args.steps)))
        for group in opt.param_groups:
            group["lr"] = lr
        offsets = torch.randint(0, data.numel() - seq - 1, (batch,), device=device)
        x = torch.stack([data[o:o + seq] for o in offsets])
        y = torch.stack([data[o + 1:o + seq + 1] for o in offsets])
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            logits = model(x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)),
                                                 y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            held_loss = held_out_loss()
            if held_loss < best_loss:
                best_loss, best_step = held_loss, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            print(f"step {step} loss {loss.item():.3f} held-out {held_loss:.3f} lr {lr:.2e} "
                  f"{time.time() - start:.0f}s", flush=True)
        if time.time() - start > args.seconds:
            break

    model.load_state_dict(best_state)
    model.eval()
    print(f"trained {step + 1} steps in {time.time() - start:.0f}s; kept step {best_step}: "
          f"held-out loss {best_loss:.3f} (perplexity {math.exp(best_loss):.1f}, window {seq})")

    os.makedirs(args.out, exist_ok=True)
    model.to(torch.float16).save_pretrained(args.out, safe_serialization=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config_dict, f, indent=2)
    gen_cfg = os.path.join(args.out, "generation_config.json")
    if os.path.exists(gen_cfg):
        os.remove(gen_cfg)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(held_text)

    prompt = "And God said unto Moses,"
    pids = tok.encode(prompt).ids
    with torch.no_grad():
        out = model.float().generate(torch.tensor([pids], device=device), max_new_tokens=40,
                                     do_sample=False)
    print("sample:", prompt + tok.decode(out[0][len(pids):].tolist()))


if __name__ == "__main__":
    main()
