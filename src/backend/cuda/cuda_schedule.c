/*
 * cuda_schedule.c — groups a graph's nodes into the CUDA executor's fused
 * operations and plans the activation arena for them (see cuda_schedule.h).
 *
 * Fusions only ever combine nodes whose intermediate results nobody else
 * reads, so a group computes exactly what its nodes would.  The plan is the
 * engine planner's first-fit over operations instead of nodes: a tensor
 * lives from the operation that writes it to the last one that reads it,
 * and an operation's inputs stay live while its outputs are placed, so no
 * output aliases anything the same kernel still reads.
 */
#include "backend/cuda/cuda_schedule.h"

#include <stdlib.h>
#include <string.h>

static int next_compute(const acc_graph *g, int i)
{
    for (int j = i + 1; j < g->n_nodes; j++)
        if (g->nodes[j].op != ACC_OP_WEIGHT)
            return j;
    return -1;
}

/* The ROPE node feeding attention input `src`, when only that attention
 * reads it and its heads match the attention's. */
static int foldable_rope(const acc_graph *g, const int *readers, int src, int n_heads, int head_dim)
{
    const acc_node *r = &g->nodes[src];
    if (r->op != ACC_OP_ROPE || readers[src] != 1 || r->n_heads != n_heads ||
        r->head_dim != head_dim || r->rows != ACC_ROWS_TOKENS || src == g->output)
        return -1;
    return src;
}

static void build_ops(const acc_graph *g, int fuse, const int *readers, unsigned char *done,
                      cuda_op *ops, int *n_ops)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (!fuse || node->op != ACC_OP_ATTENTION)
            continue;
        int q = foldable_rope(g, readers, node->src[0], node->n_heads, node->head_dim);
        int k = foldable_rope(g, readers, node->src[1], node->n_kv_heads, node->head_dim);
        if (q >= 0)
            done[q] = 1;
        if (k >= 0)
            done[k] = 1;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_WEIGHT || done[i])
            continue;
        cuda_op op = {.kind = CUDA_OP_NODE,
                      .node = i,
                      .add = -1,
                      .n_mm = 0,
                      .swiglu = -1,
                      .rope_q = -1,
                      .rope_k = -1};
        int j = next_compute(g, i);
        if (fuse && node->op == ACC_OP_ADD && j >= 0 && g->nodes[j].op == ACC_OP_RMS_NORM &&
            g->nodes[j].src[0] == i && g->nodes[j].rows == node->rows &&
            g->nodes[j].cols == node->cols) {
            op.kind = CUDA_OP_ADD_NORM;
            op.add = i;
            op.node = j;
            done[j] = 1;
        } else if (node->op == ACC_OP_MATMUL) {
            op.kind = CUDA_OP_MATMULS;
            op.mm[op.n_mm++] = i;
            int last = i;
            while (fuse && op.n_mm < 3) {
                int k = next_compute(g, last);
                if (k < 0 || g->nodes[k].op != ACC_OP_MATMUL || g->nodes[k].src[0] != node->src[0])
                    break;
                op.mm[op.n_mm++] = k;
                done[k] = 1;
                last = k;
            }
            int k = next_compute(g, last);
            if (fuse && op.n_mm == 2 && k >= 0 && g->nodes[k].op == ACC_OP_SWIGLU &&
                g->nodes[k].src[0] == op.mm[0] && g->nodes[k].src[1] == op.mm[1] &&
                readers[op.mm[0]] == 1 && readers[op.mm[1]] == 1 && op.mm[0] != g->output &&
                op.mm[1] != g->output) {
                op.swiglu = k;
                done[k] = 1;
            }
        } else if (node->op == ACC_OP_ATTENTION) {
            op.kind = CUDA_OP_ATTENTION;
            if (fuse) {
                op.rope_q = foldable_rope(g, readers, node->src[0], node->n_heads, node->head_dim);
                op.rope_k =
                    foldable_rope(g, readers, node->src[1], node->n_kv_heads, node->head_dim);
            }
        }
        ops[n++] = op;
    }
    *n_ops = n;
}

typedef struct live_block {
    size_t offset, size;
    int last;
} live_block;

static size_t first_fit(const live_block *live, int n_live, size_t size)
{
    size_t candidate = 0;
    for (int i = 0; i < n_live; i++) {
        if (live[i].offset >= candidate + size)
            return candidate;
        size_t end = live[i].offset + live[i].size;
        if (end > candidate)
            candidate = end;
    }
    return candidate;
}

static void touch(int *born, int *last, int node, int op, int write)
{
    if (node < 0)
        return;
    if (write && born[node] < 0)
        born[node] = op;
    if (op > last[node])
        last[node] = op;
}

static void touch_sources(const acc_graph *g, int *born, int *last, int node, int op)
{
    if (node < 0)
        return;
    for (int s = 0; s < 3; s++)
        touch(born, last, g->nodes[node].src[s], op, 0);
}

static acc_status plan_arena(const acc_graph *g, const cuda_op *ops, int n_ops, int64_t max_tokens,
                             int64_t max_outputs, cuda_schedule *out, acc_error *err)
{
    int n = g->n_nodes;
    int *born = acc_malloc((size_t)n * sizeof *born, err);
    int *last = acc_malloc((size_t)n * sizeof *last, err);
    live_block *live = acc_malloc((size_t)n * sizeof *live, err);
    out->offsets = acc_malloc((size_t)n * sizeof *out->offsets, err);
    acc_status status = ACC_OK;
    if (!born || !last || !live || !out->offsets) {
        status = ACC_ERR_RUNTIME;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        born[i] = last[i] = -1;
        out->offsets[i] = ACC_PLAN_NONE;
    }
    for (int p = 0; p < n_ops; p++) {
        const cuda_op *op = &ops[p];
        int written[6] = {op->node, op->add, op->swiglu, op->rope_q, op->rope_k, -1};
        if (op->kind == CUDA_OP_MATMULS) {
            written[0] = op->mm[0];
            written[1] = op->n_mm > 1 ? op->mm[1] : -1;
            written[5] = op->n_mm > 2 ? op->mm[2] : -1;
        }
        for (int w = 0; w < 6; w++)
            touch_sources(g, born, last, written[w], p);
        for (int w = 0; w < 6; w++)
            touch(born, last, written[w], p, 1);
    }
    int n_live = 0;
    size_t arena = 0;
    for (int p = 0; p < n_ops; p++) {
        int kept = 0;
        for (int k = 0; k < n_live; k++)
            if (live[k].last >= p)
                live[kept++] = live[k];
        n_live = kept;
        for (int i = 0; i < n; i++) {
            const acc_node *node = &g->nodes[i];
            if (born[i] != p || node->rows == ACC_ROWS_FIXED || i == g->output)
                continue;
            uint64_t rows = (uint64_t)acc_graph_node_rows(node, max_tokens, max_outputs), bytes;
            if (acc_mul_overflow_u64(rows, (uint64_t)node->cols, &bytes) ||
                acc_mul_overflow_u64(bytes, sizeof(float), &bytes) || bytes > SIZE_MAX / 2) {
                status = acc_error_set(err, ACC_ERR_RUNTIME, "cuda plan: node %d is too large", i);
                goto done;
            }
            size_t size = ((size_t)bytes + ACC_PLAN_ALIGN - 1) / ACC_PLAN_ALIGN * ACC_PLAN_ALIGN;
            size_t offset = first_fit(live, n_live, size);
            out->offsets[i] = offset;
            if (offset + size > arena)
                arena = offset + size;
            int at = n_live;
            while (at > 0 && live[at - 1].offset > offset) {
                live[at] = live[at - 1];
                at--;
            }
            live[at] = (live_block){offset, size, last[i]};
            n_live++;
        }
    }
    out->arena_size = arena;
done:
    free(born);
    free(last);
    free(live);
    return status;
}

acc_status cuda_schedule_build(const acc_graph *g, int fuse, int64_t max_tokens,
                               int64_t max_outputs, cuda_schedule *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)g->n_nodes;
    int *readers = acc_calloc(n + 1, sizeof *readers, err);
    unsigned char *done = acc_calloc(n + 1, 1, err);
    out->ops = acc_malloc((n + 1) * sizeof *out->ops, err);
    acc_status status = ACC_OK;
    if (!readers || !done || !out->ops) {
        status = ACC_ERR_RUNTIME;
    } else {
        for (int i = 0; i < g->n_nodes; i++)
            for (int s = 0; s < 3; s++)
                if (g->nodes[i].src[s] >= 0)
                    readers[g->nodes[i].src[s]]++;
        build_ops(g, fuse, readers, done, out->ops, &out->n_ops);
        status = plan_arena(g, out->ops, out->n_ops, max_tokens, max_outputs, out, err);
    }
    free(readers);
    free(done);
    if (status != ACC_OK)
        cuda_schedule_free(out);
    return status;
}

void cuda_schedule_free(cuda_schedule *s)
{
    free(s->ops);
    free(s->offsets);
    memset(s, 0, sizeof *s);
}
