#!/usr/bin/env python3
"""Write a random-weight HF model directory of a named real shape, for
benchmarks (no torch needed: Python's standard library only).

  tools/make_random_model.py --shape gpt2-124m --out /tmp/gpt2-124m
  tools/make_random_model.py --shape llama-3.2-1b --out /tmp/llama-1b
  tools/make_random_model.py --shape llama-3.1-8b --out /tmp/llama-8b

Weights are f16 with magnitudes between 2^-7 and 2^-1 and random signs: the
values do not matter for speed, only the shapes and bytes do.

The llama shapes also get a tokenizer.json in Llama-3's style (byte-level
BPE with Llama-3's split regex, which `accinf convert` writes as
tokenizer.ggml.pre "llama-bpe"), so that the GGUF files carry a vocabulary
and llama.cpp loads them: the 256 byte tokens, synthetic merges up to the
regular vocabulary (all byte pairs, then pair + byte), and Llama-3's 256
special tokens (<|begin_of_text|>, <|end_of_text|>, reserved ones) at the top
of the shape's vocab_size.  GPT-2's shape takes GPT-2's real tokenizer
(tests/fixtures/tokenizers/gpt2), which bench/cpu_vs_peer.sh copies.
"""
import argparse
import json
import os
import random
import struct

SHAPES = {
    "gpt2-124m": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                  "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12,
                  "n_positions": 1024, "n_inner": None, "activation_function": "gelu_new",
                  "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256},
    "llama-3.2-1b": {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                     "vocab_size": 128256, "hidden_size": 2048, "num_hidden_layers": 16,
                     "num_attention_heads": 32, "num_key_value_heads": 8,
                     "intermediate_size": 8192, "max_position_embeddings": 131072,
                     "rms_norm_eps": 1e-5, "hidden_act": "silu", "rope_theta": 500000.0,
                     "rope_scaling": {"rope_type": "llama3", "factor": 32.0,
                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 8192},
                     "tie_word_embeddings": True, "bos_token_id": 128000,
                     "eos_token_id": 128001},
    "llama-3.1-8b": {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                     "vocab_size": 128256, "hidden_size": 4096, "num_hidden_layers": 32,
                     "num_attention_heads": 32, "num_key_value_heads": 8,
                     "intermediate_size": 14336, "max_position_embeddings": 131072,
                     "rms_norm_eps": 1e-5, "hidden_act": "silu", "rope_theta": 500000.0,
                     "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 8192},
                     "tie_word_embeddings": False, "bos_token_id": 128000,
                     "eos_token_id": 128001},
}


LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?"
                "[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
N_SPECIAL = 256  # Llama 3: ids vocab_size-256 .. vocab_size-1


def byte_chars():
    """GPT-2's byte-to-character map (printable bytes map to themselves)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def special_names(count):
    names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
             "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
             "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    names = names[:count]
    reserved = 3
    while len(names) < count:
        names.append(f"<|reserved_special_token_{reserved}|>")
        reserved += 1
    return names


def llama_bpe_tokenizer(vocab_size):
    """A Llama-3-style tokenizer.json document with vocab_size entries."""
    regular = vocab_size - N_SPECIAL
    chars = byte_chars()
    if regular < len(chars):
        raise SystemExit(f"vocab_size {vocab_size} leaves no room for the byte tokens")
    vocab = {c: i for i, c in enumerate(chars)}
    merges = []

    def add(left, right):
        vocab[left + right] = len(vocab)
        merges.append([left, right])

    # all byte pairs, then pair + byte, in a fixed order, until full
    pairs = []
    for a in chars:
        for b in chars:
            if len(vocab) == regular:
                break
            add(a, b)
            pairs.append(a + b)
    for ab in pairs:
        for c in chars:
            if len(vocab) == regular:
                break
            add(ab, c)
        if len(vocab) == regular:
            break
    if len(vocab) != regular:
        raise SystemExit(f"vocab_size {vocab_size}: too large for synthetic merges")
    added = [{"id": regular + i, "content": name, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, name in enumerate(special_names(N_SPECIAL))]
    bos = added[0]["content"]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": bos, "type_id": 1}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {bos: {"id": bos, "ids": [regular],
                                                    "tokens": [bos]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": merges},
    }


def tensor_shapes(config):
    if config["model_type"] == "gpt2":
        d, v, p = config["n_embd"], config["vocab_size"], config["n_positions"]
        yield "transformer.wte.weight", [v, d]
        yield "transformer.wpe.weight", [p, d]
        for i in range(config["n_layer"]):
            h = f"transformer.h.{i}."
            yield h + "ln_1.weight", [d]
            yield h + "ln_1.bias", [d]
            yield h + "attn.c_attn.weight", [d, 3 * d]
            yield h + "attn.c_attn.bias", [3 * d]
            yield h + "attn.c_proj.weight", [d, d]
            yield h + "attn.c_proj.bias", [d]
            yield h + "ln_2.weight", [d]
            yield h + "ln_2.bias", [d]
            yield h + "mlp.c_fc.weight", [d, 4 * d]
            yield h + "mlp.c_fc.bias", [4 * d]
            yield h + "mlp.c_proj.weight", [4 * d, d]
            yield h + "mlp.c_proj.bias", [d]
        yield "transformer.ln_f.weight", [d]
        yield "transformer.ln_f.bias", [d]
        return
    d, v, f = config["hidden_size"], config["vocab_size"], config["intermediate_size"]
    hd = d // config["num_attention_heads"]
    kv = config["num_key_value_heads"] * hd
    yield "model.embed_tokens.weight", [v, d]
    for i in range(config["num_hidden_layers"]):
        h = f"model.layers.{i}."
        yield h + "input_layernorm.weight", [d]
        yield h + "self_attn.q_proj.weight", [d, d]
        yield h + "self_attn.k_proj.weight", [kv, d]
        yield h + "self_attn.v_proj.weight", [kv, d]
        yield h + "self_attn.o_proj.weight", [d, d]
        yield h + "post_attention_layernorm.weight", [d]
        yield h + "mlp.gate_proj.weight", [f, d]
        yield h + "mlp.up_proj.weight", [f, d]
        yield h + "mlp.down_proj.weight", [d, f]
    yield "model.norm.weight", [d]
    if not config.get("tie_word_embeddings"):
        yield "lm_head.weight", [v, d]


POOL_VALUES = 1 << 24  # 32 MiB of random f16 values, reused at shifting offsets


def random_pool(rng):
    data = bytearray(rng.randbytes(2 * POOL_VALUES))
    # high byte: keep the sign and 2 mantissa bits, force exponent into [8, 14]
    table = bytes((b & 0x83) | ((8 + (b >> 2) % 7) << 2) for b in range(256))
    data[1::2] = bytes(data[1::2]).translate(table)
    return bytes(data)


def write_random_f16(f, count, pool, rng):
    """count values cut from the pool, starting at a random offset: an 8B
    model takes seconds instead of the minutes fresh randomness needs."""
    pos = rng.randrange(POOL_VALUES)
    while count > 0:
        n = min(count, POOL_VALUES - pos)
        f.write(pool[2 * pos:2 * (pos + n)])
        count -= n
        pos = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    config = SHAPES[args.shape]
    rng = random.Random(42)
    header, offset, shapes = {}, 0, list(tensor_shapes(config))
    for name, shape in shapes:
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + 2 * count]}
        offset += 2 * count
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.safetensors")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        pool = random_pool(rng)
        for name, shape in shapes:
            count = header[name]["data_offsets"][1] // 2 - header[name]["data_offsets"][0] // 2
            write_random_f16(f, count, pool, rng)
    os.replace(path + ".tmp", path)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if config["model_type"] == "llama":
        tok = llama_bpe_tokenizer(config["vocab_size"])
        assert tok["added_tokens"][0]["id"] == config["bos_token_id"]
        assert tok["added_tokens"][1]["id"] == config["eos_token_id"]
        path = os.path.join(args.out, "tokenizer.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        os.replace(path + ".tmp", path)
    print(f"{args.out}: {args.shape}, {offset // 2} parameters")


if __name__ == "__main__":
    main()
