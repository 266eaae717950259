/*
 * cuda_schedule.h — how the CUDA executor walks a graph: nodes grouped into
 * fused operations (residual add + RMSNorm; matmuls that share an input,
 * optionally ending in SwiGLU; RoPE + KV store + attention), and the
 * activation memory plan that those groups need (a group writes all its
 * nodes at once, so their lifetimes differ from the node-by-node plan the
 * engine makes).
 */
#ifndef ACCINF_CUDA_SCHEDULE_H
#define ACCINF_CUDA_SCHEDULE_H

#include "graph/graph.h"

typedef enum cuda_op_kind {
    CUDA_OP_NODE = 0,  /* one node, its own kernel (or cuBLAS) */
    CUDA_OP_ADD_NORM,  /* node = RMS_NORM whose input is `add` (ADD) */
    CUDA_OP_MATMULS,   /* mm[0..n_mm) read the same input; swiglu >= 0 folds
                          SWIGLU(mm[0], mm[1]) into the group */
    CUDA_OP_ATTENTION, /* node = ATTENTION; rope_q / rope_k >= 0: the ROPE
                          nodes of its q / k inputs, done in the KV store */
} cuda_op_kind;

typedef struct cuda_op {
    cuda_op_kind kind;
    int node;
    int add;
    int mm[3], n_mm;
    int swiglu;
    int rope_q, rope_k;
} cuda_op;

typedef struct cuda_schedule {
    cuda_op *ops;
    int n_ops;
    size_t *offsets; /* per node: arena offset, or ACC_PLAN_NONE */
    size_t arena_size;
} cuda_schedule;

/* Groups the graph's nodes (fuse = 0: one op per node) and plans the arena
 * for max_tokens / max_outputs rows. */
acc_status cuda_schedule_build(const acc_graph *g, int fuse, int64_t max_tokens,
                               int64_t max_outputs, cuda_schedule *out, acc_error *err);
void cuda_schedule_free(cuda_schedule *s);

#endif
