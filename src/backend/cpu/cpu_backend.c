/*
 * cpu_backend.c — the CPU implementation of acc_backend_ops: host memory
 * for the activation arena and the paged KV cache, and an executor that
 * walks the graph and runs each node's kernel on the thread pool.
 *
 * Work splits: matmuls by output columns (each weight row is read by one
 * thread and reused across the step's tokens), attention by (token, head),
 * row ops by rows, elementwise ops by elements.  Matmuls and the inner
 * loops of attention run through the kernel table chosen at create time
 * (kernels_dispatch.c); matmul weights and embedding tables may be f16 or
 * bf16, every other weight is f32.  With AMX (kernels_amx.h), matmuls of
 * many tokens take the AMX GEMM instead of the table's: block formats on
 * bf16 activations (about as far from the f32 computation as the int8
 * activations of the table's path), f16/bf16 weights with hi/lo bf16
 * splits of both operands (within about 2^-16 of the f32 computation;
 * ACCINF_CPU_AMX=all: single bf16 roundings like block formats, =0: no AMX,
 * so 16-bit weights give the bits of f32 weights).  Results then depend on
 * the step size (prefill vs decode); the table's path alone keeps prefill
 * and decode bit-identical.  KV cache layout per layer:
 * K and V each [n_blocks * block_size, kv_dim].
 */
#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/kernels_amx.h"
#include "backend/cpu/thread_pool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

typedef struct cpu_backend {
    acc_backend base;
    acc_backend_config config;
    acc_thread_pool *pool;
    const acc_graph *graph;
    size_t *offsets;          /* copy of the plan's offsets */
    int64_t max_tokens, max_outputs;
    const acc_cpu_kernels *kernels; /* hot kernels for this CPU */
    acc_backend_weight *weights;    /* per graph weight */
    float *arena;
    float *k_cache, *v_cache; /* n_layers x slots x kv_dim */
    size_t layer_stride;      /* floats per layer in k_cache / v_cache */
    float *scratch;           /* per worker: acc_cpu_attend_scratch(max_context) floats */
    void *act;                /* int8 activations for block-format matmuls */
    size_t act_bytes;
    int amx;                  /* AMX prefill GEMM asked for and usable */
    int amx_16bit_bf16;       /* ... in BF16 mode for f16/bf16 weights too */
    void *amx_act;            /* bf16 activations for it */
    void *amx_scratch;        /* per worker, amx_scratch_stride bytes */
    size_t amx_scratch_stride;
    float **data;             /* per node, for the current step */
    const void **packed;      /* per graph weight: the table's repacked copy, or NULL */
    void *packed_arena;       /* all repacked copies (alloc_huge) */
    size_t packed_arena_bytes;
} cpu_backend;

/* One node being executed: what the task functions read. */
typedef struct node_task {
    cpu_backend *cpu;
    const acc_node *node;
    const acc_step *step;
    const float *in[3];
    float *out;
    int64_t rows;
    atomic_llong next_chunk; /* dynamic split: the next unclaimed chunk */
} node_task;

/* Claims the next of n_chunks chunks; -1 when none is left.  Matmul and
 * attention hand out chunks dynamically so a worker the OS preempts (the
 * machine may be shared) delays the step by one chunk, not by its share. */
static int64_t claim_chunk(node_task *t, int64_t n_chunks)
{
    int64_t c = atomic_fetch_add_explicit(&t->next_chunk, 1, memory_order_relaxed);
    return c < n_chunks ? c : -1;
}

/* Chunk count for n items split over n_workers: about 8 chunks per worker
 * (fewer when items are few), each a multiple of `unit` items. */
static int64_t chunk_items(int64_t n, int n_workers, int64_t unit)
{
    int64_t per = n / ((int64_t)n_workers * 8);
    per = (per + unit - 1) / unit * unit;
    return per < unit ? unit : per;
}

static void split_range(int64_t n, int worker, int n_workers, int64_t *begin, int64_t *end)
{
    int64_t chunk = (n + n_workers - 1) / n_workers;
    *begin = chunk * worker < n ? chunk * worker : n;
    *end = *begin + chunk < n ? *begin + chunk : n;
}

static void task_elementwise(void *context, int worker, int n_workers)
{
    node_task *t = context;
    int64_t i0, i1;
    split_range(t->rows * t->node->cols, worker, n_workers, &i0, &i1);
    switch (t->node->op) {
    case ACC_OP_ADD:
        acc_cpu_add(t->in[0], t->in[1], t->node->alpha, t->out, i0, i1);
        break;
    case ACC_OP_SCALE:
        acc_cpu_scale(t->in[0], t->node->scale, t->out, i0, i1);
        break;
    case ACC_OP_GELU_TANH:
        if (t->cpu->kernels->gelu)
            t->cpu->kernels->gelu(t->in[0], t->out, i0, i1);
        else
            acc_cpu_gelu_tanh(t->in[0], t->out, i0, i1);
        break;
    case ACC_OP_SWIGLU:
        if (t->cpu->kernels->swiglu)
            t->cpu->kernels->swiglu(t->in[0], t->in[1], t->out, i0, i1);
        else
            acc_cpu_swiglu(t->in[0], t->in[1], t->out, i0, i1);
        break;
    default:
        break;
    }
}

static void task_rows(void *context, int worker, int n_workers)
{
    node_task *t = context;
    const acc_node *node = t->node;
    int64_t cols = node->cols, r0, r1;
    split_range(t->rows, worker, n_workers, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const float *x = t->in[0] + r * cols;
        float *y = t->out + r * cols;
        switch (node->op) {
        case ACC_OP_RMS_NORM:
            acc_cpu_rms_norm_row(x, t->in[1], node->eps, y, cols);
            break;
        case ACC_OP_LAYER_NORM:
            acc_cpu_layer_norm_row(x, t->in[1], t->in[2], node->eps, y, cols);
            break;
        case ACC_OP_ROPE:
            acc_cpu_rope_row(x, node->n_heads, node->head_dim, t->step->positions[r],
                             t->cpu->graph->rope_inv_freq, y);
            break;
        case ACC_OP_EMBED: {
            const int32_t *index = node->index_by == ACC_EMBED_BY_TOKEN ? t->step->tokens
                                                                        : t->step->positions;
            const acc_node *table = &t->cpu->graph->nodes[node->src[0]];
            acc_cpu_weight_row_f32(&t->cpu->weights[table->weight], index[r], cols, y);
            break;
        }
        case ACC_OP_GATHER_OUTPUTS:
            memcpy(y, t->in[0] + (int64_t)t->step->output_rows[r] * cols,
                   (size_t)cols * sizeof *y);
            break;
        default:
            break;
        }
    }
}

/* Output columns go to workers in units of MATMUL_COL_UNIT so each worker
 * runs whole micro-kernel groups of weight rows. */
#define MATMUL_COL_UNIT 16

static void task_matmul(void *context, int worker, int n_workers)
{
    node_task *t = context;
    const acc_graph *g = t->cpu->graph;
    const acc_backend_weight *w = &t->cpu->weights[g->nodes[t->node->src[1]].weight];
    acc_cpu_matmul_args args = {
        .x = t->in[0], .rows = t->rows, .in = g->nodes[t->node->src[0]].cols,
        .w = w->data, .w_type = w->type, .w_row_bytes = w->row_bytes,
        .bias = t->in[2], .y = t->out, .out = t->node->cols,
        .xq = t->cpu->act, .xq_row_bytes = acc_cpu_act_row_bytes(w->type, args.in),
        .w_packed = t->cpu->packed[g->nodes[t->node->src[1]].weight]};
    (void)worker;
    acc_cpu_matmul_fn matmul = acc_cpu_matmul_for(t->cpu->kernels, w->type);
    int64_t per = chunk_items(args.out, n_workers, MATMUL_COL_UNIT);
    int64_t n_chunks = (args.out + per - 1) / per;
    for (int64_t c; (c = claim_chunk(t, n_chunks)) >= 0;) {
        int64_t j0 = c * per, j1 = j0 + per < args.out ? j0 + per : args.out;
        matmul(&args, 0, args.rows, j0, j1);
    }
}

/* 1 if matmuls with weights of `type` take the AMX GEMM (for steps of
 * enough rows). */
static int amx_takes(const cpu_backend *cpu, acc_weight_type type)
{
    return cpu->amx && acc_cpu_amx_supports(type);
}

/* The GEMM's mode for `type`: 16-bit weights keep near-f32 accuracy with
 * hi/lo splits (3 tile products per k step for f16, 2 for bf16) unless
 * ACCINF_CPU_AMX=all; block formats, whose dequantized values are already
 * coarse, take single bf16 roundings. */
static acc_cpu_amx_mode amx_mode(const cpu_backend *cpu, acc_weight_type type)
{
    return acc_weight_type_is_quantized(type) || cpu->amx_16bit_bf16 ? ACC_CPU_AMX_BF16
                                                                      : ACC_CPU_AMX_SPLIT;
}

/* The matmul's arguments for the AMX GEMM: bf16 activations in xq. */
static acc_cpu_matmul_args amx_args(const node_task *t)
{
    const acc_graph *g = t->cpu->graph;
    const acc_backend_weight *w = &t->cpu->weights[g->nodes[t->node->src[1]].weight];
    int64_t in = g->nodes[t->node->src[0]].cols;
    acc_cpu_matmul_args args = {
        .x = t->in[0], .rows = t->rows, .in = in, .w = w->data, .w_type = w->type,
        .w_row_bytes = w->row_bytes, .bias = t->in[2], .y = t->out, .out = t->node->cols,
        .xq = t->cpu->amx_act,
        .xq_row_bytes = acc_cpu_amx_act_stride(in, amx_mode(t->cpu, w->type))};
    return args;
}

static void task_amx_convert(void *context, int worker, int n_workers)
{
    node_task *t = context;
    acc_cpu_matmul_args args = amx_args(t);
    int64_t r0, r1;
    split_range(acc_cpu_amx_rows_pad(t->rows), worker, n_workers, &r0, &r1);
    acc_cpu_amx_convert_rows(args.x, args.rows, args.in, amx_mode(t->cpu, args.w_type),
                             t->cpu->amx_act, r0, r1);
}

static void task_amx_matmul(void *context, int worker, int n_workers)
{
    node_task *t = context;
    acc_cpu_matmul_args args = amx_args(t);
    void *scratch = (char *)t->cpu->amx_scratch + (size_t)worker * t->cpu->amx_scratch_stride;
    /* about 4 chunks per worker: each chunk reads all activations once */
    int64_t per = (args.out / (n_workers * 4) + ACC_CPU_AMX_COL_UNIT - 1) /
                  ACC_CPU_AMX_COL_UNIT * ACC_CPU_AMX_COL_UNIT;
    per = per < ACC_CPU_AMX_COL_UNIT ? ACC_CPU_AMX_COL_UNIT : per;
    int64_t n_chunks = (args.out + per - 1) / per;
    for (int64_t c; (c = claim_chunk(t, n_chunks)) >= 0;) {
        int64_t j0 = c * per, j1 = j0 + per < args.out ? j0 + per : args.out;
        acc_cpu_amx_matmul(&args, amx_mode(t->cpu, args.w_type), scratch, j0, j1);
    }
}

/* Quantizes the matmul's input rows for a block-format weight. */
static void task_quantize_act(void *context, int worker, int n_workers)
{
    node_task *t = context;
    const acc_graph *g = t->cpu->graph;
    acc_weight_type type = t->cpu->weights[g->nodes[t->node->src[1]].weight].type;
    int64_t in = g->nodes[t->node->src[0]].cols, r0, r1;
    size_t row_bytes = acc_cpu_act_row_bytes(type, in);
    split_range(t->rows, worker, n_workers, &r0, &r1);
    void (*quantize)(acc_weight_type, const float *, void *, int64_t) =
        t->cpu->kernels->quantize_act ? t->cpu->kernels->quantize_act : acc_cpu_quantize_act_row;
    for (int64_t r = r0; r < r1; r++)
        quantize(type, t->in[0] + r * in, (char *)t->cpu->act + (size_t)r * row_bytes, in);
}

/* Attention work items: (head, tile of up to ACC_CPU_ATTEND_TILE
 * consecutive tokens), the tile cut where the sequence changes, so each
 * K/V row loaded serves every query of the tile.  No query's value depends
 * on the tiling (kernels.h: attend_rows). */
static void task_attention(void *context, int worker, int n_workers)
{
    node_task *t = context;
    const acc_node *node = t->node;
    cpu_backend *cpu = t->cpu;
    int64_t kv_dim = (int64_t)node->n_kv_heads * node->head_dim;
    const float *k_cache = cpu->k_cache + (size_t)node->layer * cpu->layer_stride;
    const float *v_cache = cpu->v_cache + (size_t)node->layer * cpu->layer_stride;
    float *scores =
        cpu->scratch + (size_t)worker * acc_cpu_attend_scratch(cpu->config.max_context);
    int group = node->n_heads / node->n_kv_heads;
    int64_t tiles = (t->rows + ACC_CPU_ATTEND_TILE - 1) / ACC_CPU_ATTEND_TILE;
    int64_t items = tiles * node->n_heads, per = chunk_items(items, n_workers, 1);
    for (int64_t c; (c = claim_chunk(t, (items + per - 1) / per)) >= 0;) {
        int64_t p1 = (c + 1) * per < items ? (c + 1) * per : items;
        for (int64_t p = c * per; p < p1; p++) {
            int head = (int)(p % node->n_heads);
            int64_t tok0 = p / node->n_heads * ACC_CPU_ATTEND_TILE;
            int64_t tok_end = tok0 + ACC_CPU_ATTEND_TILE < t->rows ? tok0 + ACC_CPU_ATTEND_TILE
                                                                   : t->rows;
            int64_t kv_off = (int64_t)(head / group) * node->head_dim;
            while (tok0 < tok_end) {
                int seq = t->step->token_seq[tok0], n_ctx[ACC_CPU_ATTEND_TILE], nq = 0;
                while (tok0 + nq < tok_end && t->step->token_seq[tok0 + nq] == seq) {
                    n_ctx[nq] = t->step->positions[tok0 + nq] + 1;
                    nq++;
                }
                int64_t q_off = tok0 * node->cols + (int64_t)head * node->head_dim;
                acc_cpu_attend_rows(cpu->kernels, t->in[0] + q_off, node->cols, nq, n_ctx,
                                    k_cache, v_cache, kv_dim, kv_off, node->head_dim,
                                    t->step->block_tables[seq], cpu->config.kv_block_size,
                                    node->scale, scores, t->out + q_off, node->cols);
                tok0 += nq;
            }
        }
    }
}

/* Stores the step's K and V rows in their cache slots before any token
 * attends, so tokens of one step see each other causally. */
static void attention_store_kv(cpu_backend *cpu, const node_task *t)
{
    const acc_node *node = t->node;
    int64_t kv_dim = (int64_t)node->n_kv_heads * node->head_dim;
    float *k_cache = cpu->k_cache + (size_t)node->layer * cpu->layer_stride;
    float *v_cache = cpu->v_cache + (size_t)node->layer * cpu->layer_stride;
    for (int64_t r = 0; r < t->rows; r++) {
        int64_t slot = t->step->slots[r];
        memcpy(k_cache + slot * kv_dim, t->in[1] + r * kv_dim, (size_t)kv_dim * sizeof(float));
        memcpy(v_cache + slot * kv_dim, t->in[2] + r * kv_dim, (size_t)kv_dim * sizeof(float));
    }
}

/* Below this many multiply-adds a kernel runs on the calling thread only:
 * waking the pool would cost more than the work. */
#define SMALL_WORK 16384

static acc_status cpu_run(acc_backend *backend, const acc_step *step, float *output,
                          acc_error *err)
{
    cpu_backend *cpu = (cpu_backend *)backend;
    const acc_graph *g = cpu->graph;
    if (!g)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: no graph loaded");
    if (step->n_tokens < 1 || step->n_tokens > cpu->max_tokens || step->n_outputs < 0 ||
        step->n_outputs > cpu->max_outputs)
        return acc_error_set(err, ACC_ERR_RUNTIME,
                             "cpu backend: step of %d tokens, %d outputs exceeds the plan "
                             "(%lld, %lld)",
                             step->n_tokens, step->n_outputs, (long long)cpu->max_tokens,
                             (long long)cpu->max_outputs);
    if (step->n_outputs == 0)
        return ACC_OK;
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_WEIGHT)
            cpu->data[i] = (float *)cpu->weights[node->weight].data;
        else if (i == g->output)
            cpu->data[i] = output;
        else
            cpu->data[i] = (float *)((char *)cpu->arena + cpu->offsets[i]);
    }
    int64_t slots = (int64_t)cpu->config.n_kv_blocks * cpu->config.kv_block_size;
    for (int t = 0; t < step->n_tokens; t++) {
        if (step->slots[t] < 0 || step->slots[t] >= slots || step->positions[t] < 0 ||
            step->positions[t] >= cpu->config.max_context)
            return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: token %d: bad slot or position", t);
    }
    for (int r = 0; r < step->n_outputs; r++)
        if (step->output_rows[r] < 0 || step->output_rows[r] >= step->n_tokens)
            return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: bad output row %d", r);

    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_WEIGHT)
            continue;
        node_task t = {.cpu = cpu, .node = node, .step = step, .out = cpu->data[i]};
        atomic_init(&t.next_chunk, 0);
        for (int s = 0; s < 3; s++)
            t.in[s] = node->src[s] >= 0 ? cpu->data[node->src[s]] : NULL;
        t.rows = acc_graph_node_rows(node, step->n_tokens, step->n_outputs);
        int64_t work = t.rows * node->cols;
        switch (node->op) {
        case ACC_OP_EMBED: {
            const int32_t *index =
                node->index_by == ACC_EMBED_BY_TOKEN ? step->tokens : step->positions;
            for (int r = 0; r < step->n_tokens; r++)
                if (index[r] < 0 || index[r] >= node->fixed_rows)
                    return acc_error_set(err, ACC_ERR_INPUT,
                                         "token %d: %s %d is outside the table of %lld rows",
                                         r, node->index_by == ACC_EMBED_BY_TOKEN ? "id" : "position",
                                         index[r], (long long)node->fixed_rows);
            acc_thread_pool_run(cpu->pool, task_rows, &t, work < SMALL_WORK);
            break;
        }
        case ACC_OP_ADD:
        case ACC_OP_SCALE:
        case ACC_OP_GELU_TANH:
        case ACC_OP_SWIGLU:
            acc_thread_pool_run(cpu->pool, task_elementwise, &t, work < SMALL_WORK);
            break;
        case ACC_OP_RMS_NORM:
        case ACC_OP_LAYER_NORM:
        case ACC_OP_ROPE:
        case ACC_OP_GATHER_OUTPUTS:
            acc_thread_pool_run(cpu->pool, task_rows, &t, work < SMALL_WORK);
            break;
        case ACC_OP_MATMUL: {
            int64_t in = g->nodes[node->src[0]].cols;
            acc_weight_type type = cpu->weights[g->nodes[node->src[1]].weight].type;
            if (amx_takes(cpu, type) && t.rows >= acc_cpu_amx_min_rows(amx_mode(cpu, type))) {
                acc_thread_pool_run(cpu->pool, task_amx_convert, &t, 0);
                acc_thread_pool_run(cpu->pool, task_amx_matmul, &t, 0);
                break;
            }
            if (acc_weight_type_is_quantized(type))
                acc_thread_pool_run(cpu->pool, task_quantize_act, &t, t.rows * in < SMALL_WORK);
            acc_thread_pool_run(cpu->pool, task_matmul, &t, work * in < SMALL_WORK);
            break;
        }
        case ACC_OP_ATTENTION:
            attention_store_kv(cpu, &t);
            acc_thread_pool_run(cpu->pool, task_attention, &t, 0);
            break;
        default:
            return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: op %s not supported",
                                 acc_op_name(node->op));
        }
    }
    return ACC_OK;
}

/* ---- repacked weights ---------------------------------------------------- */

#define HUGE_PAGE ((size_t)2 << 20)

/* Anonymous memory for weight copies, 2 MiB aligned and advised for
 * transparent huge pages (Linux often grants them only on madvise): decode
 * streams every weight once per token, and 4 KiB pages would cost a TLB
 * miss every 4 KiB.  *mapped: the length to give free_huge. */
static void *alloc_huge(size_t bytes, size_t *mapped)
{
    size_t keep = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
#if defined(__linux__)
    size_t len = keep + HUGE_PAGE;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *start = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (start > p)
        munmap(p, (size_t)(start - p));
    if (start + keep < p + len)
        munmap(start + keep, (size_t)(p + len - (start + keep)));
    madvise(start, keep, MADV_HUGEPAGE); /* advice only: small pages still work */
    *mapped = keep;
    return start;
#else
    *mapped = keep;
    return aligned_alloc(64, keep);
#endif
}

static void free_huge(void *p, size_t mapped)
{
    if (!p)
        return;
#if defined(__linux__)
    munmap(p, mapped);
#else
    (void)mapped;
    free(p);
#endif
}

/* One weight being repacked (the table's layout) or copied (rows as
 * stored, made contiguous): groups of rows split over the pool's workers. */
typedef struct repack_task {
    const acc_cpu_kernels *kernels;
    const acc_backend_weight *w;
    int64_t rows, in;
    void *out;
    size_t copy_row_bytes; /* 0: repack */
} repack_task;

static void task_repack(void *context, int worker, int n_workers)
{
    repack_task *t = context;
    int64_t g0, g1;
    split_range((t->rows + ACC_CPU_PACK_ROWS - 1) / ACC_CPU_PACK_ROWS, worker, n_workers, &g0,
                &g1);
    if (!t->copy_row_bytes) {
        t->kernels->repack(t->w->type, t->w->data, t->w->row_bytes, t->rows, t->in, t->out, g0,
                           g1);
        return;
    }
    int64_t r1 = g1 * ACC_CPU_PACK_ROWS < t->rows ? g1 * ACC_CPU_PACK_ROWS : t->rows;
    for (int64_t r = g0 * ACC_CPU_PACK_ROWS; r < r1; r++)
        memcpy((char *)t->out + (size_t)r * t->copy_row_bytes,
               (const char *)t->w->data + (size_t)r * t->w->row_bytes, t->copy_row_bytes);
}

/* How weight `index` gets its own copy: the table's repacked layout
 * (returns its bytes, *copy_row_bytes 0), a plain copy of a block-format
 * matmul weight into huge pages (bytes, *copy_row_bytes the row size), or
 * none (0).  ACCINF_CPU_REPACK=0 keeps every weight where it was bound. */
static size_t weight_copy_bytes(const cpu_backend *cpu, const acc_graph *graph, int index,
                                int64_t *rows, int64_t *in, size_t *copy_row_bytes)
{
    const char *env = getenv("ACCINF_CPU_REPACK");
    *copy_row_bytes = 0;
    if (env && strcmp(env, "0") == 0)
        return 0;
    acc_weight_type type = cpu->weights[index].type;
    for (int i = 0; i < graph->n_nodes; i++) {
        const acc_node *node = &graph->nodes[i];
        if (node->op != ACC_OP_MATMUL || graph->nodes[node->src[1]].weight != index)
            continue;
        *rows = graph->nodes[node->src[1]].fixed_rows;
        *in = graph->nodes[node->src[1]].cols;
        size_t bytes = cpu->kernels->packed_bytes ? cpu->kernels->packed_bytes(type, *rows, *in)
                                                  : 0;
        if (bytes || !acc_weight_type_is_quantized(type) || *rows < 1)
            return bytes;
        *copy_row_bytes = acc_weight_row_bytes(type, *in);
        return (size_t)*rows * *copy_row_bytes;
    }
    return 0;
}

/* Gives the block-format matmul weights their own copies in one huge-page
 * arena (alloc_huge: decode streams them with fewer TLB misses than the
 * file's 4 KiB pages): in the kernel table's layout where it has one
 * (matmuls then read it through w_packed; embedding rows and the AMX GEMM
 * keep reading the bound weight), else as stored (the copy replaces the
 * bound weight everywhere).  The file's pages then go cold, so resident
 * memory returns to about one copy once the kernel reclaims them. */
static acc_status pack_weights(cpu_backend *cpu, const acc_graph *graph, acc_error *err)
{
    size_t total = 0;
    size_t *offset = acc_calloc((size_t)graph->n_weights, sizeof *offset, err);
    cpu->packed = acc_calloc((size_t)graph->n_weights, sizeof *cpu->packed, err);
    if (!offset || !cpu->packed) {
        free(offset);
        return ACC_ERR_RUNTIME;
    }
    for (int i = 0; i < graph->n_weights; i++) {
        int64_t rows, in;
        size_t copy_row;
        size_t bytes = weight_copy_bytes(cpu, graph, i, &rows, &in, &copy_row);
        offset[i] = bytes ? total : SIZE_MAX;
        total += (bytes + 63) / 64 * 64;
    }
    if (total) {
        cpu->packed_arena = alloc_huge(total, &cpu->packed_arena_bytes);
        if (!cpu->packed_arena) {
            free(offset);
            return acc_error_set(err, ACC_ERR_RUNTIME,
                                 "cpu backend: out of memory for weight copies (%zu bytes)",
                                 total);
        }
    }
    for (int i = 0; i < graph->n_weights; i++) {
        if (offset[i] == SIZE_MAX)
            continue;
        repack_task t = {.kernels = cpu->kernels, .w = &cpu->weights[i],
                         .out = (char *)cpu->packed_arena + offset[i]};
        weight_copy_bytes(cpu, graph, i, &t.rows, &t.in, &t.copy_row_bytes);
        acc_thread_pool_run(cpu->pool, task_repack, &t, 0);
        if (t.copy_row_bytes) {
            cpu->weights[i].data = t.out;
            cpu->weights[i].row_bytes = t.copy_row_bytes;
        } else {
            cpu->packed[i] = t.out;
        }
    }
    free(offset);
    return ACC_OK;
}

static void cpu_destroy(acc_backend *backend)
{
    cpu_backend *cpu = (cpu_backend *)backend;
    if (!cpu)
        return;
    acc_thread_pool_destroy(cpu->pool);
    free(cpu->offsets);
    free(cpu->weights);
    free(cpu->arena);
    free(cpu->k_cache);
    free(cpu->v_cache);
    free(cpu->scratch);
    free(cpu->act);
    free(cpu->amx_act);
    free(cpu->amx_scratch);
    free(cpu->data);
    free(cpu->packed);
    free_huge(cpu->packed_arena, cpu->packed_arena_bytes);
    free(cpu);
}

static acc_status cpu_create(const acc_backend_config *config, acc_backend **out, acc_error *err)
{
    *out = NULL;
    if (config->threads < 1 || config->n_kv_blocks < 1 || config->kv_block_size < 1 ||
        config->max_context < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "cpu backend: bad configuration");
    cpu_backend *cpu = acc_calloc(1, sizeof *cpu, err);
    if (!cpu)
        return ACC_ERR_RUNTIME;
    cpu->base.ops = &acc_backend_cpu_ops;
    cpu->config = *config;
    cpu->kernels = acc_cpu_kernels_select(acc_cpu_isa_cap_from_env());
    /* AMX unless ACCINF_CPU_AMX=0; =all: single bf16 roundings for 16-bit
     * weights too (amx_mode); the ACCINF_CPU_ISA cap still applies */
    const char *amx = getenv("ACCINF_CPU_AMX");
    cpu->amx = !(amx && strcmp(amx, "0") == 0) && acc_cpu_amx_enabled(acc_cpu_isa_cap_from_env());
    cpu->amx_16bit_bf16 = amx && strcmp(amx, "all") == 0;
    acc_status status = acc_thread_pool_create(config->threads, &cpu->pool, err);
    if (status != ACC_OK) {
        cpu_destroy(&cpu->base);
        return status;
    }
    *out = &cpu->base;
    return ACC_OK;
}

/* calloc of count x size floats with an error that names what it is for. */
static float *alloc_floats(uint64_t count, const char *what, acc_error *err)
{
    uint64_t bytes;
    if (acc_mul_overflow_u64(count, sizeof(float), &bytes) || bytes > SIZE_MAX) {
        acc_error_set(err, ACC_ERR_RUNTIME, "%s: size overflows", what);
        return NULL;
    }
    float *data = calloc((size_t)count ? (size_t)count : 1, sizeof(float));
    if (!data)
        acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory allocating %llu bytes", what,
                      (unsigned long long)bytes);
    return data;
}

/* Checks that every weight's type suits each of its uses: matmul weights
 * (src 1 of MATMUL) and embedding tables (src 0 of EMBED) may be any type
 * with a kernel; everything else is read as f32. */
static acc_status check_weight_uses(const cpu_backend *cpu, const acc_graph *graph,
                                    const acc_backend_weight *weights, acc_error *err)
{
    for (int i = 0; i < graph->n_nodes; i++) {
        const acc_node *node = &graph->nodes[i];
        for (int s = 0; s < 3; s++) {
            if (node->src[s] < 0 || graph->nodes[node->src[s]].op != ACC_OP_WEIGHT)
                continue;
            int index = graph->nodes[node->src[s]].weight;
            acc_weight_type type = weights[index].type;
            int typed_use = (node->op == ACC_OP_MATMUL && s == 1) ||
                            (node->op == ACC_OP_EMBED && s == 0);
            int ok = type == ACC_WEIGHT_F32 ||
                     (typed_use && (unsigned)type < ACC_WEIGHT_TYPE_COUNT &&
                      (node->op == ACC_OP_EMBED || acc_cpu_matmul_for(cpu->kernels, type)));
            if (!typed_use && graph->weights[index].rows > 1 &&
                weights[index].row_bytes != (size_t)graph->weights[index].cols * sizeof(float))
                ok = 0; /* row ops read weights as one contiguous f32 array */
            if (!ok)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "cpu backend: weight '%s': type %s cannot feed %s",
                                     graph->weights[index].name, acc_weight_type_name(type),
                                     acc_op_name(node->op));
        }
    }
    return ACC_OK;
}

/* Buffers of the AMX GEMM for the largest matmul it may run: bf16
 * activation rows (hi/lo pairs in SPLIT mode) and a 64-byte aligned
 * scratch per worker. */
static acc_status amx_alloc(cpu_backend *cpu, const acc_graph *graph,
                            const acc_backend_weight *weights, int64_t max_tokens, acc_error *err)
{
    size_t act = 0, scratch = 0;
    for (int i = 0; i < graph->n_nodes; i++) {
        const acc_node *node = &graph->nodes[i];
        if (node->op != ACC_OP_MATMUL)
            continue;
        acc_weight_type type = weights[graph->nodes[node->src[1]].weight].type;
        if (!amx_takes(cpu, type))
            continue;
        int64_t in = graph->nodes[node->src[0]].cols;
        acc_cpu_amx_mode mode = amx_mode(cpu, type);
        size_t a = (size_t)acc_cpu_amx_rows_pad(max_tokens) * acc_cpu_amx_act_stride(in, mode);
        size_t s = (acc_cpu_amx_scratch_bytes(in, mode) + 63) / 64 * 64;
        act = a > act ? a : act;
        scratch = s > scratch ? s : scratch;
    }
    if (!act) {
        cpu->amx = 0;
        return ACC_OK;
    }
    cpu->amx_scratch_stride = scratch;
    size_t total = scratch * (size_t)acc_thread_pool_size(cpu->pool);
    cpu->amx_act = aligned_alloc(64, (act + 63) / 64 * 64);
    cpu->amx_scratch = aligned_alloc(64, total);
    if (!cpu->amx_act || !cpu->amx_scratch)
        return acc_error_set(err, ACC_ERR_RUNTIME,
                             "cpu backend: out of memory for the AMX buffers (%zu bytes)",
                             act + total);
    return ACC_OK;
}

static acc_status cpu_load(acc_backend *backend, const acc_graph *graph, const acc_plan *plan,
                           const acc_backend_weight *weights, acc_error *err)
{
    cpu_backend *cpu = (cpu_backend *)backend;
    if (cpu->graph)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: a graph is already loaded");
    size_t n = (size_t)graph->n_nodes;
    cpu->offsets = acc_malloc(n * sizeof *cpu->offsets, err);
    cpu->data = acc_calloc(n, sizeof *cpu->data, err);
    cpu->weights = acc_calloc((size_t)graph->n_weights, sizeof *cpu->weights, err);
    if (!cpu->offsets || !cpu->data || !cpu->weights)
        return ACC_ERR_RUNTIME;
    memcpy(cpu->offsets, plan->offsets, n * sizeof *cpu->offsets);
    for (int i = 0; i < graph->n_weights; i++) {
        size_t row = acc_weight_row_bytes(weights[i].type, graph->weights[i].cols);
        if (!weights[i].data || row == 0 || weights[i].row_bytes < row)
            return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: weight '%s' not bound",
                                 graph->weights[i].name);
        cpu->weights[i] = weights[i];
    }
    acc_status status = check_weight_uses(cpu, graph, weights, err);
    if (status == ACC_OK)
        status = pack_weights(cpu, graph, err);
    if (status != ACC_OK)
        return status;
    cpu->max_tokens = plan->max_tokens;
    cpu->max_outputs = plan->max_outputs;
    cpu->arena = alloc_floats(plan->arena_size / sizeof(float), "activation arena", err);
    if (!cpu->arena)
        return ACC_ERR_RUNTIME;
    uint64_t slots = (uint64_t)cpu->config.n_kv_blocks * (uint64_t)cpu->config.kv_block_size;
    uint64_t per_layer, total;
    if (acc_mul_overflow_u64(slots, (uint64_t)graph->kv_dim, &per_layer) ||
        acc_mul_overflow_u64(per_layer, (uint64_t)graph->n_layers, &total))
        return acc_error_set(err, ACC_ERR_RUNTIME, "KV cache: size overflows");
    cpu->layer_stride = (size_t)per_layer;
    cpu->k_cache = alloc_floats(total, "KV cache (keys)", err);
    if (!cpu->k_cache)
        return ACC_ERR_RUNTIME;
    cpu->v_cache = alloc_floats(total, "KV cache (values)", err);
    if (!cpu->v_cache)
        return ACC_ERR_RUNTIME;
    cpu->scratch = alloc_floats((uint64_t)acc_thread_pool_size(cpu->pool) *
                                    acc_cpu_attend_scratch(cpu->config.max_context),
                                "attention scratch", err);
    if (!cpu->scratch)
        return ACC_ERR_RUNTIME;
    for (int i = 0; i < graph->n_nodes; i++) {
        const acc_node *node = &graph->nodes[i];
        if (node->op != ACC_OP_MATMUL)
            continue;
        acc_weight_type type = weights[graph->nodes[node->src[1]].weight].type;
        size_t bytes = (size_t)plan->max_tokens *
                       acc_cpu_act_row_bytes(type, graph->nodes[node->src[0]].cols);
        if (bytes > cpu->act_bytes)
            cpu->act_bytes = bytes;
    }
    if (cpu->act_bytes) {
        cpu->act = acc_malloc(cpu->act_bytes, err);
        if (!cpu->act)
            return ACC_ERR_RUNTIME;
    }
    if (cpu->amx && plan->max_tokens >= ACC_CPU_AMX_MIN_ROWS) {
        status = amx_alloc(cpu, graph, weights, plan->max_tokens, err);
        if (status != ACC_OK)
            return status;
    } else {
        cpu->amx = 0;
    }
    cpu->graph = graph;
    return ACC_OK;
}

static acc_status cpu_copy_kv_block(acc_backend *backend, int from_block, int to_block,
                                    acc_error *err)
{
    cpu_backend *cpu = (cpu_backend *)backend;
    if (!cpu->graph || from_block < 0 || to_block < 0 || from_block >= cpu->config.n_kv_blocks ||
        to_block >= cpu->config.n_kv_blocks)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cpu backend: bad KV block copy %d -> %d",
                             from_block, to_block);
    size_t block_floats = (size_t)cpu->config.kv_block_size * (size_t)cpu->graph->kv_dim;
    for (int layer = 0; layer < cpu->graph->n_layers; layer++) {
        size_t base = (size_t)layer * cpu->layer_stride;
        memcpy(cpu->k_cache + base + (size_t)to_block * block_floats,
               cpu->k_cache + base + (size_t)from_block * block_floats,
               block_floats * sizeof(float));
        memcpy(cpu->v_cache + base + (size_t)to_block * block_floats,
               cpu->v_cache + base + (size_t)from_block * block_floats,
               block_floats * sizeof(float));
    }
    return ACC_OK;
}

static acc_status cpu_synchronize(acc_backend *backend, acc_error *err)
{
    (void)backend;
    (void)err;
    return ACC_OK;
}

const acc_backend_ops acc_backend_cpu_ops = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .load = cpu_load,
    .run = cpu_run,
    .copy_kv_block = cpu_copy_kv_block,
    .synchronize = cpu_synchronize,
};
