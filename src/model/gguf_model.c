/*
 * gguf_model.c — a GGUF file as a model: general.architecture and the
 * "<arch>.*" keys become acc_hparams, the tensors get back the HF names our
 * architecture builders expect (llama.cpp's q/k row permutation undone,
 * GPT-2's Conv1D layout restored), and the tokenizer comes from the
 * tokenizer.ggml.* keys.  f32/f16/bf16 tensors in HF layout are used in
 * place (mmapped).  q8_0, q4_0, q4_K and q6_K matrices, which the kernels
 * compute with, stay in their block format: in place when the HF layout is
 * the GGUF one or its transpose (the view says so; a transposed leaf of it
 * is then plain GGUF rows), as a row-permuted copy for llama's q/k.  Every
 * other tensor (the remaining block types) becomes an f32 copy made here.
 */
#include "model/gguf_model.h"

#include "model/gguf_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc_gguf_model {
    acc_gguf *gguf;
    acc_tensor_view *views;
    size_t n_views;
    char **names;   /* per view */
    void **owned;   /* per view: converted data, or NULL */
};

void acc_gguf_model_free(acc_gguf_model *gm)
{
    if (!gm)
        return;
    for (size_t i = 0; i < gm->n_views; i++) {
        free(gm->names[i]);
        free(gm->owned[i]);
    }
    free(gm->names);
    free(gm->owned);
    free(gm->views);
    acc_gguf_close(gm->gguf);
    free(gm);
}

const acc_gguf *acc_gguf_model_file(const acc_gguf_model *gm) { return gm->gguf; }

/* Limits as for config.json (src/formats/hparams.c), so an absurd header
 * fails here, before any allocation sized by it. */
#define GGUF_LIMIT_VOCAB (1 << 24)
#define GGUF_LIMIT_HIDDEN 65536
#define GGUF_LIMIT_LAYERS 1024
#define GGUF_LIMIT_HEADS 65536
#define GGUF_LIMIT_INTERMEDIATE (1 << 20)
#define GGUF_LIMIT_POSITION (1 << 24)

static acc_status key_int(const acc_gguf *g, const char *arch, const char *suffix, int def,
                          int has_def, int max, int *out, acc_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!acc_gguf_find(g, key)) {
        if (!has_def)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: missing", acc_gguf_name(g), key);
        *out = def;
        return ACC_OK;
    }
    uint32_t v;
    acc_status st = acc_gguf_get_u32(g, key, &v, err);
    if (st != ACC_OK)
        return st;
    if (v < 1 || v > (uint32_t)max)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: %u is out of range 1..%d",
                             acc_gguf_name(g), key, v, max);
    *out = (int)v;
    return ACC_OK;
}

static acc_status key_float(const acc_gguf *g, const char *arch, const char *suffix, float def,
                            int has_def, float *out, acc_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (!acc_gguf_find(g, key)) {
        if (!has_def)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: missing", acc_gguf_name(g), key);
        *out = def;
        return ACC_OK;
    }
    acc_status st = acc_gguf_get_f32(g, key, out, err);
    if (st == ACC_OK && !(*out > 0.0f && *out < 1e30f))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: %g is out of range", acc_gguf_name(g),
                             key, (double)*out);
    return st;
}

static int32_t token_id_key(const acc_gguf *g, const char *key)
{
    uint32_t v;
    acc_error ignored;
    if (!acc_gguf_find(g, key) || acc_gguf_get_u32(g, key, &v, &ignored) != ACC_OK ||
        v >= GGUF_LIMIT_VOCAB)
        return -1;
    return (int32_t)v;
}

#define TRY(x)                      \
    do {                            \
        acc_status st_ = (x);       \
        if (st_ != ACC_OK)          \
            return st_;             \
    } while (0)

/* Llama-3 rope scaling: our files carry the four parameters under
 * accinf.rope.*; llama.cpp's converter writes only rope_freqs.weight, the
 * divisor of each rotary frequency, which the builder then applies as is
 * (what llama.cpp's rope does with it). */
static acc_status read_rope_scaling(const acc_gguf *g, acc_hparams *hp, acc_error *err)
{
    const acc_gguf_tensor *t = acc_gguf_find_tensor(g, "rope_freqs.weight");
    if (!t)
        return ACC_OK;
    if (!acc_gguf_find(g, "accinf.rope.llama3.factor")) {
        if (t->type != ACC_GGML_F32 || t->n_dims != 1 || t->ne[0] != hp->head_dim / 2)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: rope_freqs.weight: expected %d f32 values (head_dim / 2)",
                                 acc_gguf_name(g), hp->head_dim / 2);
        hp->rope_scaling = ACC_ROPE_SCALING_FREQ_FACTORS;
        return ACC_OK;
    }
    hp->rope_scaling = ACC_ROPE_SCALING_LLAMA3;
    TRY(key_float(g, "accinf.rope.llama3", "factor", 0, 0, &hp->rope_factor, err));
    TRY(key_float(g, "accinf.rope.llama3", "low_freq_factor", 0, 0, &hp->rope_low_freq_factor,
                  err));
    TRY(key_float(g, "accinf.rope.llama3", "high_freq_factor", 0, 0,
                  &hp->rope_high_freq_factor, err));
    TRY(key_int(g, "accinf.rope.llama3", "original_context_length", 0, 0, GGUF_LIMIT_POSITION,
                &hp->rope_original_max_position, err));
    return ACC_OK;
}

acc_status acc_gguf_model_hparams(const acc_gguf *g, acc_hparams *hp, acc_error *err)
{
    memset(hp, 0, sizeof *hp);
    hp->embedding_multiplier = hp->residual_multiplier = 1.0f;
    hp->attention_multiplier = hp->logits_scaling = 1.0f;
    hp->rope_factor = hp->rope_low_freq_factor = hp->rope_high_freq_factor = 1.0f;
    char *arch_name = NULL;
    TRY(acc_gguf_get_string_dup(g, "general.architecture", &arch_name, err));
    if (acc_gguf_arch_from_name(arch_name, &hp->arch) != 0) {
        acc_status st = acc_error_set(err, ACC_ERR_INPUT,
                                      "%s: general.architecture: '%.64s' is not supported "
                                      "(supported: gpt2, llama, qwen2, granite)",
                                      acc_gguf_name(g), arch_name);
        free(arch_name);
        return st;
    }
    free(arch_name);
    const char *a = acc_gguf_arch_name(hp->arch);
    TRY(key_int(g, a, "embedding_length", 0, 0, GGUF_LIMIT_HIDDEN, &hp->hidden_size, err));
    TRY(key_int(g, a, "block_count", 0, 0, GGUF_LIMIT_LAYERS, &hp->n_layers, err));
    TRY(key_int(g, a, "attention.head_count", 0, 0, GGUF_LIMIT_HEADS, &hp->n_heads, err));
    TRY(key_int(g, a, "attention.head_count_kv", hp->n_heads, 1, GGUF_LIMIT_HEADS,
                &hp->n_kv_heads, err));
    TRY(key_int(g, a, "context_length", 0, 0, GGUF_LIMIT_POSITION, &hp->max_position, err));
    TRY(key_int(g, a, "feed_forward_length", 0, 0, GGUF_LIMIT_INTERMEDIATE,
                &hp->intermediate_size, err));
    if (hp->n_kv_heads > hp->n_heads || hp->n_heads % hp->n_kv_heads != 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: %s.attention.head_count_kv: %d does not divide head_count %d",
                             acc_gguf_name(g), a, hp->n_kv_heads, hp->n_heads);
    int default_head_dim = hp->hidden_size / hp->n_heads;
    TRY(key_int(g, a, "attention.key_length", default_head_dim, default_head_dim > 0,
                GGUF_LIMIT_HIDDEN, &hp->head_dim, err));
    const acc_gguf_tensor *embd = acc_gguf_find_tensor(g, "token_embd.weight");
    if (!embd || embd->n_dims != 2)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: missing 2-D tensor 'token_embd.weight'",
                             acc_gguf_name(g));
    if (embd->ne[1] < 1 || embd->ne[1] > GGUF_LIMIT_VOCAB)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: token_embd.weight: %lld rows is out of range",
                             acc_gguf_name(g), (long long)embd->ne[1]);
    hp->vocab_size = (int)embd->ne[1];
    hp->tie_word_embeddings = acc_gguf_find_tensor(g, "output.weight") == NULL;
    if (hp->arch == ACC_ARCH_GPT2) {
        if (hp->hidden_size % hp->n_heads != 0)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: gpt2.attention.head_count: %d does not divide %d",
                                 acc_gguf_name(g), hp->n_heads, hp->hidden_size);
        hp->head_dim = hp->hidden_size / hp->n_heads;
        TRY(key_float(g, a, "attention.layer_norm_epsilon", 1e-5f, 1, &hp->norm_eps, err));
        hp->attention_bias = hp->attention_out_bias = hp->mlp_bias = 1;
    } else {
        if (hp->head_dim % 2 != 0)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: %s.attention.key_length: %d is odd",
                                 acc_gguf_name(g), a, hp->head_dim);
        TRY(key_float(g, a, "attention.layer_norm_rms_epsilon", 1e-6f, 1, &hp->norm_eps, err));
        TRY(key_float(g, a, "rope.freq_base", 10000.0f, 1, &hp->rope_theta, err));
        hp->attention_bias = acc_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
        hp->attention_out_bias = acc_gguf_find_tensor(g, "blk.0.attn_output.bias") != NULL;
        hp->mlp_bias = acc_gguf_find_tensor(g, "blk.0.ffn_up.bias") != NULL;
        TRY(read_rope_scaling(g, hp, err));
        if (acc_gguf_find(g, "accinf.attention.sliding_window")) {
            int window;
            TRY(key_int(g, "accinf", "attention.sliding_window", 0, 0, GGUF_LIMIT_POSITION,
                        &window, err));
            hp->sliding_window = window < hp->max_position ? window : 0;
        }
    }
    if (hp->arch == ACC_ARCH_GRANITE) {
        TRY(key_float(g, a, "attention.scale", 1.0f, 1, &hp->attention_multiplier, err));
        TRY(key_float(g, a, "embedding_scale", 1.0f, 1, &hp->embedding_multiplier, err));
        TRY(key_float(g, a, "residual_scale", 1.0f, 1, &hp->residual_multiplier, err));
        TRY(key_float(g, a, "logit_scale", 1.0f, 1, &hp->logits_scaling, err));
    }
    hp->bos_token_id = token_id_key(g, "tokenizer.ggml.bos_token_id");
    hp->eos_token_id = token_id_key(g, "tokenizer.ggml.eos_token_id");
    if (hp->eos_token_id >= 0) {
        hp->eos_token_ids[0] = hp->eos_token_id;
        hp->n_eos_token_ids = 1;
    }
    return ACC_OK;
}

/* Element-wise transpose of a [rows, cols] matrix of elem-byte elements. */
static void transpose_bytes(const uint8_t *src, uint8_t *dst, int64_t rows, int64_t cols,
                            size_t elem)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            memcpy(dst + ((size_t)c * (size_t)rows + (size_t)r) * elem,
                   src + ((size_t)r * (size_t)cols + (size_t)c) * elem, elem);
}

static int plain_dtype(acc_ggml_type type, acc_dtype *out)
{
    switch (type) {
    case ACC_GGML_F32: *out = ACC_DTYPE_F32; return 1;
    case ACC_GGML_F16: *out = ACC_DTYPE_F16; return 1;
    case ACC_GGML_BF16: *out = ACC_DTYPE_BF16; return 1;
    default: return 0;
    }
}

/* The block types the kernels use as they are stored. */
static int kept_block_dtype(acc_ggml_type type, acc_dtype *out)
{
    switch (type) {
    case ACC_GGML_Q8_0: *out = ACC_DTYPE_Q8_0; return 1;
    case ACC_GGML_Q4_0: *out = ACC_DTYPE_Q4_0; return 1;
    case ACC_GGML_Q4_K: *out = ACC_DTYPE_Q4_K; return 1;
    case ACC_GGML_Q6_K: *out = ACC_DTYPE_Q6_K; return 1;
    default: return 0;
    }
}

/* One GGUF tensor as the HF-layout view the builders expect. */
static acc_status make_view(acc_gguf_model *gm, const acc_hparams *hp, const acc_gguf_tensor *t,
                            const char *hf_name, acc_gguf_layout layout, acc_error *err)
{
    const char *file = acc_gguf_name(gm->gguf);
    size_t k = gm->n_views;
    acc_tensor_view *v = &gm->views[k];
    memset(v, 0, sizeof *v);
    gm->names[k] = acc_strdup(hf_name, err);
    if (!gm->names[k])
        return ACC_ERR_RUNTIME;
    gm->n_views++;
    v->name = gm->names[k];
    v->file = file;
    if (t->n_dims > 2)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': %d dimensions (expected 1 or 2)",
                             file, t->name, t->n_dims);
    v->n_dims = t->n_dims < 1 ? 1 : t->n_dims;
    int64_t cols = t->ne[0], rows = t->n_dims == 2 ? t->ne[1] : 1;
    if (v->n_dims == 2) {
        v->shape[0] = rows;
        v->shape[1] = cols;
    } else {
        v->shape[0] = cols;
    }
    acc_dtype dtype;
    int plain = plain_dtype(t->type, &dtype);
    if (plain && layout == ACC_GGUF_LAYOUT_SAME) {
        v->dtype = dtype;
        v->data = t->data;
        v->nbytes = t->nbytes;
        return ACC_OK;
    }
    acc_dtype block;
    if (v->n_dims == 2 && kept_block_dtype(t->type, &block) &&
        (layout == ACC_GGUF_LAYOUT_SAME || layout == ACC_GGUF_LAYOUT_TRANSPOSE)) {
        v->dtype = block;
        v->data = t->data;
        v->nbytes = t->nbytes;
        if (layout == ACC_GGUF_LAYOUT_TRANSPOSE) {
            v->shape[0] = cols;
            v->shape[1] = rows;
            v->transposed = 1;
        }
        return ACC_OK;
    }
    /* Permuting needs whole heads: check before touching rows. */
    int n_heads = layout == ACC_GGUF_LAYOUT_PERMUTE_Q ? hp->n_heads : hp->n_kv_heads;
    int64_t head_rows = (int64_t)n_heads * hp->head_dim;
    int64_t perm_rows = v->n_dims == 2 ? rows : cols;
    if ((layout == ACC_GGUF_LAYOUT_PERMUTE_Q || layout == ACC_GGUF_LAYOUT_PERMUTE_K) &&
        perm_rows != head_rows)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: tensor '%s': %lld rows, expected %d heads x %d = %lld", file,
                             t->name, (long long)perm_rows, n_heads, hp->head_dim,
                             (long long)head_rows);
    int64_t n = rows * cols;
    if (v->n_dims == 2 && perm_rows == head_rows && kept_block_dtype(t->type, &block)) {
        /* q/k rows permuted back, still in blocks: whole rows move */
        size_t row_bytes = (size_t)(t->nbytes / (uint64_t)rows);
        uint8_t *perm = acc_malloc((size_t)t->nbytes, err);
        if (!perm)
            return acc_error_wrap(err, "%s: tensor '%s'", file, t->name);
        acc_gguf_permute_rows(t->data, perm, n_heads, hp->head_dim, row_bytes, 1);
        gm->owned[k] = perm;
        v->dtype = block;
        v->data = perm;
        v->nbytes = t->nbytes;
        return ACC_OK;
    }
    size_t elem = plain ? acc_dtype_size(dtype) : sizeof(float);
    uint8_t *flat = acc_malloc((size_t)n * elem, err);
    uint8_t *out = acc_malloc((size_t)n * elem, err);
    if (!flat || !out) {
        free(flat);
        free(out);
        return acc_error_wrap(err, "%s: tensor '%s'", file, t->name);
    }
    if (plain) {
        memcpy(flat, t->data, (size_t)n * elem);
    } else {
        acc_status st = acc_dequantize(t->type, t->data, (float *)flat, n, err);
        if (st != ACC_OK) {
            free(flat);
            free(out);
            return acc_error_wrap(err, "%s: tensor '%s'", file, t->name);
        }
        dtype = ACC_DTYPE_F32;
    }
    switch (layout) {
    case ACC_GGUF_LAYOUT_PERMUTE_Q:
    case ACC_GGUF_LAYOUT_PERMUTE_K:
        acc_gguf_permute_rows(flat, out, n_heads, hp->head_dim,
                              v->n_dims == 2 ? (size_t)cols * elem : elem, 1);
        break;
    case ACC_GGUF_LAYOUT_TRANSPOSE:
        if (v->n_dims != 2) {
            free(flat);
            free(out);
            return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': expected 2 dimensions",
                                 file, t->name);
        }
        transpose_bytes(flat, out, rows, cols, elem);
        v->shape[0] = cols;
        v->shape[1] = rows;
        break;
    default:
        memcpy(out, flat, (size_t)n * elem);
        break;
    }
    free(flat);
    gm->owned[k] = out;
    v->dtype = dtype;
    v->data = out;
    v->nbytes = (uint64_t)n * elem;
    return ACC_OK;
}

acc_status acc_gguf_model_open(const char *path, acc_hparams *hp, acc_gguf_model **out,
                               acc_error *err)
{
    *out = NULL;
    acc_gguf_model *gm = acc_calloc(1, sizeof *gm, err);
    if (!gm)
        return ACC_ERR_RUNTIME;
    acc_status st = acc_gguf_open(path, &gm->gguf, err);
    if (st == ACC_OK)
        st = acc_gguf_model_hparams(gm->gguf, hp, err);
    if (st != ACC_OK) {
        acc_gguf_model_free(gm);
        return st;
    }
    uint64_t n = acc_gguf_tensor_count(gm->gguf);
    gm->views = acc_calloc(n ? n : 1, sizeof *gm->views, err);
    gm->names = acc_calloc(n ? n : 1, sizeof *gm->names, err);
    gm->owned = acc_calloc(n ? n : 1, sizeof *gm->owned, err);
    if (!gm->views || !gm->names || !gm->owned) {
        acc_gguf_model_free(gm);
        return ACC_ERR_RUNTIME;
    }
    for (uint64_t i = 0; i < n && st == ACC_OK; i++) {
        const acc_gguf_tensor *t = acc_gguf_tensor_at(gm->gguf, i);
        char hf[256];
        acc_gguf_layout layout;
        if (strcmp(t->name, "rope_freqs.weight") == 0) {
            /* llama-3 frequency factors: recomputed from the accinf.rope.*
             * hparams, or read as they are by the builder */
            if (hp->rope_scaling != ACC_ROPE_SCALING_FREQ_FACTORS)
                continue;
            st = make_view(gm, hp, t, t->name, ACC_GGUF_LAYOUT_SAME, err);
            continue;
        }
        if (acc_gguf_name_to_hf(hp->arch, t->name, hf, sizeof hf, &layout) != 1) {
            st = acc_error_set(err, ACC_ERR_INPUT, "%s: unexpected tensor '%s' (not part of %s)",
                               path, t->name, acc_gguf_arch_name(hp->arch));
            break;
        }
        st = make_view(gm, hp, t, hf, layout, err);
    }
    if (st != ACC_OK) {
        acc_gguf_model_free(gm);
        return st;
    }
    *out = gm;
    return ACC_OK;
}

acc_status acc_gguf_model_weights(const acc_gguf_model *gm, acc_weight_set **out, acc_error *err)
{
    return acc_weight_set_from_views(gm->views, gm->n_views, out, err);
}
