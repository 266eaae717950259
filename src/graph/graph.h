/*
 * graph.h — the compute graph IR: one op enum, nodes that each produce one
 * 2-D tensor, weights as named leaves, and a memory plan for activations.
 *
 * Activations have a symbolic row count — the tokens of the step (T) or the
 * rows that produce logits (O) — and a fixed column count; the backend binds
 * T and O when it runs a step.  Weights are leaves with a fixed shape that
 * the engine binds by name to f32 data (see acc_weight_source for how a
 * graph weight is cut from a stored tensor).  Nodes are kept in build order,
 * which is a valid execution order.
 */
#ifndef ACCINF_GRAPH_H
#define ACCINF_GRAPH_H

#include "accinf/base.h"

#include <stddef.h>
#include <stdint.h>

typedef enum acc_op {
    ACC_OP_WEIGHT = 0,   /* leaf: a bound weight (graph->weights[weight]) */
    ACC_OP_EMBED,        /* rows of src0 [V, d] picked by the step's token ids or positions */
    ACC_OP_ADD,          /* src0 + alpha * src1 */
    ACC_OP_SCALE,        /* src0 * scale */
    ACC_OP_RMS_NORM,     /* src0 * rsqrt(mean(src0^2) + eps) * src1 */
    ACC_OP_LAYER_NORM,   /* (src0 - mean) * rsqrt(var + eps) * src1 + src2 */
    ACC_OP_MATMUL,       /* src0 [R, in] x src1 [out, in]^T (+ src2 [out]) */
    ACC_OP_ROPE,         /* rotary embedding, HF rotate_half pairing, per head */
    ACC_OP_ATTENTION,    /* store K,V of the step in the paged cache; causal attention */
    ACC_OP_GELU_TANH,    /* gelu with the tanh approximation (HF gelu_new) */
    ACC_OP_SWIGLU,       /* silu(src0) * src1 */
    ACC_OP_GATHER_OUTPUTS, /* rows of src0 [T, d] that produce logits -> [O, d] */
    ACC_OP_COUNT
} acc_op;

const char *acc_op_name(acc_op op);

/* What the row count of a tensor is bound to. */
typedef enum acc_rows {
    ACC_ROWS_FIXED = 0, /* weights: rows known at build time */
    ACC_ROWS_TOKENS,    /* T: tokens in the step */
    ACC_ROWS_OUTPUTS,   /* O: rows whose logits are wanted */
} acc_rows;

/* Which per-token step input an EMBED node indexes with. */
typedef enum acc_embed_index {
    ACC_EMBED_BY_TOKEN = 0,
    ACC_EMBED_BY_POSITION,
} acc_embed_index;

typedef struct acc_node {
    acc_op op;
    int src[3];          /* producing node indices, -1 when unused */
    acc_rows rows;
    int64_t fixed_rows;  /* rows when rows == ACC_ROWS_FIXED */
    int64_t cols;
    /* op parameters; each op reads only its own */
    int weight;          /* WEIGHT: index into graph->weights */
    acc_embed_index index_by; /* EMBED */
    float alpha;         /* ADD */
    float scale;         /* SCALE; ATTENTION: score scale */
    float eps;           /* RMS_NORM, LAYER_NORM */
    int layer;           /* ATTENTION: which layer's KV cache */
    int n_heads, n_kv_heads, head_dim; /* ROPE (n_heads of src0), ATTENTION */
} acc_node;

/* A weight leaf.  The stored tensor `source` (shape source_shape; a 1-D
 * tensor is one row) becomes the f32 matrix [rows, cols] by: optional
 * transpose (GPT-2 Conv1D stores [in, out]), then taking rows
 * [row_begin, +rows) and columns [col_begin, +cols) — how GPT-2's fused
 * q|k|v weight and bias are split. */
typedef struct acc_weight_source {
    char *name;          /* unique graph name (source name, or source + ":part") */
    char *source;        /* stored tensor name */
    int source_dims;
    int64_t source_shape[2];
    int transpose;
    int64_t row_begin, col_begin;
    int64_t rows, cols;
} acc_weight_source;

typedef struct acc_graph {
    acc_node *nodes;
    int n_nodes, cap_nodes;
    acc_weight_source *weights;
    int n_weights, cap_weights;
    int output;          /* node whose data is the step's result (logits) */
    int n_layers;        /* KV cache layers ATTENTION nodes use */
    int kv_dim;          /* n_kv_heads * head_dim of every ATTENTION node */
    float *rope_inv_freq;/* head_dim / 2 frequencies, shared by ROPE nodes */
    int rope_dims;       /* head_dim the frequencies were made for */
    int failed;          /* sticky: a build call failed, see error */
    acc_error error;
} acc_graph;

/* Building.  Every builder returns the new node index, or -1 after a
 * failure (the failure is sticky and reported by acc_graph_finish); a -1
 * input makes the builder return -1, so build code needs no checks. */
acc_status acc_graph_create(acc_graph **out, acc_error *err);
void acc_graph_destroy(acc_graph *graph);

/* A weight used as is: stored shape [rows, cols] (rows 0: 1-D [cols]). */
int acc_graph_weight(acc_graph *g, const char *name, int64_t rows, int64_t cols);
/* A weight cut from a stored tensor (see acc_weight_source).  If a weight
 * with the same `name` exists it is reused. */
int acc_graph_weight_part(acc_graph *g, const char *name, const char *source, int source_dims,
                          const int64_t source_shape[2], int transpose, int64_t row_begin,
                          int64_t col_begin, int64_t rows, int64_t cols);
int acc_graph_embed(acc_graph *g, int table, acc_embed_index by);
int acc_graph_add(acc_graph *g, int a, int b, float alpha);
int acc_graph_scale(acc_graph *g, int a, float scale);
int acc_graph_rms_norm(acc_graph *g, int x, int weight, float eps);
int acc_graph_layer_norm(acc_graph *g, int x, int weight, int bias, float eps);
int acc_graph_matmul(acc_graph *g, int x, int weight, int bias);
int acc_graph_rope(acc_graph *g, int x, int n_heads, int head_dim);
int acc_graph_attention(acc_graph *g, int q, int k, int v, int layer, int n_heads,
                        int n_kv_heads, int head_dim, float scale);
int acc_graph_gelu_tanh(acc_graph *g, int x);
int acc_graph_swiglu(acc_graph *g, int gate, int up);
int acc_graph_gather_outputs(acc_graph *g, int x);
/* Copies head_dim/2 inverse frequencies for ROPE nodes. */
void acc_graph_set_rope(acc_graph *g, const float *inv_freq, int head_dim);
/* Marks the result node and checks the graph (sticky errors, shapes). */
acc_status acc_graph_finish(acc_graph *g, int output, acc_error *err);

/* Index of the weight called `name`, or -1. */
int acc_graph_find_weight(const acc_graph *g, const char *name);
/* Rows of a node's tensor for a step of n_tokens tokens and n_outputs outputs. */
int64_t acc_graph_node_rows(const acc_node *node, int64_t n_tokens, int64_t n_outputs);

/* Memory plan: every activation except the output gets a byte offset in
 * one arena; tensors whose lifetimes do not overlap share memory. */
#define ACC_PLAN_NONE ((size_t)-1)
#define ACC_PLAN_ALIGN 64

typedef struct acc_plan {
    size_t *offsets;     /* per node; ACC_PLAN_NONE for weights and the output */
    size_t arena_size;   /* bytes */
    int64_t max_tokens, max_outputs;
} acc_plan;

acc_status acc_plan_memory(const acc_graph *g, int64_t max_tokens, int64_t max_outputs,
                           acc_plan *plan, acc_error *err);
void acc_plan_free(acc_plan *plan);

#endif
