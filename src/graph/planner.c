/*
 * planner.c — static memory plan for a graph's activations.
 *
 * Each activation lives from the node that produces it to its last reader.
 * Walking nodes in execution order, the planner releases tensors whose last
 * reader has run and places each new tensor first-fit into the gaps of one
 * arena sized for the largest bound shape (max_tokens, max_outputs).  A
 * node's inputs are still live while it is placed, so an output never
 * aliases its inputs.  The output node is not placed: the caller provides
 * its memory (the logits buffer).
 */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

typedef struct live_block {
    size_t offset, size;
    int last_use;
} live_block;

static size_t align_up(size_t value)
{
    return (value + ACC_PLAN_ALIGN - 1) / ACC_PLAN_ALIGN * ACC_PLAN_ALIGN;
}

/* First offset where `size` bytes fit between the live blocks (kept sorted
 * by offset). */
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

acc_status acc_plan_memory(const acc_graph *g, int64_t max_tokens, int64_t max_outputs,
                           acc_plan *plan, acc_error *err)
{
    memset(plan, 0, sizeof *plan);
    if (max_tokens < 1 || max_outputs < 1)
        return acc_error_set(err, ACC_ERR_RUNTIME, "plan: bound shape must be positive");
    int n = g->n_nodes;
    int *last_use = acc_malloc((size_t)n * sizeof *last_use, err);
    live_block *live = acc_malloc((size_t)n * sizeof *live, err);
    plan->offsets = acc_malloc((size_t)n * sizeof *plan->offsets, err);
    if (!last_use || !live || !plan->offsets) {
        free(last_use);
        free(live);
        acc_plan_free(plan);
        return ACC_ERR_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        last_use[i] = i;
        plan->offsets[i] = ACC_PLAN_NONE;
    }
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 3; s++)
            if (g->nodes[i].src[s] >= 0)
                last_use[g->nodes[i].src[s]] = i;

    int n_live = 0;
    size_t arena = 0;
    for (int i = 0; i < n; i++) {
        const acc_node *node = &g->nodes[i];
        /* release what no node from i on reads */
        int kept = 0;
        for (int k = 0; k < n_live; k++)
            if (live[k].last_use >= i)
                live[kept++] = live[k];
        n_live = kept;
        if (node->rows == ACC_ROWS_FIXED || i == g->output)
            continue;
        uint64_t rows = (uint64_t)acc_graph_node_rows(node, max_tokens, max_outputs), bytes;
        if (acc_mul_overflow_u64(rows, (uint64_t)node->cols, &bytes) ||
            acc_mul_overflow_u64(bytes, sizeof(float), &bytes) || bytes > SIZE_MAX / 2) {
            free(last_use);
            free(live);
            acc_plan_free(plan);
            return acc_error_set(err, ACC_ERR_RUNTIME, "plan: node %d is too large", i);
        }
        size_t size = align_up((size_t)bytes);
        size_t offset = first_fit(live, n_live, size);
        plan->offsets[i] = offset;
        if (offset + size > arena)
            arena = offset + size;
        /* insert sorted by offset */
        int at = n_live;
        while (at > 0 && live[at - 1].offset > offset) {
            live[at] = live[at - 1];
            at--;
        }
        live[at] = (live_block){offset, size, last_use[i]};
        n_live++;
    }
    free(last_use);
    free(live);
    plan->arena_size = arena;
    plan->max_tokens = max_tokens;
    plan->max_outputs = max_outputs;
    return ACC_OK;
}

void acc_plan_free(acc_plan *plan)
{
    free(plan->offsets);
    memset(plan, 0, sizeof *plan);
}
