/*
 * hparams.h — the hyper-parameters of a model, read from an HF config.json.
 *
 * One struct serves every supported architecture; fields an architecture
 * does not use keep their neutral defaults (multipliers 1, no biases).
 * Parsing validates presence, types and ranges and names the field.
 */
#ifndef ACCINF_HPARAMS_H
#define ACCINF_HPARAMS_H

#include "accinf/base.h"

typedef enum acc_arch {
    ACC_ARCH_GPT2 = 0, /* GPT2LMHeadModel */
    ACC_ARCH_LLAMA,    /* LlamaForCausalLM */
    ACC_ARCH_MISTRAL,  /* MistralForCausalLM */
    ACC_ARCH_QWEN2,    /* Qwen2ForCausalLM */
    ACC_ARCH_GRANITE,  /* GraniteForCausalLM */
    ACC_ARCH_COUNT
} acc_arch;

/* HF class name of an architecture, and the comma-separated list of all. */
const char *acc_arch_hf_name(acc_arch arch);
const char *acc_arch_supported_list(void);

typedef enum acc_rope_scaling_type {
    ACC_ROPE_SCALING_NONE = 0,
    ACC_ROPE_SCALING_LLAMA3,
    /* Per-dimension divisors of the rotary frequencies, read from the
     * weight "rope_freqs.weight" (head_dim/2 f32): GGUF files written by
     * llama.cpp's converter carry Llama-3 scaling only in that form. */
    ACC_ROPE_SCALING_FREQ_FACTORS,
} acc_rope_scaling_type;

#define ACC_MAX_EOS_IDS 8

typedef struct acc_hparams {
    acc_arch arch;
    int vocab_size;
    int hidden_size; /* d_model (n_embd for GPT-2) */
    int n_layers;
    int n_heads;
    int n_kv_heads;        /* == n_heads without GQA */
    int head_dim;          /* hidden_size / n_heads unless config says */
    int intermediate_size; /* FFN width (4*n_embd for GPT-2 when n_inner is null) */
    int max_position;      /* context limit */
    float norm_eps;        /* rms_norm_eps or layer_norm_epsilon */
    float rope_theta;      /* 0 for GPT-2 (learned positions) */
    acc_rope_scaling_type rope_scaling;
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_position;
    int tie_word_embeddings;
    /* Biases.  attention_bias: q/k/v (GPT-2 and Qwen2 always, Llama/Granite
     * if the config says).  attention_out_bias: o_proj (GPT-2 always,
     * Llama/Granite with attention_bias, never Qwen2).  mlp_bias: FFN
     * (GPT-2 always, Llama/Granite if the config says). */
    int attention_bias;
    int attention_out_bias;
    int mlp_bias;
    /* Sliding-window attention span in tokens; 0 = none.  Set only for
     * Mistral and Qwen2 (use_sliding_window) when shorter than max_position. */
    int sliding_window;
    /* Granite multipliers; 1 for other architectures. */
    float embedding_multiplier, residual_multiplier, attention_multiplier, logits_scaling;
    /* -1 when absent; the first id when the config lists several. */
    int bos_token_id, eos_token_id;
    int eos_token_ids[ACC_MAX_EOS_IDS]; /* every eos id listed (Llama 3 instruct has 3) */
    int n_eos_token_ids;
    char torch_dtype[16]; /* "float32", "bfloat16", ...; "" when absent */
} acc_hparams;

/* Parses config.json text. `name` labels errors ("path/config.json"). */
acc_status acc_hparams_parse_json(const char *text, size_t size, const char *name, acc_hparams *out,
                                  acc_error *err);
acc_status acc_hparams_load(const char *config_path, acc_hparams *out, acc_error *err);

#endif
