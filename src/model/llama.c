/*
 * llama.c — the Llama family as a graph: Llama (incl. Llama-3 rope
 * scaling), Mistral, Qwen2 and Granite, which differ only in flags.
 *
 * HF semantics: pre-RMSNorm attention with rotary embeddings (rotate_half
 * pairing: element i with i + head_dim/2) and grouped-query heads, a SwiGLU
 * MLP, final RMSNorm, head tied or separate.  Biases follow the hparams
 * flags (Qwen2: q/k/v; Llama/Granite attention_bias: q/k/v/o; mlp_bias).
 * Granite scales embeddings, attention scores, residual branches and
 * logits by its multipliers.
 */
#include "model/arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ROPE_FREQS "rope_freqs.weight"

static acc_status llama_check(const acc_hparams *hp, const char *config, acc_error *err)
{
    if (hp->n_heads < 1 || hp->n_kv_heads < 1 || hp->n_heads % hp->n_kv_heads != 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: num_key_value_heads: %d does not divide num_attention_heads %d",
                             config, hp->n_kv_heads, hp->n_heads);
    if (hp->head_dim < 2 || hp->head_dim % 2 != 0)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: head_dim: %d must be even for rotary "
                             "embeddings", config, hp->head_dim);
    if (hp->intermediate_size < 1 || hp->vocab_size < 1 || hp->max_position < 1 ||
        hp->n_layers < 1 || hp->hidden_size < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: sizes must be positive", config);
    if (!(hp->rope_theta > 0.0f))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: rope_theta: must be positive", config);
    if (hp->rope_scaling == ACC_ROPE_SCALING_LLAMA3 &&
        (!(hp->rope_factor > 0.0f) || !(hp->rope_high_freq_factor > hp->rope_low_freq_factor) ||
         !(hp->rope_low_freq_factor > 0.0f) || hp->rope_original_max_position < 1))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: rope_scaling: bad llama3 parameters",
                             config);
    if (hp->arch == ACC_ARCH_GRANITE && hp->logits_scaling == 0.0f)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: logits_scaling: must not be 0", config);
    return ACC_OK;
}

/* inv_freq[i] = theta^(-2i/d) in float32 as transformers computes it, then
 * Llama-3's wavelength rule: long wavelengths slowed by `factor`, short
 * ones kept, the band between interpolated smoothly; or, for a GGUF file
 * that stores only the result, divided by its rope_freqs factors. */
static acc_status llama_rope_frequencies(const acc_hparams *hp, const acc_weight_set *stored,
                                         float *inv_freq, acc_error *err)
{
    int d = hp->head_dim;
    const float *divisors = NULL;
    if (hp->rope_scaling == ACC_ROPE_SCALING_FREQ_FACTORS) {
        const acc_tensor_view *v = stored ? acc_weight_set_find(stored, ROPE_FREQS) : NULL;
        if (!v || v->dtype != ACC_DTYPE_F32 || v->n_dims != 1 || v->shape[0] != d / 2)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: expected %d f32 rope frequency factors", ROPE_FREQS, d / 2);
        divisors = v->data;
    }
    for (int i = 0; i < d / 2; i++) {
        inv_freq[i] = 1.0f / powf(hp->rope_theta, (float)(2 * i) / (float)d);
        if (divisors) {
            float f;
            memcpy(&f, divisors + i, sizeof f); /* the mapping may be unaligned */
            if (!(f > 0.0f))
                return acc_error_set(err, ACC_ERR_INPUT, "%s: factor %d is not positive",
                                     ROPE_FREQS, i);
            inv_freq[i] /= f;
            continue;
        }
        if (hp->rope_scaling != ACC_ROPE_SCALING_LLAMA3)
            continue;
        float factor = hp->rope_factor, low = hp->rope_low_freq_factor,
              high = hp->rope_high_freq_factor, old_len = (float)hp->rope_original_max_position;
        float low_freq_wavelen = old_len / low, high_freq_wavelen = old_len / high;
        float wavelen = 2.0f * (float)M_PI / inv_freq[i];
        float scaled = wavelen > low_freq_wavelen ? inv_freq[i] / factor : inv_freq[i];
        if (!(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen)) {
            float smooth = (old_len / wavelen - low) / (high - low);
            scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
        }
        inv_freq[i] = scaled;
    }
    return ACC_OK;
}

static int layer_weight(acc_graph *g, int layer, const char *what, int64_t rows, int64_t cols)
{
    char name[160];
    snprintf(name, sizeof name, "model.layers.%d.%s", layer, what);
    return acc_graph_weight(g, name, rows, cols);
}

/* x @ W^T (+ b) for model.layers.N.<module>.weight / .bias */
static int linear(acc_graph *g, int x, int layer, const char *module, int64_t out, int64_t in,
                  int has_bias)
{
    char what[128];
    snprintf(what, sizeof what, "%s.weight", module);
    int w = layer_weight(g, layer, what, out, in);
    int b = -1;
    if (has_bias) {
        snprintf(what, sizeof what, "%s.bias", module);
        b = layer_weight(g, layer, what, 0, out);
    }
    return acc_graph_matmul(g, x, w, b);
}

static acc_status llama_build(const acc_hparams *hp, const acc_weight_set *stored,
                              acc_graph **out, acc_error *err)
{
    acc_graph *g;
    acc_status status = acc_graph_create(&g, err);
    if (status != ACC_OK)
        return status;
    int64_t d = hp->hidden_size, ff = hp->intermediate_size;
    int nh = hp->n_heads, nkv = hp->n_kv_heads, hd = hp->head_dim;
    int granite = hp->arch == ACC_ARCH_GRANITE;
    int qkv_bias = hp->attention_bias, o_bias = hp->attention_out_bias;
    float attn_scale = granite ? hp->attention_multiplier : 1.0f / sqrtf((float)hd);
    float residual = granite ? hp->residual_multiplier : 1.0f;

    float inv_freq[512];
    if (hd / 2 > (int)(sizeof inv_freq / sizeof inv_freq[0])) {
        acc_graph_destroy(g);
        return acc_error_set(err, ACC_ERR_INPUT, "head_dim %d is larger than supported (1024)",
                             hd);
    }
    status = llama_rope_frequencies(hp, stored, inv_freq, err);
    if (status != ACC_OK) {
        acc_graph_destroy(g);
        return status;
    }
    acc_graph_set_rope(g, inv_freq, hd);

    int emb = acc_graph_weight(g, "model.embed_tokens.weight", hp->vocab_size, d);
    int x = acc_graph_embed(g, emb, ACC_EMBED_BY_TOKEN);
    if (granite && hp->embedding_multiplier != 1.0f)
        x = acc_graph_scale(g, x, hp->embedding_multiplier);
    for (int l = 0; l < hp->n_layers; l++) {
        int h = acc_graph_rms_norm(g, x, layer_weight(g, l, "input_layernorm.weight", 0, d),
                                   hp->norm_eps);
        int q = linear(g, h, l, "self_attn.q_proj", (int64_t)nh * hd, d, qkv_bias);
        int k = linear(g, h, l, "self_attn.k_proj", (int64_t)nkv * hd, d, qkv_bias);
        int v = linear(g, h, l, "self_attn.v_proj", (int64_t)nkv * hd, d, qkv_bias);
        int a = acc_graph_attention(g, acc_graph_rope(g, q, nh, hd), acc_graph_rope(g, k, nkv, hd),
                                    v, l, nh, nkv, hd, attn_scale);
        x = acc_graph_add(g, x, linear(g, a, l, "self_attn.o_proj", d, (int64_t)nh * hd, o_bias),
                          residual);

        h = acc_graph_rms_norm(g, x, layer_weight(g, l, "post_attention_layernorm.weight", 0, d),
                               hp->norm_eps);
        int gate = linear(g, h, l, "mlp.gate_proj", ff, d, hp->mlp_bias);
        int up = linear(g, h, l, "mlp.up_proj", ff, d, hp->mlp_bias);
        int down = linear(g, acc_graph_swiglu(g, gate, up), l, "mlp.down_proj", d, ff, hp->mlp_bias);
        x = acc_graph_add(g, x, down, residual);
    }
    int o = acc_graph_gather_outputs(g, x);
    o = acc_graph_rms_norm(g, o, acc_graph_weight(g, "model.norm.weight", 0, d), hp->norm_eps);
    int head = hp->tie_word_embeddings ? emb
                                       : acc_graph_weight(g, "lm_head.weight", hp->vocab_size, d);
    int logits = acc_graph_matmul(g, o, head, -1);
    if (granite && hp->logits_scaling != 1.0f)
        logits = acc_graph_scale(g, logits, 1.0f / hp->logits_scaling);
    status = acc_graph_finish(g, logits, err);
    if (status != ACC_OK) {
        acc_graph_destroy(g);
        return status;
    }
    *out = g;
    return ACC_OK;
}

static acc_status llama_check_unused(const acc_hparams *hp, const acc_tensor_view *view,
                                     int *ignore, acc_error *err)
{
    *ignore = 0;
    if (acc_arch_name_ends_with(view->name, ".rotary_emb.inv_freq")) {
        *ignore = 1;
        return ACC_OK;
    }
    if (hp->rope_scaling == ACC_ROPE_SCALING_FREQ_FACTORS && strcmp(view->name, ROPE_FREQS) == 0) {
        *ignore = 1; /* read by llama_build */
        return ACC_OK;
    }
    if (hp->tie_word_embeddings && strcmp(view->name, "lm_head.weight") == 0) {
        int64_t shape[2] = {hp->vocab_size, hp->hidden_size};
        if (!acc_arch_shape_is(view, 2, shape))
            return acc_arch_shape_error(view, 2, shape, err);
        *ignore = 1;
    }
    return ACC_OK;
}

const acc_arch_builder acc_arch_llama = {
    .arch = ACC_ARCH_LLAMA,
    .check = llama_check,
    .build = llama_build,
    .check_unused = llama_check_unused,
};
