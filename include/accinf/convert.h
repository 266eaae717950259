/*
 * convert.h — model conversion: a Hugging Face directory or a GGUF file
 * to a GGUF file that llama.cpp loads, in any of the float types or ggml
 * quantization types, choosing per tensor exactly what llama-quantize
 * chooses for the same type name (including the k-quant mixtures
 * q3_K_M, q4_K_S, q4_K_M, q5_K_M).  docs/CONVERT.md has the rules.
 */
#ifndef ACCINF_CONVERT_H
#define ACCINF_CONVERT_H

#include <stdint.h>

#include "accinf/base.h"
#include "accinf/quant.h"

/* One target type as llama-quantize names it. */
typedef struct acc_convert_type {
    const char *name;       /* "q4_K_M" */
    uint32_t file_type;     /* llama.cpp's llama_ftype (general.file_type) */
    acc_ggml_type base;     /* the type most tensors get */
    const char *summary;
} acc_convert_type;

/* NULL when unknown (names are matched case-insensitively). */
const acc_convert_type *acc_convert_type_find(const char *name);
/* All types, for --help: count in *n. */
const acc_convert_type *acc_convert_types(int *n);

/* What llama-quantize needs to know about the model to pick types. */
typedef struct acc_convert_plan {
    const acc_convert_type *type;
    int pure;            /* --pure: every quantized tensor gets the base type */
    int n_layer;
    int n_gqa;           /* head_count / head_count_kv */
    int has_output;      /* the file has output.weight */
    int n_attention_wv;  /* tensors named *attn_v.weight / *attn_qkv.weight */
    int i_attention_wv;  /* counters, advanced as tensors are visited in order */
    int i_ffn_down;
} acc_convert_plan;

/* The type of one tensor (GGUF name, ggml dims, its current type), as
 * llama_tensor_get_type would pick it.  Tensors must be visited in
 * llama.cpp's order (acc_convert_name_compare).  Returns ACC_ERR_INPUT when
 * a row length suits no type. */
acc_status acc_convert_tensor_type(acc_convert_plan *plan, const char *name, int n_dims,
                                   const int64_t *ne, acc_ggml_type current,
                                   acc_ggml_type *out, acc_error *err);
/* llama.cpp's tensor order: by layer number (non-layer tensors first), then name. */
int acc_convert_name_compare(const char *a, const char *b);

typedef void (*acc_convert_progress_fn)(void *user, int done, int total, const char *tensor);

typedef struct acc_convert_options {
    const char *type; /* a name acc_convert_type_find knows */
    int pure;
    acc_convert_progress_fn progress; /* may be NULL */
    void *progress_user;
} acc_convert_options;

typedef struct acc_convert_stats {
    int n_tensors;
    uint64_t bytes_in, bytes_out; /* tensor data */
    int n_by_type[ACC_GGML_TYPE_COUNT];
} acc_convert_stats;

/* input: an HF model directory or a GGUF file; output written atomically. */
acc_status acc_convert(const char *input, const char *output, const acc_convert_options *options,
                       acc_convert_stats *stats, acc_error *err);

#endif
