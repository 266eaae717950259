/*
 * convert_types.c — the target types and the per-tensor type choice of
 * llama-quantize (llama.cpp src/llama-quant.cpp, llama_tensor_get_type and
 * the "should this tensor be quantized" test), rewritten for the types we
 * produce: the head and a tied embedding get q6_K (q8_0 stays q8_0),
 * attn_v / ffn_down / attn_output / attn_qkv get more bits in the mixtures
 * (use_more_bits: the first and last eighth of the layers and every third
 * one between), and a row length that does not fit the block size falls
 * back (q4_K->q5_0, q5_K->q5_1, q6_K->q8_0, q2_K/q3_K->iq4_nl, else f16).
 */
#include "accinf/convert.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* llama_ftype values (llama.h). */
enum {
    FT_ALL_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8,
    FT_Q5_1 = 9, FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12, FT_Q3_K_L = 13,
    FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18,
    FT_BF16 = 32,
};

static const acc_convert_type types[] = {
    {"f32", FT_ALL_F32, ACC_GGML_F32, "32-bit float"},
    {"f16", FT_F16, ACC_GGML_F16, "16-bit float"},
    {"bf16", FT_BF16, ACC_GGML_BF16, "bfloat16"},
    {"q8_0", FT_Q8_0, ACC_GGML_Q8_0, "8-bit, 32-element blocks"},
    {"q4_0", FT_Q4_0, ACC_GGML_Q4_0, "4-bit symmetric"},
    {"q4_1", FT_Q4_1, ACC_GGML_Q4_1, "4-bit with minimum"},
    {"q5_0", FT_Q5_0, ACC_GGML_Q5_0, "5-bit symmetric"},
    {"q5_1", FT_Q5_1, ACC_GGML_Q5_1, "5-bit with minimum"},
    {"q2_K", FT_Q2_K, ACC_GGML_Q2_K, "k-quant mixture, mostly q2_K"},
    {"q3_K", FT_Q3_K_M, ACC_GGML_Q3_K, "alias of q3_K_M (as llama-quantize)"},
    {"q3_K_S", FT_Q3_K_S, ACC_GGML_Q3_K, "q3_K everywhere"},
    {"q3_K_M", FT_Q3_K_M, ACC_GGML_Q3_K, "q3_K, attn_v/ffn_down/attn_output more bits"},
    {"q3_K_L", FT_Q3_K_L, ACC_GGML_Q3_K, "q3_K, attn_v/ffn_down/attn_output q5_K"},
    {"q4_K", FT_Q4_K_M, ACC_GGML_Q4_K, "alias of q4_K_M (as llama-quantize)"},
    {"q4_K_S", FT_Q4_K_S, ACC_GGML_Q4_K, "q4_K, first attn_v/ffn_down q5_K"},
    {"q4_K_M", FT_Q4_K_M, ACC_GGML_Q4_K, "q4_K, half of attn_v/ffn_down q6_K"},
    {"q5_K", FT_Q5_K_M, ACC_GGML_Q5_K, "alias of q5_K_M (as llama-quantize)"},
    {"q5_K_S", FT_Q5_K_S, ACC_GGML_Q5_K, "q5_K everywhere"},
    {"q5_K_M", FT_Q5_K_M, ACC_GGML_Q5_K, "q5_K, half of attn_v/ffn_down q6_K"},
    {"q6_K", FT_Q6_K, ACC_GGML_Q6_K, "6-bit k-quant"},
};

const acc_convert_type *acc_convert_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(name, types[i].name) == 0)
            return &types[i];
    return NULL;
}

const acc_convert_type *acc_convert_types(int *n)
{
    *n = (int)(sizeof types / sizeof types[0]);
    return types;
}

static int layer_of(const char *name)
{
    int layer = -1;
    if (strncmp(name, "blk.", 4) == 0 && sscanf(name + 4, "%d", &layer) != 1)
        layer = -1;
    return layer;
}

int acc_convert_name_compare(const char *a, const char *b)
{
    int la = layer_of(a), lb = layer_of(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && strcmp(name + n - m, suffix) == 0;
}

static int use_more_bits(int i_layer, int n_layers)
{
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer - n_layers / 8) % 3 == 2;
}

/* llama_tensor_get_type for the non-IQ file types. */
static acc_ggml_type mixture_type(acc_convert_plan *p, acc_ggml_type t, const char *name,
                                  int64_t ne0)
{
    uint32_t f = p->type->file_type;
    if (strcmp(name, "output.weight") == 0 ||
        (!p->has_output && strcmp(name, "token_embd.weight") == 0)) {
        if (ne0 % acc_ggml_block_size(t) != 0)
            t = ACC_GGML_Q8_0;
        else if (t != ACC_GGML_Q8_0)
            t = ACC_GGML_Q6_K;
    } else if (strcmp(name, "token_embd.weight") == 0) {
        /* only the IQ types change it */
    } else if (strstr(name, "attn_v.weight")) {
        if (f == FT_Q2_K)
            t = p->n_gqa >= 4 ? ACC_GGML_Q4_K : ACC_GGML_Q3_K;
        else if (f == FT_Q3_K_M)
            t = p->i_attention_wv < 2 ? ACC_GGML_Q5_K : ACC_GGML_Q4_K;
        else if (f == FT_Q3_K_L)
            t = ACC_GGML_Q5_K;
        else if ((f == FT_Q4_K_M || f == FT_Q5_K_M) &&
                 use_more_bits(p->i_attention_wv, p->n_attention_wv))
            t = ACC_GGML_Q6_K;
        else if (f == FT_Q4_K_S && p->i_attention_wv < 4)
            t = ACC_GGML_Q5_K;
        ++p->i_attention_wv;
    } else if (strstr(name, "attn_k.weight") || strstr(name, "attn_q.weight")) {
        /* only the IQ types change them */
    } else if (strstr(name, "ffn_down")) {
        int i = p->i_ffn_down, n = p->n_layer;
        if (f == FT_Q2_K)
            t = ACC_GGML_Q3_K;
        else if (f == FT_Q3_K_M)
            t = i < n / 16 ? ACC_GGML_Q5_K : ACC_GGML_Q4_K; /* the q3_K branch is Falcon's */
        else if (f == FT_Q3_K_L)
            t = ACC_GGML_Q5_K;
        else if (f == FT_Q4_K_M) {
            if (use_more_bits(i, n))
                t = ACC_GGML_Q6_K;
        } else if (f == FT_Q5_K_M && use_more_bits(i, n))
            t = ACC_GGML_Q6_K;
        else if (f == FT_Q4_K_S && i < n / 8)
            t = ACC_GGML_Q5_K;
        ++p->i_ffn_down;
    } else if (strstr(name, "attn_output.weight")) {
        if (f == FT_Q2_K)
            t = ACC_GGML_Q3_K;
        else if (f == FT_Q3_K_M)
            t = ACC_GGML_Q4_K;
        else if (f == FT_Q3_K_L)
            t = ACC_GGML_Q5_K;
    } else if (strstr(name, "attn_qkv.weight")) {
        if (f == FT_Q3_K_M || f == FT_Q3_K_L)
            t = ACC_GGML_Q4_K;
        else if (f == FT_Q4_K_M)
            t = ACC_GGML_Q5_K;
        else if (f == FT_Q5_K_M)
            t = ACC_GGML_Q6_K;
    }
    return t;
}

static acc_status fallback_type(const char *name, int64_t ne0, acc_ggml_type t,
                                acc_ggml_type *out, acc_error *err)
{
    if (ne0 % acc_ggml_block_size(t) == 0) {
        *out = t;
        return ACC_OK;
    }
    acc_ggml_type f;
    switch (t) {
    case ACC_GGML_Q2_K:
    case ACC_GGML_Q3_K: f = ACC_GGML_IQ4_NL; break;
    case ACC_GGML_Q4_K: f = ACC_GGML_Q5_0; break;
    case ACC_GGML_Q5_K: f = ACC_GGML_Q5_1; break;
    case ACC_GGML_Q6_K: f = ACC_GGML_Q8_0; break;
    default:
        return acc_error_set(err, ACC_ERR_INPUT,
                             "tensor '%s': rows of %lld elements do not fit %s blocks of %lld",
                             name, (long long)ne0, acc_ggml_type_name(t),
                             (long long)acc_ggml_block_size(t));
    }
    if (ne0 % acc_ggml_block_size(f) != 0)
        f = ACC_GGML_F16;
    *out = f;
    return ACC_OK;
}

acc_status acc_convert_tensor_type(acc_convert_plan *plan, const char *name, int n_dims,
                                   const int64_t *ne, acc_ggml_type current,
                                   acc_ggml_type *out, acc_error *err)
{
    *out = current;
    /* llama-quantize: 2-D+ tensors named *weight, no norms, no learned
     * position embeddings */
    int quantize = ends_with(name, "weight") && n_dims >= 2 && !strstr(name, "_norm.weight") &&
                   strcmp(name, "position_embd.weight") != 0 &&
                   strcmp(name, "token_types.weight") != 0;
    if (!quantize)
        return ACC_OK;
    acc_ggml_type t = plan->type->base;
    int quantized = acc_ggml_block_size(t) > 1;
    if (!quantized) {
        *out = t;
        return ACC_OK;
    }
    if (!plan->pure)
        t = mixture_type(plan, t, name, ne[0]);
    return fallback_type(name, ne[0], t, out, err);
}
