/*
 * gguf_names.c — the HF <-> GGUF tensor name table of gguf_names.h and
 * llama.cpp's q/k row permutation.  llama.cpp applies rotary embedding to
 * adjacent element pairs (GPT-J style) for the llama architectures while HF
 * rotates the two halves of each head, so its converter reorders q and k
 * rows per head; we do the same and undo it when loading.
 */
#include "model/gguf_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_rule {
    const char *hf;   /* suffix after the layer prefix, or the whole name */
    const char *gguf; /* the same for GGUF */
    acc_gguf_layout layout;
} name_rule;

static const name_rule llama_globals[] = {
    {"model.embed_tokens.weight", "token_embd.weight", ACC_GGUF_LAYOUT_SAME},
    {"model.norm.weight", "output_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"lm_head.weight", "output.weight", ACC_GGUF_LAYOUT_SAME},
};
static const name_rule llama_layers[] = {
    {"input_layernorm.weight", "attn_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"self_attn.q_proj.weight", "attn_q.weight", ACC_GGUF_LAYOUT_PERMUTE_Q},
    {"self_attn.q_proj.bias", "attn_q.bias", ACC_GGUF_LAYOUT_PERMUTE_Q},
    {"self_attn.k_proj.weight", "attn_k.weight", ACC_GGUF_LAYOUT_PERMUTE_K},
    {"self_attn.k_proj.bias", "attn_k.bias", ACC_GGUF_LAYOUT_PERMUTE_K},
    {"self_attn.v_proj.weight", "attn_v.weight", ACC_GGUF_LAYOUT_SAME},
    {"self_attn.v_proj.bias", "attn_v.bias", ACC_GGUF_LAYOUT_SAME},
    {"self_attn.o_proj.weight", "attn_output.weight", ACC_GGUF_LAYOUT_SAME},
    {"self_attn.o_proj.bias", "attn_output.bias", ACC_GGUF_LAYOUT_SAME},
    {"post_attention_layernorm.weight", "ffn_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"mlp.gate_proj.weight", "ffn_gate.weight", ACC_GGUF_LAYOUT_SAME},
    {"mlp.gate_proj.bias", "ffn_gate.bias", ACC_GGUF_LAYOUT_SAME},
    {"mlp.up_proj.weight", "ffn_up.weight", ACC_GGUF_LAYOUT_SAME},
    {"mlp.up_proj.bias", "ffn_up.bias", ACC_GGUF_LAYOUT_SAME},
    {"mlp.down_proj.weight", "ffn_down.weight", ACC_GGUF_LAYOUT_SAME},
    {"mlp.down_proj.bias", "ffn_down.bias", ACC_GGUF_LAYOUT_SAME},
};
static const name_rule gpt2_globals[] = {
    {"wte.weight", "token_embd.weight", ACC_GGUF_LAYOUT_SAME},
    {"wpe.weight", "position_embd.weight", ACC_GGUF_LAYOUT_SAME},
    {"ln_f.weight", "output_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"ln_f.bias", "output_norm.bias", ACC_GGUF_LAYOUT_SAME},
    {"lm_head.weight", "output.weight", ACC_GGUF_LAYOUT_SAME},
};
static const name_rule gpt2_layers[] = {
    {"ln_1.weight", "attn_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"ln_1.bias", "attn_norm.bias", ACC_GGUF_LAYOUT_SAME},
    {"attn.c_attn.weight", "attn_qkv.weight", ACC_GGUF_LAYOUT_TRANSPOSE},
    {"attn.c_attn.bias", "attn_qkv.bias", ACC_GGUF_LAYOUT_SAME},
    {"attn.c_proj.weight", "attn_output.weight", ACC_GGUF_LAYOUT_TRANSPOSE},
    {"attn.c_proj.bias", "attn_output.bias", ACC_GGUF_LAYOUT_SAME},
    {"ln_2.weight", "ffn_norm.weight", ACC_GGUF_LAYOUT_SAME},
    {"ln_2.bias", "ffn_norm.bias", ACC_GGUF_LAYOUT_SAME},
    {"mlp.c_fc.weight", "ffn_up.weight", ACC_GGUF_LAYOUT_TRANSPOSE},
    {"mlp.c_fc.bias", "ffn_up.bias", ACC_GGUF_LAYOUT_SAME},
    {"mlp.c_proj.weight", "ffn_down.weight", ACC_GGUF_LAYOUT_TRANSPOSE},
    {"mlp.c_proj.bias", "ffn_down.bias", ACC_GGUF_LAYOUT_SAME},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *acc_gguf_arch_name(acc_arch arch)
{
    switch (arch) {
    case ACC_ARCH_GPT2: return "gpt2";
    case ACC_ARCH_LLAMA:
    case ACC_ARCH_MISTRAL: return "llama";
    case ACC_ARCH_QWEN2: return "qwen2";
    case ACC_ARCH_GRANITE: return "granite";
    default: return NULL;
    }
}

int acc_gguf_arch_from_name(const char *name, acc_arch *out)
{
    static const struct { const char *name; acc_arch arch; } table[] = {
        {"gpt2", ACC_ARCH_GPT2}, {"llama", ACC_ARCH_LLAMA},
        {"qwen2", ACC_ARCH_QWEN2}, {"granite", ACC_ARCH_GRANITE}};
    for (size_t i = 0; i < COUNT(table); i++)
        if (strcmp(name, table[i].name) == 0) {
            *out = table[i].arch;
            return 0;
        }
    return -1;
}

/* Qwen2 uses llama.cpp's NEOX rope (HF's half rotation): no permutation. */
static acc_gguf_layout arch_layout(acc_arch arch, acc_gguf_layout layout)
{
    if ((layout == ACC_GGUF_LAYOUT_PERMUTE_Q || layout == ACC_GGUF_LAYOUT_PERMUTE_K) &&
        arch == ACC_ARCH_QWEN2)
        return ACC_GGUF_LAYOUT_SAME;
    return layout;
}

/* Splits "<prefix><N>.<rest>" and returns rest, or NULL. */
static const char *layer_rest(const char *name, const char *prefix, int *layer)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0)
        return NULL;
    const char *p = name + n;
    if (*p < '0' || *p > '9')
        return NULL;
    char *end;
    long value = strtol(p, &end, 10);
    if (*end != '.' || value < 0 || value > 1000000)
        return NULL;
    *layer = (int)value;
    return end + 1;
}

static int map_name(acc_arch arch, const char *name, int to_gguf, char *out, size_t size,
                    acc_gguf_layout *layout)
{
    const name_rule *globals = arch == ACC_ARCH_GPT2 ? gpt2_globals : llama_globals;
    const name_rule *layers = arch == ACC_ARCH_GPT2 ? gpt2_layers : llama_layers;
    size_t n_globals = arch == ACC_ARCH_GPT2 ? COUNT(gpt2_globals) : COUNT(llama_globals);
    size_t n_layers = arch == ACC_ARCH_GPT2 ? COUNT(gpt2_layers) : COUNT(llama_layers);
    const char *hf_layer_prefix = arch == ACC_ARCH_GPT2 ? "h." : "model.layers.";
    if (to_gguf && arch == ACC_ARCH_GPT2 && strncmp(name, "transformer.", 12) == 0)
        name += 12;
    for (size_t i = 0; i < n_globals; i++) {
        const char *from = to_gguf ? globals[i].hf : globals[i].gguf;
        const char *to = to_gguf ? globals[i].gguf : globals[i].hf;
        if (strcmp(name, from) == 0) {
            snprintf(out, size, "%s", to);
            *layout = arch_layout(arch, globals[i].layout);
            return 1;
        }
    }
    int layer;
    const char *rest = layer_rest(name, to_gguf ? hf_layer_prefix : "blk.", &layer);
    if (!rest)
        return -1;
    for (size_t i = 0; i < n_layers; i++) {
        const char *from = to_gguf ? layers[i].hf : layers[i].gguf;
        const char *to = to_gguf ? layers[i].gguf : layers[i].hf;
        if (strcmp(rest, from) == 0) {
            snprintf(out, size, "%s%d.%s", to_gguf ? "blk." : hf_layer_prefix, layer, to);
            *layout = arch_layout(arch, layers[i].layout);
            return 1;
        }
    }
    return -1;
}

static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && strcmp(name + n - m, suffix) == 0;
}

int acc_gguf_name_from_hf(acc_arch arch, const char *hf, char *out, size_t size,
                          acc_gguf_layout *layout)
{
    if (ends_with(hf, ".attn.bias") || ends_with(hf, ".attn.masked_bias") ||
        ends_with(hf, "rotary_emb.inv_freq"))
        return 0;
    return map_name(arch, hf, 1, out, size, layout);
}

int acc_gguf_name_to_hf(acc_arch arch, const char *gguf, char *out, size_t size,
                        acc_gguf_layout *layout)
{
    return map_name(arch, gguf, 0, out, size, layout);
}

void acc_gguf_permute_rows(const void *src, void *dst, int n_heads, int head_dim,
                           size_t row_bytes, int inverse)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++) {
                size_t permuted = (size_t)h * head_dim + 2 * i + j;
                size_t original = (size_t)h * head_dim + (size_t)j * half + i;
                size_t to = inverse ? original : permuted, from = inverse ? permuted : original;
                memcpy(d + to * row_bytes, s + from * row_bytes, row_bytes);
            }
}
