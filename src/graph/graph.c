/*
 * graph.c — building the compute graph: node constructors that check
 * shapes as they go, weight leaves bound by name, and the final check.
 *
 * Build errors are sticky (graph->failed) so architecture builders read as
 * straight-line math; acc_graph_finish reports the first one.
 */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

static const char *const op_names[ACC_OP_COUNT] = {
    [ACC_OP_WEIGHT] = "weight",         [ACC_OP_EMBED] = "embed",
    [ACC_OP_ADD] = "add",               [ACC_OP_SCALE] = "scale",
    [ACC_OP_RMS_NORM] = "rms_norm",     [ACC_OP_LAYER_NORM] = "layer_norm",
    [ACC_OP_MATMUL] = "matmul",         [ACC_OP_ROPE] = "rope",
    [ACC_OP_ATTENTION] = "attention",   [ACC_OP_GELU_TANH] = "gelu_tanh",
    [ACC_OP_SWIGLU] = "swiglu",         [ACC_OP_GATHER_OUTPUTS] = "gather_outputs",
};

const char *acc_op_name(acc_op op)
{
    return (unsigned)op < ACC_OP_COUNT ? op_names[op] : "?";
}

acc_status acc_graph_create(acc_graph **out, acc_error *err)
{
    *out = NULL;
    acc_graph *g = acc_calloc(1, sizeof *g, err);
    if (!g)
        return ACC_ERR_RUNTIME;
    g->output = -1;
    *out = g;
    return ACC_OK;
}

void acc_graph_destroy(acc_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_weights; i++) {
        free(g->weights[i].name);
        free(g->weights[i].source);
    }
    free(g->weights);
    free(g->nodes);
    free(g->rope_inv_freq);
    free(g);
}

static int graph_fail(acc_graph *g, acc_status status, const char *what)
{
    if (!g->failed) {
        g->failed = 1;
        acc_error_set(&g->error, status, "graph node %d: %s", g->n_nodes, what);
    }
    return -1;
}

static int node_valid(const acc_graph *g, int index)
{
    return index >= 0 && index < g->n_nodes;
}

/* Appends a node; the caller has checked its inputs. */
static int graph_push(acc_graph *g, acc_node node)
{
    if (g->failed)
        return -1;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        acc_node *grown = realloc(g->nodes, (size_t)cap * sizeof *grown);
        if (!grown)
            return graph_fail(g, ACC_ERR_RUNTIME, "out of memory");
        g->nodes = grown;
        g->cap_nodes = cap;
    }
    g->nodes[g->n_nodes] = node;
    return g->n_nodes++;
}

static acc_node node_new(acc_op op, acc_rows rows, int64_t cols)
{
    acc_node node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.src[0] = node.src[1] = node.src[2] = -1;
    node.rows = rows;
    node.cols = cols;
    node.weight = -1;
    node.alpha = 1.0f;
    node.scale = 1.0f;
    return node;
}

/* Checks the inputs of a new node exist (a -1 input means an earlier failure). */
static int inputs_ok(acc_graph *g, int a, int b)
{
    if (g->failed)
        return 0;
    if (!node_valid(g, a) || (b != -2 && !node_valid(g, b))) {
        graph_fail(g, ACC_ERR_RUNTIME, "input is not a node");
        return 0;
    }
    return 1;
}

static int is_vector(const acc_node *node, int64_t cols)
{
    return node->rows == ACC_ROWS_FIXED && node->fixed_rows == 1 && node->cols == cols;
}

int acc_graph_find_weight(const acc_graph *g, const char *name)
{
    for (int i = 0; i < g->n_weights; i++)
        if (strcmp(g->weights[i].name, name) == 0)
            return i;
    return -1;
}

int acc_graph_weight_part(acc_graph *g, const char *name, const char *source, int source_dims,
                          const int64_t source_shape[2], int transpose, int64_t row_begin,
                          int64_t col_begin, int64_t rows, int64_t cols)
{
    if (g->failed)
        return -1;
    int existing = acc_graph_find_weight(g, name);
    if (existing >= 0) {
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].op == ACC_OP_WEIGHT && g->nodes[i].weight == existing)
                return i;
    }
    /* the matrix the source reads as: 1-D is one row; transposed swaps */
    int64_t src_rows = source_dims == 2 ? source_shape[0] : 1;
    int64_t src_cols = source_dims == 2 ? source_shape[1] : source_shape[0];
    if (transpose) {
        int64_t swap = src_rows;
        src_rows = src_cols;
        src_cols = swap;
    }
    if (rows < 1 || cols < 1 || source_dims < 1 || source_dims > 2 || row_begin < 0 ||
        col_begin < 0 || row_begin + rows > src_rows || col_begin + cols > src_cols)
        return graph_fail(g, ACC_ERR_RUNTIME, "bad weight shape");
    if (g->n_weights == g->cap_weights) {
        int cap = g->cap_weights ? g->cap_weights * 2 : 32;
        acc_weight_source *grown = realloc(g->weights, (size_t)cap * sizeof *grown);
        if (!grown)
            return graph_fail(g, ACC_ERR_RUNTIME, "out of memory");
        g->weights = grown;
        g->cap_weights = cap;
    }
    acc_weight_source *w = &g->weights[g->n_weights];
    memset(w, 0, sizeof *w);
    w->name = acc_strdup(name, NULL);
    w->source = acc_strdup(source, NULL);
    if (!w->name || !w->source) {
        free(w->name);
        free(w->source);
        return graph_fail(g, ACC_ERR_RUNTIME, "out of memory");
    }
    w->source_dims = source_dims;
    w->source_shape[0] = source_shape[0];
    w->source_shape[1] = source_dims == 2 ? source_shape[1] : 0;
    w->transpose = transpose;
    w->row_begin = row_begin;
    w->col_begin = col_begin;
    w->rows = rows;
    w->cols = cols;
    acc_node node = node_new(ACC_OP_WEIGHT, ACC_ROWS_FIXED, cols);
    node.fixed_rows = rows;
    node.weight = g->n_weights;
    int index = graph_push(g, node);
    if (index >= 0)
        g->n_weights++;
    else {
        free(w->name);
        free(w->source);
    }
    return index;
}

int acc_graph_weight(acc_graph *g, const char *name, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows ? rows : cols, cols};
    return acc_graph_weight_part(g, name, name, rows ? 2 : 1, shape, 0, 0, 0, rows ? rows : 1,
                                 cols);
}

int acc_graph_embed(acc_graph *g, int table, acc_embed_index by)
{
    if (!inputs_ok(g, table, -2))
        return -1;
    if (g->nodes[table].rows != ACC_ROWS_FIXED)
        return graph_fail(g, ACC_ERR_RUNTIME, "embed: table is not a weight");
    acc_node node = node_new(ACC_OP_EMBED, ACC_ROWS_TOKENS, g->nodes[table].cols);
    node.src[0] = table;
    node.index_by = by;
    node.fixed_rows = g->nodes[table].fixed_rows; /* bound for the index check */
    return graph_push(g, node);
}

int acc_graph_add(acc_graph *g, int a, int b, float alpha)
{
    if (!inputs_ok(g, a, b))
        return -1;
    const acc_node *x = &g->nodes[a], *y = &g->nodes[b];
    if (x->rows != y->rows || x->cols != y->cols || x->rows == ACC_ROWS_FIXED)
        return graph_fail(g, ACC_ERR_RUNTIME, "add: shapes differ");
    acc_node node = node_new(ACC_OP_ADD, x->rows, x->cols);
    node.src[0] = a;
    node.src[1] = b;
    node.alpha = alpha;
    return graph_push(g, node);
}

int acc_graph_scale(acc_graph *g, int a, float scale)
{
    if (!inputs_ok(g, a, -2))
        return -1;
    if (g->nodes[a].rows == ACC_ROWS_FIXED)
        return graph_fail(g, ACC_ERR_RUNTIME, "scale: input is a weight");
    acc_node node = node_new(ACC_OP_SCALE, g->nodes[a].rows, g->nodes[a].cols);
    node.src[0] = a;
    node.scale = scale;
    return graph_push(g, node);
}

int acc_graph_rms_norm(acc_graph *g, int x, int weight, float eps)
{
    if (!inputs_ok(g, x, weight))
        return -1;
    if (!is_vector(&g->nodes[weight], g->nodes[x].cols) || g->nodes[x].rows == ACC_ROWS_FIXED)
        return graph_fail(g, ACC_ERR_RUNTIME, "rms_norm: weight shape");
    acc_node node = node_new(ACC_OP_RMS_NORM, g->nodes[x].rows, g->nodes[x].cols);
    node.src[0] = x;
    node.src[1] = weight;
    node.eps = eps;
    return graph_push(g, node);
}

int acc_graph_layer_norm(acc_graph *g, int x, int weight, int bias, float eps)
{
    if (!inputs_ok(g, x, weight) || !inputs_ok(g, bias, -2))
        return -1;
    int64_t cols = g->nodes[x].cols;
    if (!is_vector(&g->nodes[weight], cols) || !is_vector(&g->nodes[bias], cols) ||
        g->nodes[x].rows == ACC_ROWS_FIXED)
        return graph_fail(g, ACC_ERR_RUNTIME, "layer_norm: weight shape");
    acc_node node = node_new(ACC_OP_LAYER_NORM, g->nodes[x].rows, cols);
    node.src[0] = x;
    node.src[1] = weight;
    node.src[2] = bias;
    node.eps = eps;
    return graph_push(g, node);
}

int acc_graph_matmul(acc_graph *g, int x, int weight, int bias)
{
    if (!inputs_ok(g, x, weight) || (bias != -1 && !inputs_ok(g, bias, -2)))
        return -1;
    const acc_node *w = &g->nodes[weight];
    if (g->nodes[x].rows == ACC_ROWS_FIXED || w->rows != ACC_ROWS_FIXED ||
        w->cols != g->nodes[x].cols)
        return graph_fail(g, ACC_ERR_RUNTIME, "matmul: shapes differ");
    if (bias != -1 && !is_vector(&g->nodes[bias], w->fixed_rows))
        return graph_fail(g, ACC_ERR_RUNTIME, "matmul: bias shape");
    acc_node node = node_new(ACC_OP_MATMUL, g->nodes[x].rows, w->fixed_rows);
    node.src[0] = x;
    node.src[1] = weight;
    node.src[2] = bias;
    return graph_push(g, node);
}

int acc_graph_rope(acc_graph *g, int x, int n_heads, int head_dim)
{
    if (!inputs_ok(g, x, -2))
        return -1;
    if (g->nodes[x].rows != ACC_ROWS_TOKENS || head_dim < 2 || head_dim % 2 != 0 ||
        (int64_t)n_heads * head_dim != g->nodes[x].cols)
        return graph_fail(g, ACC_ERR_RUNTIME, "rope: shape");
    acc_node node = node_new(ACC_OP_ROPE, ACC_ROWS_TOKENS, g->nodes[x].cols);
    node.src[0] = x;
    node.n_heads = n_heads;
    node.head_dim = head_dim;
    return graph_push(g, node);
}

int acc_graph_attention(acc_graph *g, int q, int k, int v, int layer, int n_heads,
                        int n_kv_heads, int head_dim, float scale)
{
    if (!inputs_ok(g, q, k) || !inputs_ok(g, v, -2))
        return -1;
    int64_t q_cols = (int64_t)n_heads * head_dim, kv_cols = (int64_t)n_kv_heads * head_dim;
    if (n_kv_heads < 1 || n_heads % n_kv_heads != 0 || g->nodes[q].cols != q_cols ||
        g->nodes[k].cols != kv_cols || g->nodes[v].cols != kv_cols ||
        g->nodes[q].rows != ACC_ROWS_TOKENS || g->nodes[k].rows != ACC_ROWS_TOKENS ||
        g->nodes[v].rows != ACC_ROWS_TOKENS || layer < 0)
        return graph_fail(g, ACC_ERR_RUNTIME, "attention: shapes");
    if (g->kv_dim != 0 && g->kv_dim != kv_cols)
        return graph_fail(g, ACC_ERR_RUNTIME, "attention: layers differ in KV width");
    g->kv_dim = (int)kv_cols;
    if (layer + 1 > g->n_layers)
        g->n_layers = layer + 1;
    acc_node node = node_new(ACC_OP_ATTENTION, ACC_ROWS_TOKENS, q_cols);
    node.src[0] = q;
    node.src[1] = k;
    node.src[2] = v;
    node.layer = layer;
    node.n_heads = n_heads;
    node.n_kv_heads = n_kv_heads;
    node.head_dim = head_dim;
    node.scale = scale;
    return graph_push(g, node);
}

int acc_graph_gelu_tanh(acc_graph *g, int x)
{
    if (!inputs_ok(g, x, -2))
        return -1;
    acc_node node = node_new(ACC_OP_GELU_TANH, g->nodes[x].rows, g->nodes[x].cols);
    node.src[0] = x;
    return graph_push(g, node);
}

int acc_graph_swiglu(acc_graph *g, int gate, int up)
{
    if (!inputs_ok(g, gate, up))
        return -1;
    if (g->nodes[gate].rows != g->nodes[up].rows || g->nodes[gate].cols != g->nodes[up].cols)
        return graph_fail(g, ACC_ERR_RUNTIME, "swiglu: shapes differ");
    acc_node node = node_new(ACC_OP_SWIGLU, g->nodes[gate].rows, g->nodes[gate].cols);
    node.src[0] = gate;
    node.src[1] = up;
    return graph_push(g, node);
}

int acc_graph_gather_outputs(acc_graph *g, int x)
{
    if (!inputs_ok(g, x, -2))
        return -1;
    if (g->nodes[x].rows != ACC_ROWS_TOKENS)
        return graph_fail(g, ACC_ERR_RUNTIME, "gather_outputs: input is not per token");
    acc_node node = node_new(ACC_OP_GATHER_OUTPUTS, ACC_ROWS_OUTPUTS, g->nodes[x].cols);
    node.src[0] = x;
    return graph_push(g, node);
}

void acc_graph_set_rope(acc_graph *g, const float *inv_freq, int head_dim)
{
    if (g->failed)
        return;
    float *copy = malloc((size_t)(head_dim / 2) * sizeof *copy + 1);
    if (!copy) {
        graph_fail(g, ACC_ERR_RUNTIME, "out of memory");
        return;
    }
    memcpy(copy, inv_freq, (size_t)(head_dim / 2) * sizeof *copy);
    free(g->rope_inv_freq);
    g->rope_inv_freq = copy;
    g->rope_dims = head_dim;
}

acc_status acc_graph_finish(acc_graph *g, int output, acc_error *err)
{
    if (g->failed) {
        if (err)
            *err = g->error;
        return g->error.status;
    }
    if (!node_valid(g, output) || g->nodes[output].rows == ACC_ROWS_FIXED)
        return acc_error_set(err, ACC_ERR_RUNTIME, "graph: output is not an activation");
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_ROPE && g->rope_dims != node->head_dim)
            return acc_error_set(err, ACC_ERR_RUNTIME,
                                 "graph node %d: rope needs frequencies for head_dim %d", i,
                                 node->head_dim);
    }
    g->output = output;
    return ACC_OK;
}

int64_t acc_graph_node_rows(const acc_node *node, int64_t n_tokens, int64_t n_outputs)
{
    switch (node->rows) {
    case ACC_ROWS_TOKENS:
        return n_tokens;
    case ACC_ROWS_OUTPUTS:
        return n_outputs;
    default:
        return node->fixed_rows;
    }
}
