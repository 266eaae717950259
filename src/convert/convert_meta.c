/*
 * convert_meta.c — the general.* and "<arch>.*" metadata keys llama.cpp
 * reads for the architectures we convert (what its convert_hf_to_gguf.py
 * writes for GPT2LMHeadModel, Llama/Mistral, Qwen2 and Granite), plus our
 * own accinf.* keys for what llama.cpp keeps elsewhere (Llama-3 rope
 * parameters, which llama.cpp bakes into the rope_freqs tensor).
 */
#include "convert/convert_internal.h"
#include "model/gguf_names.h"

#include <math.h>
#include <stdio.h>

#define TRY(x)                \
    do {                      \
        acc_status st_ = (x); \
        if (st_ != ACC_OK)    \
            return st_;       \
    } while (0)

static acc_status set_u32(acc_gguf_writer *w, const char *arch, const char *key, int v,
                          acc_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    return acc_gguf_writer_set_u32(w, full, (uint32_t)v, err);
}

static acc_status set_f32(acc_gguf_writer *w, const char *arch, const char *key, float v,
                          acc_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    return acc_gguf_writer_set_f32(w, full, v, err);
}

void convert_llama3_rope_factors(const acc_hparams *hp, float *factors)
{
    int dim = hp->head_dim;
    double old_len = hp->rope_original_max_position;
    double low_wavelen = old_len / hp->rope_low_freq_factor;
    double high_wavelen = old_len / hp->rope_high_freq_factor;
    for (int i = 0; i < dim / 2; i++) {
        float freq = 1.0f / powf(hp->rope_theta, (float)(2 * i) / (float)dim);
        double wavelen = 2.0 * M_PI / freq;
        double factor;
        if (wavelen < high_wavelen)
            factor = 1.0;
        else if (wavelen > low_wavelen)
            factor = hp->rope_factor;
        else {
            double smooth = (old_len / wavelen - hp->rope_low_freq_factor) /
                            (hp->rope_high_freq_factor - hp->rope_low_freq_factor);
            factor = 1.0 / ((1.0 - smooth) / hp->rope_factor + smooth);
        }
        factors[i] = (float)factor;
    }
}

acc_status convert_write_hparams(const char *name, const acc_hparams *hp, acc_gguf_writer *w,
                                 acc_error *err)
{
    const char *a = acc_gguf_arch_name(hp->arch);
    TRY(acc_gguf_writer_set_string(w, "general.architecture", a, err));
    TRY(acc_gguf_writer_set_string(w, "general.name", name, err));
    TRY(set_u32(w, a, "context_length", hp->max_position, err));
    TRY(set_u32(w, a, "embedding_length", hp->hidden_size, err));
    TRY(set_u32(w, a, "block_count", hp->n_layers, err));
    TRY(set_u32(w, a, "feed_forward_length", hp->intermediate_size, err));
    TRY(set_u32(w, a, "attention.head_count", hp->n_heads, err));
    if (hp->arch == ACC_ARCH_GPT2)
        return set_f32(w, a, "attention.layer_norm_epsilon", hp->norm_eps, err);
    TRY(set_u32(w, a, "attention.head_count_kv", hp->n_kv_heads, err));
    TRY(set_f32(w, a, "rope.freq_base", hp->rope_theta, err));
    TRY(set_f32(w, a, "attention.layer_norm_rms_epsilon", hp->norm_eps, err));
    TRY(set_u32(w, a, "attention.key_length", hp->head_dim, err));
    TRY(set_u32(w, a, "attention.value_length", hp->head_dim, err));
    TRY(set_u32(w, a, "rope.dimension_count", hp->head_dim, err));
    TRY(set_u32(w, a, "vocab_size", hp->vocab_size, err));
    if (hp->arch == ACC_ARCH_GRANITE) {
        TRY(set_f32(w, a, "attention.scale", hp->attention_multiplier, err));
        TRY(set_f32(w, a, "embedding_scale", hp->embedding_multiplier, err));
        TRY(set_f32(w, a, "residual_scale", hp->residual_multiplier, err));
        TRY(set_f32(w, a, "logit_scale", hp->logits_scaling, err));
    }
    if (hp->rope_scaling == ACC_ROPE_SCALING_LLAMA3) {
        TRY(set_f32(w, "accinf.rope.llama3", "factor", hp->rope_factor, err));
        TRY(set_f32(w, "accinf.rope.llama3", "low_freq_factor", hp->rope_low_freq_factor, err));
        TRY(set_f32(w, "accinf.rope.llama3", "high_freq_factor", hp->rope_high_freq_factor, err));
        TRY(set_u32(w, "accinf.rope.llama3", "original_context_length",
                    hp->rope_original_max_position, err));
    }
    if (hp->sliding_window > 0)
        TRY(set_u32(w, "accinf", "attention.sliding_window", hp->sliding_window, err));
    return ACC_OK;
}
