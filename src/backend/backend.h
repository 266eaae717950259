/*
 * backend.h — the interface between the engine and a compute device.
 *
 * A backend owns device memory (weights, activation arena, KV cache
 * storage) and runs a planned graph for one step.  The engine owns the
 * bookkeeping (which sequence holds which KV block) and describes each step
 * with an acc_step.  New devices (CUDA) implement acc_backend_ops and add
 * themselves to the table in backend.c; nothing above this file changes.
 */
#ifndef ACCINF_BACKEND_H
#define ACCINF_BACKEND_H

#include "accinf/base.h"
#include "graph/graph.h"

typedef struct acc_backend acc_backend;

/* How one weight matrix is stored in host memory.  Matmul weights and
 * embedding tables may stay in their stored precision (16-bit floats are
 * widened exactly inside the kernels, which accumulate in f32); every other
 * weight (biases, norm scales) is F32.  A backend that cannot use a type
 * natively converts it at load. */
typedef enum acc_weight_type {
    ACC_WEIGHT_F32 = 0,
    ACC_WEIGHT_F16,  /* IEEE binary16 */
    ACC_WEIGHT_BF16, /* bfloat16 */
    /* ggml block formats (accinf/quant.h); matmul weights and embedding
     * tables only.  Matmuls quantize the activations to q8_0 (Q8_0, Q4_0)
     * or q8_K (Q4_K, Q6_K) and take integer dot products, as ggml does. */
    ACC_WEIGHT_Q8_0,
    ACC_WEIGHT_Q4_0,
    ACC_WEIGHT_Q4_K,
    ACC_WEIGHT_Q6_K,
    ACC_WEIGHT_TYPE_COUNT
} acc_weight_type;

/* Bytes of one element of a plain type (f32, f16, bf16); 0 for block types. */
size_t acc_weight_type_size(acc_weight_type type);
/* Bytes of a row of `cols` elements; 0 when cols is not a whole number of
 * blocks or the type is unknown. */
size_t acc_weight_row_bytes(acc_weight_type type, int64_t cols);
/* Elements per block: 1 for plain types, 32 or 256 for block formats. */
int64_t acc_weight_type_block(acc_weight_type type);
int acc_weight_type_is_quantized(acc_weight_type type);
const char *acc_weight_type_name(acc_weight_type type);
/* Parses "f32", "f16", "bf16", "q8_0", "q4_0", "q4_K", "q6_K" (any case). */
int acc_weight_type_from_name(const char *name, acc_weight_type *out);

/* One graph weight: rows x cols (from the graph's acc_weight_source),
 * row r at (const char *)data + r * row_bytes. */
typedef struct acc_backend_weight {
    acc_weight_type type;
    const void *data;
    size_t row_bytes;
} acc_backend_weight;

typedef struct acc_backend_config {
    int threads;          /* CPU worker threads (>= 1) */
    int n_kv_blocks;      /* KV blocks per layer */
    int kv_block_size;    /* tokens per block */
    int max_context;      /* longest sequence: bounds attention scratch */
} acc_backend_config;

/* One forward step: n_tokens tokens from n_seqs sequences.  Token t
 * belongs to sequence token_seq[t] at position positions[t]; its K and V go
 * to cache slot slots[t] (block * block_size + offset) and it attends to
 * positions 0..positions[t] of its sequence, found through that sequence's
 * block table.  Rows output_rows[0..n_outputs) of the final hidden state
 * produce the output. */
typedef struct acc_step {
    int n_tokens;
    const int32_t *tokens;
    const int32_t *positions;
    const int32_t *slots;
    const int32_t *token_seq;
    int n_seqs;
    const int32_t *const *block_tables;
    int n_outputs;
    const int32_t *output_rows;
} acc_step;

/* How a backend that samples on the device picks one output row's token
 * (acc_backend_ops.run_sample): the sampler's settings and one uniform
 * draw u in [0, 1) taken from the host sampler's seeded stream.  Greedy
 * (temperature 0) ignores u. */
typedef struct acc_backend_sampling {
    float temperature; /* 0: argmax, NaN never wins, ties to the lowest id */
    int top_k;         /* 0: off */
    float top_p;       /* 1: off */
    float min_p;       /* 0: off */
    double u;
} acc_backend_sampling;

typedef struct acc_backend_ops {
    const char *name;
    acc_status (*create)(const acc_backend_config *config, acc_backend **out, acc_error *err);
    void (*destroy)(acc_backend *backend);
    /* Takes the graph, its memory plan and one host matrix per graph weight
     * (rows x cols, typed as described above).  The matrices must outlive
     * the backend (the CPU backend uses them in place; a device backend
     * uploads them).  A weight type the backend cannot use where the graph
     * uses it is ACC_ERR_INPUT. */
    acc_status (*load)(acc_backend *backend, const acc_graph *graph, const acc_plan *plan,
                       const acc_backend_weight *weights, acc_error *err);
    /* Runs the graph for one step; writes n_outputs x cols floats of the
     * output node to `output` (host memory). */
    acc_status (*run)(acc_backend *backend, const acc_step *step, float *output, acc_error *err);
    /* Optional (NULL: the engine samples on the host from run's logits):
     * runs the step as run does, then picks one token per output row on
     * the device with sampling[r] and writes only the ids to tokens[r]. */
    acc_status (*run_sample)(acc_backend *backend, const acc_step *step,
                             const acc_backend_sampling *sampling, int32_t *tokens,
                             acc_error *err);
    /* Copies one KV block (every layer, K and V): copy-on-write support. */
    acc_status (*copy_kv_block)(acc_backend *backend, int from_block, int to_block,
                                acc_error *err);
    /* Waits for queued work (a no-op on the CPU backend). */
    acc_status (*synchronize)(acc_backend *backend, acc_error *err);
} acc_backend_ops;

/* Every backend struct starts with its ops pointer. */
struct acc_backend {
    const acc_backend_ops *ops;
};

/* The backend called `name` ("cpu"), or NULL. */
const acc_backend_ops *acc_backend_find(const char *name);
/* Comma-separated names of the compiled-in backends. */
const char *acc_backend_names(void);

extern const acc_backend_ops acc_backend_cpu_ops;

#endif
