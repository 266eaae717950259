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

typedef struct acc_backend_ops {
    const char *name;
    acc_status (*create)(const acc_backend_config *config, acc_backend **out, acc_error *err);
    void (*destroy)(acc_backend *backend);
    /* Takes the graph, its memory plan and one f32 host array per graph
     * weight (rows x cols, row-major).  The arrays must outlive the backend
     * (the CPU backend uses them in place; a device backend uploads them). */
    acc_status (*load)(acc_backend *backend, const acc_graph *graph, const acc_plan *plan,
                       const float *const *weights, acc_error *err);
    /* Runs the graph for one step; writes n_outputs x cols floats of the
     * output node to `output` (host memory). */
    acc_status (*run)(acc_backend *backend, const acc_step *step, float *output, acc_error *err);
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
