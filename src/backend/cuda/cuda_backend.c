/*
 * cuda_backend.c — the CUDA implementation of acc_backend_ops: weights
 * uploaded once (matmul weights and embedding tables in bf16/f16, or f32
 * for "cuda-f32"), an activation arena laid out by the schedule's plan, the
 * paged KV cache (f16, or f32 for "cuda-f32"), and an executor that walks
 * the fused operations of cuda_schedule.c on one stream: for 16-bit weights the GEMV kernels of
 * cuda_gemv.cu when a step has at most 8 rows (decode), cuBLAS otherwise;
 * tiled tensor-core attention for prefill steps, per-token (split-K for
 * long contexts) attention for decode; the kernels of cuda_kernels.cu for
 * the rest.
 *
 * Matmul weights and embedding tables in q8_0/q4_0/q4_K/q6_K stay in
 * their ggml blocks ("cuda"; see the quantized-weights section and
 * cuda_quant.cu), and run_sample picks tokens on the device
 * (cuda_sample.cu) so only ids come back.
 *
 * Every step's inputs (token ids, positions, slots, block tables) are
 * checked on the host and uploaded in one copy; run() returns after the
 * output rows are back in host memory.  Every device allocation failure is
 * ACC_ERR_RUNTIME naming what did not fit and the free memory.
 */
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_gemm_lt.h"
#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/cuda_quant.h"
#include "backend/cuda/cuda_sample.h"
#include "backend/cuda/cuda_schedule.h"

#include "accinf/quant.h"
#include "accinf/tensor.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cuda_weight {
    void *data;
    int view; /* data points inside a fused buffer another weight owns (not freed) */
    acc_cuda_dtype dtype;
    acc_cuda_qtype qtype; /* ggml blocks as stored (then dtype is the 16-bit type the
                             prefill dequantizes to); ACC_CUDA_QNONE: plain dtype */
} cuda_weight;

/* Regions of the per-step upload, in int32 elements from its start. */
typedef struct step_layout {
    size_t tokens, positions, slots, token_seq, output_rows, tables, tiles, total;
    int n_tiles;   /* prefill attention tiles (flash steps only) */
    int flash;     /* attention runs tiled on the tensor cores */
    int split_key; /* ceil(longest context / SPLIT_KEYS), capped: how far decode attention splits */
} step_layout;

/* Decode steps are launch-bound: their kernels are captured once per shape
 * into a CUDA graph and replayed.  Every kernel argument is fixed by
 * (tokens, outputs, sequences, split key); what varies per step (ids,
 * positions, slots, block tables) is read from the step buffer, which is
 * uploaded before the replay.  Prefill (tiled attention) is not captured. */
#define GRAPH_MAX_TOKENS 256
#define GRAPH_CACHE 64
#define SPLIT_KEYS 64 /* keys per split of decode attention, before capping */
#define SPLIT_MAX 32
#define FLASH_TILE 64 /* query rows per tile of the tiled attention */

/* Matmuls of one schedule operation whose weights were uploaded into one
 * buffer, row blocks adjacent: prefill steps run them as one GEMM. */
typedef struct fused_mm {
    void *base;    /* NULL: not fused */
    int64_t n_out; /* rows of the fused matrix */
    int to16;      /* outputs only read by SwiGLU, or by one attention's rope_kv */
} fused_mm;

typedef struct step_graph {
    int n_tokens, n_outputs, n_seqs, split_key;
    cudaGraphExec_t exec;
} step_graph;

/* ACCINF_CUDA_PROFILE set: every operation is timed with events (graphs
 * off) and the totals per kind go to stderr when the backend is destroyed. */
enum {
    PROF_GEMV,
    PROF_GEMM,
    PROF_ATTN_TILED,
    PROF_ATTN_DECODE,
    PROF_ADD_NORM,
    PROF_NODE, /* + acc_op */
    PROF_KINDS = PROF_NODE + ACC_OP_COUNT,
};

/* Totals are kept per step shape — (tiled prefill or not, rows) — so a
 * run's prompt steps and its decode steps of 128 rows read apart; shapes
 * beyond PROF_SHAPES - 1 share the last entry. */
#define PROF_SHAPES 12
typedef struct cuda_profile {
    int on;
    cudaEvent_t *events; /* n_ops + 1 */
    int *kind;           /* per op, this step */
    int shape;           /* this step's entry */
    int n_shapes;
    int flash[PROF_SHAPES], rows[PROF_SHAPES]; /* rows -1: the other shapes */
    double ms[PROF_SHAPES][PROF_KINDS];
    long calls[PROF_SHAPES][PROF_KINDS];
    double step_ms[PROF_SHAPES];
    long steps[PROF_SHAPES];
} cuda_profile;

typedef struct cuda_backend {
    acc_backend base;
    acc_backend_config config;
    int exact; /* "cuda-f32": f32 weights, pedantic cuBLAS */
    cudaStream_t stream;
    cublasHandle_t cublas;
    acc_cuda_lt lt; /* cuBLASLt plans per GEMM shape ("cuda" only) */
    fused_mm *fused;     /* per schedule op */
    void *mm16;          /* fused matmuls' outputs: max_tokens x widest fused n_out */
    int64_t mm16_widest;
    acc_cuda_dtype mm16_dtype; /* f16 for f16 weights; f32 for bf16 (8-bit mantissas would
                                  round q, k, v, gate and up once more than the f32 path) */
    int mm16_node;       /* first matmul whose outputs mm16 holds this step (-1: none) */
    int64_t mm16_stride; /* values per row there */
    unsigned char *f32_needed; /* per node: something reads its f32 output */
    const acc_graph *graph;
    size_t *offsets;
    int64_t max_tokens, max_outputs;
    cuda_weight *weights; /* per graph weight */
    acc_cuda_dtype matrix_dtype;
    cuda_schedule schedule; /* fused operations and the arena plan */
    char *arena;
    float *output;   /* max_outputs x output cols */
    void *x16[2];    /* matmul inputs in matrix_dtype, used in turn */
    int x16_node[2]; /* node whose rows each holds (-1: none) */
    int x16_next;
    float *partial; /* split-K attention partial results */
    size_t partial_floats;
    int *attn_counters; /* split-K: blocks done per (token, head block); 4 x SMs */
    int sm_count;
    int min_heads; /* fewest attention blocks per token of an attention node (graph keys) */
    int pdl;       /* decode GEMVs and add + RMSNorm launch as programmatic dependents (sm_90) */
    int flash_variant; /* ACCINF_CUDA_FLASH_VARIANT: tiled attention kernel (0: default) */
    /* n_layers x slots x kv_dim: f16 on "cuda" (half the attention bytes;
     * the tiled prefill reads f16 tiles), f32 on "cuda-f32" (exact) */
    void *k_cache, *v_cache;
    size_t kv_elem;      /* bytes per cache value: 2 or 4 */
    size_t layer_stride; /* values per layer */
    float *inv_freq;
    int table_stride;                 /* block-table entries per sequence */
    int32_t *step_device, *step_host; /* host side is pinned */
    size_t step_capacity;             /* int32 elements */
    void **data;                      /* per node, for the current step */
    unsigned char *feeds_matmul;      /* per node: some MATMUL reads it as its input */
    size_t device_bytes;              /* allocated so far, for messages */
    step_graph graphs[GRAPH_CACHE];
    int n_graphs;
    int graphs_off; /* a capture failed: run small steps directly */
    cuda_profile prof;
    /* GPU sampling (cuda_run_sample), allocated on first use: per output
     * row its parameters and chosen id, on the device and pinned */
    acc_cuda_sample_params *sample_params_dev, *sample_params_host;
    int32_t *sample_tokens_dev, *sample_tokens_host;
    /* Quantized weights ("cuda" only): the engine's block-typed host
     * matrices, per graph weight, while loading (NULL entries: plain);
     * and the 16-bit scratch a prefill matmul dequantizes one into. */
    const acc_backend_weight *quant_src;
    void *qscratch;
} cuda_backend;

static acc_status cuda_fail(acc_error *err, const char *what, cudaError_t code)
{
    return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: %s: %s", what,
                         cudaGetErrorString(code));
}

/* cudaMalloc with an out-of-memory error that says what and how much. */
static void *cuda_alloc(cuda_backend *cb, size_t bytes, const char *what, acc_error *err)
{
    void *ptr = NULL;
    cudaError_t code = cudaMalloc(&ptr, bytes ? bytes : 1);
    if (code == cudaSuccess) {
        cb->device_bytes += bytes;
        return ptr;
    }
    (void)cudaGetLastError(); /* an allocation failure is not sticky; clear it */
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    if (code == cudaErrorMemoryAllocation)
        acc_error_set(err, ACC_ERR_RUNTIME,
                      "cuda backend: out of device memory allocating %s (%.1f MiB; %.1f MiB "
                      "already allocated, %.1f MiB free of %.1f MiB)",
                      what, (double)bytes / 1048576.0, (double)cb->device_bytes / 1048576.0,
                      (double)free_bytes / 1048576.0, (double)total_bytes / 1048576.0);
    else
        cuda_fail(err, what, code);
    return NULL;
}

static int cuda_mul_size(uint64_t a, uint64_t b, uint64_t c, size_t *out)
{
    uint64_t ab, abc;
    if (acc_mul_overflow_u64(a, b, &ab) || acc_mul_overflow_u64(ab, c, &abc) || abc > SIZE_MAX)
        return -1;
    *out = (size_t)abc;
    return 0;
}

static const char *profile_name(int kind)
{
    static const char *names[PROF_NODE] = {"matmul (GEMV)", "matmul (cuBLAS)", "attention (tiled)",
                                           "attention (per token)", "add + rms_norm"};
    return kind < PROF_NODE ? names[kind] : acc_op_name((acc_op)(kind - PROF_NODE));
}

static void profile_report(cuda_backend *cb)
{
    cuda_profile *p = &cb->prof;
    for (int ph = 0; ph < p->n_shapes && p->on; ph++) {
        if (!p->steps[ph])
            continue;
        double total = 0.0;
        for (int k = 0; k < PROF_KINDS; k++)
            total += p->ms[ph][k];
        char rows[32];
        if (p->rows[ph] < 0)
            snprintf(rows, sizeof rows, "other");
        else
            snprintf(rows, sizeof rows, "%d-row", p->rows[ph]);
        fprintf(stderr,
                "cuda profile (%s, %s %s steps): %ld steps, %.3f ms in operations, %.3f ms from "
                "the first event to the last (%.3f ms per step)\n",
                cb->exact ? "cuda-f32" : "cuda", rows,
                p->flash[ph] ? "prefill (tiled attention)" : "decode / per-token attention",
                p->steps[ph], total, p->step_ms[ph], p->step_ms[ph] / (double)p->steps[ph]);
        for (int k = 0; k < PROF_KINDS; k++)
            if (p->calls[ph][k])
                fprintf(stderr, "  %-22s %7ld calls %10.3f ms %5.1f%%\n", profile_name(k),
                        p->calls[ph][k], p->ms[ph][k],
                        total > 0 ? 100.0 * p->ms[ph][k] / total : 0.0);
    }
    if (p->events) {
        for (int i = 0; i <= cb->schedule.n_ops; i++)
            if (p->events[i])
                cudaEventDestroy(p->events[i]);
    }
    free(p->events);
    free(p->kind);
    p->events = NULL;
}

static void cuda_destroy(acc_backend *backend)
{
    cuda_backend *cb = (cuda_backend *)backend;
    if (!cb)
        return;
    if (cb->stream)
        (void)cudaStreamSynchronize(cb->stream);
    for (int i = 0; i < cb->n_graphs; i++)
        cudaGraphExecDestroy(cb->graphs[i].exec);
    profile_report(cb);
    if (cb->weights && cb->graph) {
        for (int i = 0; i < cb->graph->n_weights; i++)
            if (!cb->weights[i].view)
                cudaFree(cb->weights[i].data);
    }
    acc_cuda_lt_destroy(&cb->lt);
    cudaFree(cb->mm16);
    free(cb->fused);
    free(cb->f32_needed);
    free(cb->weights);
    cudaFree(cb->arena);
    cudaFree(cb->output);
    cudaFree(cb->x16[0]);
    cudaFree(cb->x16[1]);
    cudaFree(cb->partial);
    cudaFree(cb->attn_counters);
    cuda_schedule_free(&cb->schedule);
    cudaFree(cb->k_cache);
    cudaFree(cb->v_cache);
    cudaFree(cb->inv_freq);
    cudaFree(cb->step_device);
    if (cb->step_host)
        cudaFreeHost(cb->step_host);
    if (cb->cublas)
        cublasDestroy(cb->cublas);
    if (cb->stream)
        cudaStreamDestroy(cb->stream);
    free(cb->offsets);
    free(cb->data);
    free(cb->feeds_matmul);
    cudaFree(cb->qscratch);
    cudaFree(cb->sample_params_dev);
    cudaFree(cb->sample_tokens_dev);
    if (cb->sample_params_host)
        cudaFreeHost(cb->sample_params_host);
    if (cb->sample_tokens_host)
        cudaFreeHost(cb->sample_tokens_host);
    free(cb);
}

static acc_status cuda_create_common(const acc_backend_config *config, int exact,
                                     const acc_backend_ops *ops, acc_backend **out, acc_error *err)
{
    *out = NULL;
    if (config->n_kv_blocks < 1 || config->kv_block_size < 1 || config->max_context < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "cuda backend: bad configuration");
    int devices = 0;
    cudaError_t code = cudaGetDeviceCount(&devices);
    if (code != cudaSuccess) {
        (void)cudaGetLastError();
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: no usable CUDA device (%s)",
                             cudaGetErrorString(code));
    }
    if (devices < 1)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: no CUDA device found");
    cuda_backend *cb = acc_calloc(1, sizeof *cb, err);
    if (!cb)
        return ACC_ERR_RUNTIME;
    cb->base.ops = ops;
    cb->config = *config;
    cb->exact = exact;
    cb->prof.on = getenv("ACCINF_CUDA_PROFILE") != NULL;
    int major = 0;
    cb->pdl = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess &&
              major >= 9 && getenv("ACCINF_CUDA_NO_PDL") == NULL;
    (void)cudaGetLastError();
    const char *variant = getenv("ACCINF_CUDA_FLASH_VARIANT");
    cb->flash_variant = variant ? atoi(variant) : 0;
    /* cuBLASLt algorithms timed per GEMM shape of <= 256 rows
     * (cuda_gemm_lt.c); ACCINF_CUDA_LT_TUNE "0" keeps the heuristic's first
     * everywhere, as before, "2" times every shape */
    const char *tune = getenv("ACCINF_CUDA_LT_TUNE");
    cb->lt.tune = !tune ? 1 : strcmp(tune, "0") == 0 ? 0 : strcmp(tune, "2") == 0 ? 2 : 1;
    acc_status status = ACC_OK;
    if ((code = cudaStreamCreateWithFlags(&cb->stream, cudaStreamNonBlocking)) != cudaSuccess)
        status = cuda_fail(err, "creating a stream", code);
    else if (cublasCreate(&cb->cublas) != CUBLAS_STATUS_SUCCESS)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLAS initialisation failed");
    else if (cublasSetStream(cb->cublas, cb->stream) != CUBLAS_STATUS_SUCCESS ||
             cublasSetMathMode(cb->cublas, exact ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH) !=
                 CUBLAS_STATUS_SUCCESS)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLAS setup failed");
    else if (!exact && cublasLtCreate(&cb->lt.handle) != CUBLAS_STATUS_SUCCESS)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLASLt initialisation failed");
    else if (!exact &&
             !(cb->lt.workspace = cuda_alloc(cb, ACC_CUDA_LT_WORKSPACE, "cuBLAS workspace", err)))
        status = ACC_ERR_RUNTIME;
    else if (!exact && cublasSetWorkspace(cb->cublas, cb->lt.workspace, ACC_CUDA_LT_WORKSPACE) !=
                           CUBLAS_STATUS_SUCCESS)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLAS workspace failed");
    if (status == ACC_OK && (code = cudaDeviceGetAttribute(
                                 &cb->sm_count, cudaDevAttrMultiProcessorCount, 0)) != cudaSuccess)
        status = cuda_fail(err, "reading the device's multiprocessor count", code);
    if (status != ACC_OK) {
        cuda_destroy(&cb->base);
        return status;
    }
    *out = &cb->base;
    return ACC_OK;
}

static acc_status cuda_create(const acc_backend_config *config, acc_backend **out, acc_error *err)
{
    return cuda_create_common(config, 0, &acc_backend_cuda_ops, out, err);
}

static acc_status cuda_create_f32(const acc_backend_config *config, acc_backend **out,
                                  acc_error *err)
{
    return cuda_create_common(config, 1, &acc_backend_cuda_f32_ops, out, err);
}

/* Which weights are matrices (matmul operands, embedding tables) that may
 * live in 16 bits; norms' weights and biases stay f32. */
static void mark_matrix_weights(const acc_graph *g, unsigned char *is_matrix)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        int src = node->op == ACC_OP_MATMUL  ? node->src[1]
                  : node->op == ACC_OP_EMBED ? node->src[0]
                                             : -1;
        if (src >= 0 && g->nodes[src].op == ACC_OP_WEIGHT)
            is_matrix[g->nodes[src].weight] = 1;
    }
}

/* bf16 when every matrix value is an exact bf16 (bf16-stored models),
 * else f16 when every value is an exact, finite f16 (f16-stored models),
 * else bf16 (rounded: the range of f32 matters more than its digits). */
/* Host-side passes over the weights (an 8B model has 8e9 values) run on
 * the engine's threads: each job takes a range, checking exactness or
 * converting to 16 bits. */
typedef struct convert_job {
    const float *src;
    uint16_t *dst; /* NULL: check only */
    size_t begin, end;
    acc_cuda_dtype dtype;
    int all_bf16, all_f16;
    pthread_t thread;
} convert_job;

#define CONVERT_MAX_THREADS 64

static void *convert_range(void *arg)
{
    convert_job *job = arg;
    const float *x = job->src;
    if (job->dst) {
        for (size_t i = job->begin; i < job->end; i++)
            job->dst[i] =
                job->dtype == ACC_CUDA_BF16 ? acc_f32_to_bf16(x[i]) : acc_f32_to_f16(x[i]);
        return NULL;
    }
    for (size_t i = job->begin; i < job->end && (job->all_bf16 || job->all_f16); i++) {
        if (job->all_bf16 && acc_bf16_to_f32(acc_f32_to_bf16(x[i])) != x[i])
            job->all_bf16 = 0;
        if (job->all_f16 && acc_f16_to_f32(acc_f32_to_f16(x[i])) != x[i])
            job->all_f16 = 0;
    }
    return NULL;
}

/* Runs convert_range over [0, n) on up to `threads` threads (inline when a
 * thread cannot start); *all_bf16 / *all_f16 are and-ed with the checks. */
static void convert_parallel(int threads, const float *src, uint16_t *dst, size_t n,
                             acc_cuda_dtype dtype, int *all_bf16, int *all_f16)
{
    convert_job jobs[CONVERT_MAX_THREADS];
    int t = threads < 1 ? 1 : threads > CONVERT_MAX_THREADS ? CONVERT_MAX_THREADS : threads;
    if (n < ((size_t)1 << 20))
        t = 1;
    int started[CONVERT_MAX_THREADS] = {0};
    for (int i = 0; i < t; i++) {
        jobs[i] = (convert_job){.src = src,
                                .dst = dst,
                                .begin = n / (size_t)t * (size_t)i,
                                .end = i == t - 1 ? n : n / (size_t)t * (size_t)(i + 1),
                                .dtype = dtype,
                                .all_bf16 = *all_bf16,
                                .all_f16 = *all_f16};
        if (i > 0)
            started[i] = pthread_create(&jobs[i].thread, NULL, convert_range, &jobs[i]) == 0;
    }
    convert_range(&jobs[0]);
    for (int i = 1; i < t; i++) {
        if (started[i])
            pthread_join(jobs[i].thread, NULL);
        else
            convert_range(&jobs[i]);
    }
    for (int i = 0; i < t; i++) {
        *all_bf16 &= jobs[i].all_bf16;
        *all_f16 &= jobs[i].all_f16;
    }
}

/* bf16 when every matrix value is an exact bf16 (bf16-stored models),
 * else f16 when every value is an exact, finite f16 (f16-stored models),
 * else bf16 (rounded: the range of f32 matters more than its digits). */
static acc_cuda_dtype choose_matrix_dtype(const acc_graph *g, const unsigned char *is_matrix,
                                          const float *const *weights, int threads)
{
    int all_bf16 = 1, all_f16 = 1, plain = 0;
    for (int w = 0; w < g->n_weights && (all_bf16 || all_f16); w++) {
        if (!is_matrix[w] || !weights[w])
            continue; /* quantized matrices (no f32 copy) do not vote */
        plain++;
        size_t n = (size_t)(g->weights[w].rows * g->weights[w].cols);
        convert_parallel(threads, weights[w], NULL, n, ACC_CUDA_F32, &all_bf16, &all_f16);
    }
    if (!plain)
        return ACC_CUDA_F16; /* only quantized matrices: f16 keeps 3 more bits of d * q */
    if (all_bf16)
        return ACC_CUDA_BF16;
    return all_f16 ? ACC_CUDA_F16 : ACC_CUDA_BF16;
}

#define STAGING_BYTES ((size_t)64 << 20)

/* Converts one f32 host weight to dtype through a pinned staging buffer
 * and copies it to the device. */
static acc_status upload_weight(cuda_backend *cb, const float *src, size_t n, acc_cuda_dtype dtype,
                                void *dst, void *staging, acc_error *err)
{
    size_t elem = dtype == ACC_CUDA_F32 ? 4 : 2;
    size_t chunk = STAGING_BYTES / elem;
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t count = n - i0 < chunk ? n - i0 : chunk;
        if (dtype == ACC_CUDA_F32) {
            memcpy(staging, src + i0, count * 4);
        } else {
            int unused_bf16 = 0, unused_f16 = 0;
            convert_parallel(cb->config.threads, src + i0, staging, count, dtype, &unused_bf16,
                             &unused_f16);
        }
        cudaError_t code = cudaMemcpyAsync((char *)dst + i0 * elem, staging, count * elem,
                                           cudaMemcpyHostToDevice, cb->stream);
        if (code == cudaSuccess)
            code = cudaStreamSynchronize(cb->stream);
        if (code != cudaSuccess)
            return cuda_fail(err, "uploading weights", code);
    }
    return ACC_OK;
}

static acc_status upload_quant_weight(cuda_backend *cb, const acc_weight_source *ws,
                                      const acc_backend_weight *src, cuda_weight *dst,
                                      void *staging, acc_error *err);

/* The weight index behind a matmul node. */
static int mm_weight(const acc_graph *g, int mm)
{
    return g->nodes[g->nodes[mm].src[1]].weight;
}

/* Whether matmul node mm has a plain (not block-typed) 16-bit weight that
 * nothing else uses. */
static int mm_plain_private(const cuda_backend *cb, const acc_graph *g, const int *uses, int mm)
{
    const acc_node *node = &g->nodes[mm];
    int w = mm_weight(g, mm);
    return node->src[2] < 0 && uses[w] == 1 && !(cb->quant_src && cb->quant_src[w].data) &&
           (g->weights[w].rows * g->weights[w].cols) % 64 == 0 && mm != g->output;
}

/* Decides which schedule operations run as one GEMM with 16-bit outputs
 * on prefill steps: gate|up ending in SwiGLU, and q|k|v read only by one
 * attention's RoPE + KV store (rope_kv reads them in 16 bits, strided).
 * Their weights are uploaded into one buffer (upload_weights); the GEMV
 * of decode steps reads the same matrices through per-matmul pointers. */
static acc_status plan_fused(cuda_backend *cb, const acc_graph *g, acc_error *err)
{
    const cuda_schedule *sc = &cb->schedule;
    int n = g->n_nodes;
    int *readers = acc_calloc((size_t)n + 1, sizeof *readers, err);
    int *uses = acc_calloc((size_t)g->n_weights + 1, sizeof *uses, err);
    cb->fused = acc_calloc((size_t)sc->n_ops + 1, sizeof *cb->fused, err);
    cb->f32_needed = acc_malloc((size_t)n + 1, err);
    if (!readers || !uses || !cb->fused || !cb->f32_needed) {
        free(readers);
        free(uses);
        return ACC_ERR_RUNTIME;
    }
    memset(cb->f32_needed, 1, (size_t)n + 1);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 3; s++) {
            int src = g->nodes[i].src[s];
            if (src < 0)
                continue;
            readers[src]++;
            if (g->nodes[src].op == ACC_OP_WEIGHT)
                uses[g->nodes[src].weight]++;
        }
    int64_t widest = 0;
    for (int p = 0; p < sc->n_ops && !cb->exact; p++) {
        const cuda_op *op = &sc->ops[p];
        if (op->kind != CUDA_OP_MATMULS || op->n_mm < 2)
            continue;
        int ok = 1;
        int64_t n_out = 0;
        for (int i = 0; i < op->n_mm && ok; i++) {
            ok = mm_plain_private(cb, g, uses, op->mm[i]);
            n_out += g->nodes[op->mm[i]].cols;
        }
        if (!ok)
            continue;
        int to16 = 0;
        if (op->swiglu >= 0 && op->n_mm == 2 &&
            g->nodes[op->mm[0]].cols == g->nodes[op->mm[1]].cols) {
            to16 = 1;
            /* SwiGLU's f32 output is skipped when its one reader is the
             * next operation's 16-bit matmul (which finds the 16-bit copy) */
            int sw = op->swiglu;
            const cuda_op *next = p + 1 < sc->n_ops ? &sc->ops[p + 1] : NULL;
            if (readers[sw] == 1 && sw != g->output && next && next->kind == CUDA_OP_MATMULS &&
                g->nodes[next->mm[0]].src[0] == sw) {
                int plain = 1;
                for (int i = 0; i < next->n_mm; i++)
                    plain &= !(cb->quant_src && cb->quant_src[mm_weight(g, next->mm[i])].data);
                if (plain)
                    cb->f32_needed[sw] = 0;
            }
        } else if (op->swiglu < 0 && op->n_mm == 3) {
            for (int a = 0; a < sc->n_ops && !to16; a++) {
                const cuda_op *at = &sc->ops[a];
                if (at->kind != CUDA_OP_ATTENTION || at->rope_q < 0)
                    continue;
                const acc_node *node = &g->nodes[at->node];
                int k_src = at->rope_k >= 0 ? g->nodes[at->rope_k].src[0] : node->src[1];
                int64_t q_cols = (int64_t)node->n_heads * node->head_dim;
                int64_t kv_cols = (int64_t)node->n_kv_heads * node->head_dim;
                to16 = g->nodes[at->rope_q].src[0] == op->mm[0] && k_src == op->mm[1] &&
                       node->src[2] == op->mm[2] && readers[op->mm[0]] == 1 &&
                       readers[op->mm[1]] == 1 && readers[op->mm[2]] == 1 &&
                       g->nodes[op->mm[0]].cols == q_cols && g->nodes[op->mm[1]].cols == kv_cols &&
                       g->nodes[op->mm[2]].cols == kv_cols;
            }
        }
        if (!to16)
            continue;
        cb->fused[p].n_out = n_out;
        cb->fused[p].to16 = 1;
        if (n_out > widest)
            widest = n_out;
    }
    /* a norm or an attention whose only readers are the next operation's
     * 16-bit matmuls: they find its 16-bit copy, so its f32 output is not
     * written (attention: by the tiled kernel only) */
    for (int p = 0; p + 1 < sc->n_ops && !cb->exact; p++) {
        const cuda_op *op = &sc->ops[p], *next = &sc->ops[p + 1];
        int node = op->node;
        if ((op->kind != CUDA_OP_ADD_NORM && op->kind != CUDA_OP_ATTENTION) ||
            next->kind != CUDA_OP_MATMULS || node == g->output ||
            g->nodes[next->mm[0]].src[0] != node || readers[node] != next->n_mm)
            continue;
        int plain = 1;
        for (int i = 0; i < next->n_mm; i++)
            plain &= !(cb->quant_src && cb->quant_src[mm_weight(g, next->mm[i])].data);
        if (plain)
            cb->f32_needed[node] = 0;
    }
    free(readers);
    free(uses);
    cb->mm16_widest = widest;
    return ACC_OK;
}

/* The fused matmuls' output scratch, once the matrix type is known. */
static acc_status alloc_mm16(cuda_backend *cb, acc_error *err)
{
    cb->mm16_dtype = cb->matrix_dtype == ACC_CUDA_F16 ? ACC_CUDA_F16 : ACC_CUDA_F32;
    size_t bytes;
    if (cb->mm16_widest <= 0)
        return ACC_OK;
    if (cuda_mul_size((uint64_t)cb->max_tokens, (uint64_t)cb->mm16_widest,
                      cb->mm16_dtype == ACC_CUDA_F16 ? 2 : 4, &bytes))
        return acc_error_set(err, ACC_ERR_RUNTIME, "fused matmul outputs: size overflows");
    cb->mm16 = cuda_alloc(cb, bytes, "outputs of fused matmuls", err);
    return cb->mm16 ? ACC_OK : ACC_ERR_RUNTIME;
}

/* Uploads the weights of each fused operation into one buffer, row blocks
 * in matmul order; marks them in `done`. */
static acc_status upload_fused(cuda_backend *cb, const acc_graph *g, const float *const *weights,
                               void *staging, unsigned char *done, acc_error *err)
{
    for (int p = 0; cb->fused && p < cb->schedule.n_ops; p++) {
        fused_mm *f = &cb->fused[p];
        const cuda_op *op = &cb->schedule.ops[p];
        if (!f->n_out)
            continue;
        int64_t in = g->weights[mm_weight(g, op->mm[0])].cols;
        size_t bytes;
        if (cuda_mul_size((uint64_t)f->n_out, (uint64_t)in, 2, &bytes))
            return acc_error_set(err, ACC_ERR_RUNTIME, "fused weights: size overflows");
        f->base = cuda_alloc(cb, bytes, g->weights[mm_weight(g, op->mm[0])].name, err);
        if (!f->base)
            return ACC_ERR_RUNTIME;
        size_t offset = 0;
        for (int i = 0; i < op->n_mm; i++) {
            int w = mm_weight(g, op->mm[i]);
            const acc_weight_source *ws = &g->weights[w];
            size_t count = (size_t)ws->rows * (size_t)ws->cols;
            cb->weights[w].dtype = cb->matrix_dtype;
            cb->weights[w].data = (char *)f->base + offset * 2;
            cb->weights[w].view = i > 0; /* the first owns the buffer */
            done[w] = 1;
            acc_status status =
                upload_weight(cb, weights[w], count, cb->matrix_dtype, cb->weights[w].data,
                              staging, err);
            if (status != ACC_OK)
                return status;
            offset += count;
        }
    }
    return ACC_OK;
}

static acc_status upload_weights(cuda_backend *cb, const acc_graph *g, const float *const *weights,
                                 acc_error *err)
{
    unsigned char *is_matrix = acc_calloc((size_t)g->n_weights + 1, 1, err);
    if (!is_matrix)
        return ACC_ERR_RUNTIME;
    mark_matrix_weights(g, is_matrix);
    cb->matrix_dtype =
        cb->exact ? ACC_CUDA_F32 : choose_matrix_dtype(g, is_matrix, weights, cb->config.threads);
    void *staging = NULL;
    cudaError_t code = cudaMallocHost(&staging, STAGING_BYTES);
    if (code != cudaSuccess) {
        free(is_matrix);
        return cuda_fail(err, "pinned staging buffer", code);
    }
    unsigned char *done = acc_calloc((size_t)g->n_weights + 1, 1, err);
    acc_status status =
        done ? upload_fused(cb, g, weights, staging, done, err) : ACC_ERR_RUNTIME;
    for (int w = 0; w < g->n_weights && status == ACC_OK; w++) {
        const acc_weight_source *ws = &g->weights[w];
        if (done[w])
            continue;
        acc_cuda_dtype dtype = is_matrix[w] ? cb->matrix_dtype : ACC_CUDA_F32;
        size_t n, bytes;
        if (cuda_mul_size((uint64_t)ws->rows, (uint64_t)ws->cols, 1, &n) ||
            cuda_mul_size(n, dtype == ACC_CUDA_F32 ? 4 : 2, 1, &bytes)) {
            status = acc_error_set(err, ACC_ERR_RUNTIME, "weight '%s': size overflows", ws->name);
            break;
        }
        if (is_matrix[w] && cb->quant_src && cb->quant_src[w].data) {
            status = upload_quant_weight(cb, ws, &cb->quant_src[w], &cb->weights[w], staging, err);
            continue;
        }
        cb->weights[w].dtype = dtype;
        cb->weights[w].data = cuda_alloc(cb, bytes, ws->name, err);
        if (!cb->weights[w].data)
            status = ACC_ERR_RUNTIME;
        else
            status = upload_weight(cb, weights[w], n, dtype, cb->weights[w].data, staging, err);
    }
    cudaFreeHost(staging);
    free(is_matrix);
    free(done);
    return status;
}

/* Shapes the kernels rely on, checked once. */
static acc_status check_graph(const acc_graph *g, acc_error *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_ATTENTION &&
            (node->head_dim > ACC_CUDA_MAX_HEAD_DIM || node->n_kv_heads < 1 ||
             node->n_heads % node->n_kv_heads != 0))
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "cuda backend: attention with head_dim %d, %d heads, %d KV "
                                 "heads is not supported (head_dim <= %d)",
                                 node->head_dim, node->n_heads, node->n_kv_heads,
                                 ACC_CUDA_MAX_HEAD_DIM);
        if (node->op == ACC_OP_ROPE && (!g->rope_inv_freq || node->head_dim > g->rope_dims))
            return acc_error_set(err, ACC_ERR_INPUT, "cuda backend: rope without frequencies");
        if (node->op >= ACC_OP_COUNT)
            return acc_error_set(err, ACC_ERR_INPUT, "cuda backend: unknown op %d", node->op);
    }
    return ACC_OK;
}

static acc_status cuda_load_f32(acc_backend *backend, const acc_graph *g, const acc_plan *plan,
                                const float *const *weights, acc_error *err)
{
    cuda_backend *cb = (cuda_backend *)backend;
    if (cb->graph)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: a graph is already loaded");
    acc_status status = check_graph(g, err);
    if (status != ACC_OK)
        return status;
    for (int i = 0; i < g->n_weights; i++)
        if (!weights[i] && !(cb->quant_src && cb->quant_src[i].data))
            return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: weight '%s' not bound",
                                 g->weights[i].name);
    size_t n = (size_t)g->n_nodes;
    cb->offsets = acc_malloc(n * sizeof *cb->offsets, err);
    cb->data = acc_calloc(n, sizeof *cb->data, err);
    cb->weights = acc_calloc((size_t)g->n_weights + 1, sizeof *cb->weights, err);
    cb->feeds_matmul = acc_calloc(n, 1, err);
    if (!cb->offsets || !cb->data || !cb->weights || !cb->feeds_matmul)
        return ACC_ERR_RUNTIME;
    memcpy(cb->offsets, plan->offsets, n * sizeof *cb->offsets);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == ACC_OP_MATMUL)
            cb->feeds_matmul[g->nodes[i].src[0]] = 1;
    cb->graph = g; /* from here on destroy frees the weights */
    cb->max_tokens = plan->max_tokens;
    cb->max_outputs = plan->max_outputs;

    status = cuda_schedule_build(g, 1, plan->max_tokens, plan->max_outputs, &cb->schedule, err);
    if (status == ACC_OK)
        status = plan_fused(cb, g, err);
    if (status == ACC_OK)
        status = upload_weights(cb, g, weights, err);
    if (status == ACC_OK)
        status = alloc_mm16(cb, err);
    if (status != ACC_OK)
        return status;
    memcpy(cb->offsets, cb->schedule.offsets, n * sizeof *cb->offsets);

    /* activations, the output rows and the matmul inputs in 16 bits */
    size_t bytes;
    cb->arena = cuda_alloc(cb, cb->schedule.arena_size, "activation arena", err);
    if (!cb->arena)
        return ACC_ERR_RUNTIME;
    if (cuda_mul_size((uint64_t)plan->max_outputs, (uint64_t)g->nodes[g->output].cols, 4, &bytes))
        return acc_error_set(err, ACC_ERR_RUNTIME, "output buffer: size overflows");
    cb->output = cuda_alloc(cb, bytes, "output buffer", err);
    if (!cb->output)
        return ACC_ERR_RUNTIME;
    int64_t max_in = 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == ACC_OP_MATMUL && g->nodes[g->nodes[i].src[0]].cols > max_in)
            max_in = g->nodes[g->nodes[i].src[0]].cols;
    if (!cb->exact) {
        if (cuda_mul_size((uint64_t)plan->max_tokens, (uint64_t)max_in, 2, &bytes))
            return acc_error_set(err, ACC_ERR_RUNTIME, "matmul input: size overflows");
        for (int b = 0; b < 2; b++) {
            cb->x16[b] = cuda_alloc(cb, bytes, "16-bit matmul input", err);
            if (!cb->x16[b])
                return ACC_ERR_RUNTIME;
        }
    }
    /* split-K partials: splits only while the (token, head block) units
     * are < 2 x SMs, so at most 4 x SMs (head block, token, split) blocks,
     * each with up to 8 heads' results ("cuda"; 1 for "cuda-f32"); one
     * merge counter per unit */
    int max_hd = 1;
    cb->min_heads = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == ACC_OP_ATTENTION) {
            if (g->nodes[i].head_dim > max_hd)
                max_hd = g->nodes[i].head_dim;
            int blocks = g->nodes[i].n_heads /
                         acc_cuda_attention_heads_per_block(g->nodes[i].n_heads,
                                                            g->nodes[i].n_kv_heads, !cb->exact);
            if (cb->min_heads == 0 || blocks < cb->min_heads)
                cb->min_heads = blocks;
        }
    int sms = cb->sm_count > 0 ? cb->sm_count : 1;
    cb->partial_floats = (size_t)(4 * sms * (cb->exact ? 1 : 8)) * (size_t)(max_hd + 2);
    cb->partial = cuda_alloc(cb, cb->partial_floats * sizeof(float), "attention partials", err);
    if (!cb->partial)
        return ACC_ERR_RUNTIME;
    cb->attn_counters = cuda_alloc(cb, (size_t)(4 * sms) * sizeof(int), "attention counters", err);
    if (!cb->attn_counters)
        return ACC_ERR_RUNTIME;
    if (cudaMemset(cb->attn_counters, 0, (size_t)(4 * sms) * sizeof(int)) != cudaSuccess)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: clearing attention counters");

    /* the paged KV cache: per layer K and V each [slots, kv_dim] */
    uint64_t slots = (uint64_t)cb->config.n_kv_blocks * (uint64_t)cb->config.kv_block_size;
    size_t per_layer;
    cb->kv_elem = cb->exact ? sizeof(float) : 2;
    if (cuda_mul_size(slots, (uint64_t)g->kv_dim, 1, &per_layer) ||
        cuda_mul_size(per_layer, (uint64_t)(g->n_layers > 0 ? g->n_layers : 1), cb->kv_elem,
                      &bytes))
        return acc_error_set(err, ACC_ERR_RUNTIME, "KV cache: size overflows");
    cb->layer_stride = per_layer;
    cb->k_cache = cuda_alloc(cb, bytes, "KV cache (keys)", err);
    if (!cb->k_cache)
        return ACC_ERR_RUNTIME;
    cb->v_cache = cuda_alloc(cb, bytes, "KV cache (values)", err);
    if (!cb->v_cache)
        return ACC_ERR_RUNTIME;
    cudaError_t code;
    if (cudaMemsetAsync(cb->k_cache, 0, bytes, cb->stream) != cudaSuccess ||
        (code = cudaMemsetAsync(cb->v_cache, 0, bytes, cb->stream)) != cudaSuccess)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: clearing the KV cache failed");

    if (g->rope_inv_freq && g->rope_dims > 0) {
        size_t freq_bytes = (size_t)(g->rope_dims / 2) * sizeof(float);
        cb->inv_freq = cuda_alloc(cb, freq_bytes, "rope frequencies", err);
        if (!cb->inv_freq)
            return ACC_ERR_RUNTIME;
        if ((code = cudaMemcpy(cb->inv_freq, g->rope_inv_freq, freq_bytes,
                               cudaMemcpyHostToDevice)) != cudaSuccess)
            return cuda_fail(err, "uploading rope frequencies", code);
    }

    /* step inputs: 5 per-token/per-output arrays, the block tables and up
     * to one attention tile (2 entries) per token */
    cb->table_stride =
        (cb->config.max_context + cb->config.kv_block_size - 1) / cb->config.kv_block_size;
    if (cuda_mul_size((uint64_t)plan->max_tokens, (uint64_t)cb->table_stride + 7, 4, &bytes))
        return acc_error_set(err, ACC_ERR_RUNTIME, "step inputs: size overflows");
    cb->step_capacity = bytes / 4;
    cb->step_device = cuda_alloc(cb, bytes, "step inputs", err);
    if (!cb->step_device)
        return ACC_ERR_RUNTIME;
    if ((code = cudaMallocHost((void **)&cb->step_host, bytes)) != cudaSuccess) {
        cb->step_host = NULL;
        return cuda_fail(err, "pinned step inputs", code);
    }
    if ((code = cudaStreamSynchronize(cb->stream)) != cudaSuccess)
        return cuda_fail(err, "loading", code);
    return ACC_OK;
}

/* The engine hands weights over in their stored precision (f32, f16, bf16
 * or a ggml block type).  This backend picks its device precision from the
 * f32 values (see choose_matrix_dtype), so each weight is widened to a
 * temporary f32 host array first; f32 rows already contiguous are used as
 * they are. */
static acc_status weight_to_f32(const acc_weight_source *ws, const acc_backend_weight *w,
                                float **out, int *owned, acc_error *err)
{
    *owned = 0;
    size_t cols = (size_t)ws->cols;
    if (w->type == ACC_WEIGHT_F32 && w->row_bytes == cols * sizeof(float)) {
        *out = (float *)w->data;
        return ACC_OK;
    }
    static const acc_ggml_type ggml_of[ACC_WEIGHT_TYPE_COUNT] = {
        [ACC_WEIGHT_F32] = ACC_GGML_F32,   [ACC_WEIGHT_F16] = ACC_GGML_F16,
        [ACC_WEIGHT_BF16] = ACC_GGML_BF16, [ACC_WEIGHT_Q8_0] = ACC_GGML_Q8_0,
        [ACC_WEIGHT_Q4_0] = ACC_GGML_Q4_0, [ACC_WEIGHT_Q4_K] = ACC_GGML_Q4_K,
        [ACC_WEIGHT_Q6_K] = ACC_GGML_Q6_K, [ACC_WEIGHT_Q5_K] = ACC_GGML_Q5_K,
    };
    if ((unsigned)w->type >= ACC_WEIGHT_TYPE_COUNT)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: weight '%s': unknown type %d",
                             ws->name, (int)w->type);
    float *f32 = acc_malloc((size_t)ws->rows * cols * sizeof(float), err);
    if (!f32)
        return ACC_ERR_RUNTIME;
    for (int64_t r = 0; r < ws->rows; r++) {
        acc_status status =
            acc_dequantize(ggml_of[w->type], (const char *)w->data + (size_t)r * w->row_bytes,
                           f32 + (size_t)r * cols, ws->cols, err);
        if (status != ACC_OK) {
            free(f32);
            return status;
        }
    }
    *out = f32;
    *owned = 1;
    return ACC_OK;
}

static acc_status keep_quantized(acc_backend *backend, const acc_graph *g,
                                 const acc_backend_weight *weights, acc_backend_weight **out,
                                 acc_error *err);
static acc_status alloc_qscratch(cuda_backend *cb, const acc_graph *g, acc_error *err);

static acc_status cuda_load(acc_backend *backend, const acc_graph *g, const acc_plan *plan,
                            const acc_backend_weight *weights, acc_error *err)
{
    size_t n = (size_t)g->n_weights + 1;
    float **f32 = acc_calloc(n, sizeof *f32, err);
    int *owned = acc_calloc(n, sizeof *owned, err);
    acc_backend_weight *quant = NULL;
    acc_status status = f32 && owned ? ACC_OK : ACC_ERR_RUNTIME;
    if (status == ACC_OK)
        status = keep_quantized(backend, g, weights, &quant, err);
    for (int i = 0; i < g->n_weights && status == ACC_OK; i++)
        status = weights[i].data && !(quant && quant[i].data)
                     ? weight_to_f32(&g->weights[i], &weights[i], &f32[i], &owned[i], err)
                     : ACC_OK;
    ((cuda_backend *)backend)->quant_src = quant;
    if (status == ACC_OK)
        status = cuda_load_f32(backend, g, plan, (const float *const *)f32, err);
    if (status == ACC_OK && quant)
        status = alloc_qscratch((cuda_backend *)backend, g, err);
    ((cuda_backend *)backend)->quant_src = NULL;
    free(quant);
    for (int i = 0; f32 && owned && i < g->n_weights; i++)
        if (owned[i])
            free(f32[i]);
    free(f32);
    free(owned);
    return status;
}

/* Whether this step's attention runs tiled: prefill-like steps (more rows
 * than a GEMV takes, several rows per sequence on average) of the 16-bit
 * device. */
static int step_uses_flash(const cuda_backend *cb, const acc_step *step)
{
    return !cb->exact && step->n_tokens > ACC_CUDA_GEMV_MAX_ROWS &&
           step->n_tokens >= 4 * step->n_seqs;
}

/* Checks the step against the plan and the cache and packs its inputs
 * into the pinned buffer: tokens, positions, slots, token_seq,
 * output_rows, then n_seqs block tables of table_stride entries (only the
 * entries the sequence's tokens reach are filled), then for tiled
 * attention the tiles: runs of at most FLASH_TILE consecutive rows of one
 * sequence, as (first row, rows). */
static acc_status pack_step(cuda_backend *cb, const acc_step *step, step_layout *lay,
                            acc_error *err)
{
    int n = step->n_tokens, bs = cb->config.kv_block_size;
    if (n < 1 || n > cb->max_tokens || step->n_outputs < 0 || step->n_outputs > cb->max_outputs ||
        step->n_seqs < 1 || step->n_seqs > n)
        return acc_error_set(err, ACC_ERR_RUNTIME,
                             "cuda backend: step of %d tokens, %d outputs, %d sequences "
                             "exceeds the plan (%lld, %lld)",
                             n, step->n_outputs, step->n_seqs, (long long)cb->max_tokens,
                             (long long)cb->max_outputs);
    int64_t slots = (int64_t)cb->config.n_kv_blocks * bs;
    lay->tokens = 0;
    lay->positions = (size_t)n;
    lay->slots = 2 * (size_t)n;
    lay->token_seq = 3 * (size_t)n;
    lay->output_rows = 4 * (size_t)n;
    lay->tables = 4 * (size_t)n + (size_t)step->n_outputs;
    lay->tiles = lay->tables + (size_t)step->n_seqs * (size_t)cb->table_stride;
    lay->total = lay->tiles;
    lay->flash = step_uses_flash(cb, step);
    lay->n_tiles = 0;
    int32_t *h = cb->step_host;
    for (int t = 0; t < n; t++) {
        if (step->slots[t] < 0 || step->slots[t] >= slots || step->positions[t] < 0 ||
            step->positions[t] >= cb->config.max_context || step->token_seq[t] < 0 ||
            step->token_seq[t] >= step->n_seqs)
            return acc_error_set(err, ACC_ERR_RUNTIME,
                                 "cuda backend: token %d: bad slot, position or sequence", t);
    }
    int max_ctx = 1;
    for (int t = 0; t < n; t++)
        if (step->positions[t] + 1 > max_ctx)
            max_ctx = step->positions[t] + 1;
    lay->split_key = (max_ctx + SPLIT_KEYS - 1) / SPLIT_KEYS;
    if (lay->split_key > SPLIT_MAX)
        lay->split_key = SPLIT_MAX;
    /* steps with enough (head, token) blocks never split (attention_splits):
     * one graph key for all their context lengths, no recapture every
     * SPLIT_KEYS tokens */
    if ((int64_t)n * cb->min_heads >= 2 * (int64_t)cb->sm_count)
        lay->split_key = 1;
    if (lay->tiles + 2 * (size_t)n > cb->step_capacity)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: step inputs exceed the buffer");
    if (lay->flash) {
        int32_t *tiles = h + lay->tiles;
        for (int t = 0; t < n; t++) {
            int k = lay->n_tiles;
            if (k > 0 && step->token_seq[t] == step->token_seq[tiles[2 * (k - 1)]] &&
                tiles[2 * (k - 1) + 1] < FLASH_TILE) {
                tiles[2 * (k - 1) + 1]++;
                continue;
            }
            tiles[2 * k] = t;
            tiles[2 * k + 1] = 1;
            lay->n_tiles++;
        }
        lay->total = lay->tiles + 2 * (size_t)lay->n_tiles;
    }
    memcpy(h + lay->tokens, step->tokens, (size_t)n * 4);
    memcpy(h + lay->positions, step->positions, (size_t)n * 4);
    memcpy(h + lay->slots, step->slots, (size_t)n * 4);
    memcpy(h + lay->token_seq, step->token_seq, (size_t)n * 4);
    for (int r = 0; r < step->n_outputs; r++) {
        if (step->output_rows[r] < 0 || step->output_rows[r] >= n)
            return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: bad output row %d", r);
        h[lay->output_rows + (size_t)r] = step->output_rows[r];
    }
    /* blocks each sequence needs: up to its furthest position */
    int32_t *needed = h + lay->tables; /* reuse: first n_seqs entries as counters */
    int32_t *counts = acc_calloc((size_t)step->n_seqs, sizeof *counts, err);
    if (!counts)
        return ACC_ERR_RUNTIME;
    for (int t = 0; t < n; t++) {
        int32_t blocks = step->positions[t] / bs + 1;
        if (blocks > counts[step->token_seq[t]])
            counts[step->token_seq[t]] = blocks;
    }
    acc_status status = ACC_OK;
    for (int s = 0; s < step->n_seqs && status == ACC_OK; s++) {
        int32_t *row = needed + (size_t)s * (size_t)cb->table_stride;
        for (int b = 0; b < counts[s]; b++) {
            int32_t block = step->block_tables[s][b];
            if (block < 0 || block >= cb->config.n_kv_blocks) {
                status = acc_error_set(err, ACC_ERR_RUNTIME,
                                       "cuda backend: sequence %d: bad KV block %d", s, block);
                break;
            }
            row[b] = block;
        }
    }
    free(counts);
    return status;
}

static acc_status check_token_ids(const acc_graph *g, const acc_step *step, acc_error *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op != ACC_OP_EMBED)
            continue;
        const int32_t *index =
            node->index_by == ACC_EMBED_BY_TOKEN ? step->tokens : step->positions;
        int64_t table_rows = g->nodes[node->src[0]].fixed_rows;
        for (int r = 0; r < step->n_tokens; r++)
            if (index[r] < 0 || index[r] >= table_rows)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "token %d: %s %d is outside the table of %lld rows", r,
                                     node->index_by == ACC_EMBED_BY_TOKEN ? "id" : "position",
                                     index[r], (long long)table_rows);
    }
    return ACC_OK;
}

/* The 16-bit matmul inputs live in two buffers used in turn.  A producer
 * claims one (never `avoid`, the buffer the same kernel reads); a matmul
 * finds its input there or converts it. */
static void *x16_claim(cuda_backend *cb, int node, int avoid)
{
    int b = cb->x16_next;
    if (b == avoid)
        b ^= 1;
    cb->x16_next = b ^ 1;
    cb->x16_node[b] = node;
    return cb->x16[b];
}

static int x16_find(const cuda_backend *cb, int node)
{
    for (int b = 0; b < 2; b++)
        if (cb->x16_node[b] == node)
            return b;
    return -1;
}

/* Where a producer writes the 16-bit copy of its output: only when a
 * matmul reads it and the weights are 16-bit. */
static void *x16_for_output(cuda_backend *cb, int node, int avoid)
{
    return !cb->exact && cb->feeds_matmul[node] ? x16_claim(cb, node, avoid) : NULL;
}

/* y[n, ldc] (first m columns, out_type) = x[n, k] . W[m, k]^T, 16-bit W and
 * x (matrix_dtype), fp32 accumulation: cuBLASLt with the heuristic's
 * algorithm and a 32 MiB workspace, else cublasGemmEx. */
static acc_status gemm_lt(cuda_backend *cb, const void *w, int64_t m, int64_t n, int64_t k,
                          const void *x, void *y, acc_cuda_dtype out_type, int64_t ldc,
                          acc_error *err)
{
    cublasStatus_t st = acc_cuda_lt_matmul(&cb->lt, cb->cublas, cb->stream, w, m, n, k, x, y,
                                           cb->matrix_dtype, out_type, ldc);
    if (st != CUBLAS_STATUS_SUCCESS)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLAS matmul: %s",
                             cublasGetStatusString(st));
    return ACC_OK;
}

static acc_status cublas_matmul(cuda_backend *cb, int mm, int64_t rows, const void *x16,
                                acc_error *err)
{
    const acc_graph *g = cb->graph;
    const acc_node *node = &g->nodes[mm];
    int in_node = node->src[0];
    int64_t in = g->nodes[in_node].cols, out = node->cols;
    const cuda_weight *w = &cb->weights[g->nodes[node->src[1]].weight];
    float *y = cb->data[mm];
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t st;
    /* row-major y[rows, out] = x[rows, in] . W[out, in]^T is, column-major,
     * y^T[out, rows] = W^T . x^T with W read as an [in, out] matrix */
    if (w->dtype == ACC_CUDA_F32) {
        st = cublasSgemm(cb->cublas, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)rows, (int)in, &one,
                         w->data, (int)in, cb->data[in_node], (int)in, &zero, y, (int)out);
    } else {
        acc_status status = gemm_lt(cb, w->data, out, rows, in, x16, y, ACC_CUDA_F32, out, err);
        if (status != ACC_OK)
            return status;
        st = CUBLAS_STATUS_SUCCESS;
    }
    if (st != CUBLAS_STATUS_SUCCESS)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: cuBLAS matmul: %s",
                             cublasGetStatusString(st));
    if (node->src[2] >= 0) {
        int code = acc_cuda_add_bias(y, cb->data[node->src[2]], rows, out, cb->stream);
        if (code)
            return cuda_fail(err, "matmul bias", (cudaError_t)code);
    }
    return ACC_OK;
}

static int op_quantized(const cuda_backend *cb, const cuda_op *op);
static acc_status run_matmuls_quant(cuda_backend *cb, const cuda_op *op, int64_t rows,
                                    acc_error *err);

/* Matmuls sharing one input (and their SwiGLU): one GEMV launch for steps
 * of at most ACC_CUDA_GEMV_MAX_ROWS rows, else cuBLAS per matmul. */
static acc_status run_matmuls(cuda_backend *cb, const cuda_op *op, int64_t rows, acc_error *err)
{
    const acc_graph *g = cb->graph;
    int in_node = g->nodes[op->mm[0]].src[0];
    int64_t in = g->nodes[in_node].cols;
    const cuda_weight *w0 = &cb->weights[g->nodes[g->nodes[op->mm[0]].src[1]].weight];
    int code = 0;
    if (op_quantized(cb, op))
        return run_matmuls_quant(cb, op, rows, err);
    if (w0->dtype == ACC_CUDA_F32) {
        for (int i = 0; i < op->n_mm; i++) {
            acc_status st = cublas_matmul(cb, op->mm[i], rows, NULL, err);
            if (st != ACC_OK)
                return st;
        }
    } else {
        int xb = x16_find(cb, in_node);
        if (xb < 0) {
            void *x16 = x16_claim(cb, in_node, -1);
            xb = x16 == cb->x16[0] ? 0 : 1;
            code = acc_cuda_convert_f32(cb->data[in_node], rows * in, w0->dtype, x16, cb->stream);
            if (code)
                return cuda_fail(err, "matmul input conversion", (cudaError_t)code);
        }
        if (rows <= ACC_CUDA_GEMV_MAX_ROWS) {
            acc_cuda_gemv_args a = {.dtype = w0->dtype,
                                    .x = cb->x16[xb],
                                    .rows = rows,
                                    .in = in,
                                    .n_segs = op->n_mm,
                                    .pdl = cb->pdl};
            for (int i = 0; i < op->n_mm; i++) {
                const acc_node *mm = &g->nodes[op->mm[i]];
                a.seg[i].w = cb->weights[g->nodes[mm->src[1]].weight].data;
                a.seg[i].bias = mm->src[2] >= 0 ? cb->data[mm->src[2]] : NULL;
                a.seg[i].y = cb->data[op->mm[i]];
                a.seg[i].out = mm->cols;
            }
            if (op->swiglu >= 0) {
                a.swiglu = 1;
                a.swiglu_y = cb->data[op->swiglu];
                a.swiglu_y16 = x16_for_output(cb, op->swiglu, xb);
            }
            code = acc_cuda_gemv(&a, 0, cb->stream);
            return code ? cuda_fail(err, "matrix-vector product", (cudaError_t)code) : ACC_OK;
        }
        const fused_mm *f = &cb->fused[op - cb->schedule.ops];
        if (f->base && f->to16) {
            /* one GEMM, 16-bit outputs: SwiGLU or rope_kv reads them */
            acc_status st = gemm_lt(cb, f->base, f->n_out, rows, in, cb->x16[xb], cb->mm16,
                                    cb->mm16_dtype, f->n_out, err);
            if (st != ACC_OK)
                return st;
            cb->mm16_node = op->mm[0];
            cb->mm16_stride = f->n_out;
            if (op->swiglu < 0)
                return ACC_OK;
            int sw = op->swiglu;
            code = acc_cuda_swiglu16(cb->mm16, cb->mm16_dtype, rows, g->nodes[sw].cols,
                                     cb->matrix_dtype,
                                     cb->f32_needed[sw] ? cb->data[sw] : NULL,
                                     x16_for_output(cb, sw, xb), cb->stream);
            return code ? cuda_fail(err, "swiglu", (cudaError_t)code) : ACC_OK;
        }
        for (int i = 0; i < op->n_mm; i++) {
            acc_status st = cublas_matmul(cb, op->mm[i], rows, cb->x16[xb], err);
            if (st != ACC_OK)
                return st;
        }
        if (op->swiglu >= 0) {
            const acc_node *sw = &g->nodes[op->swiglu];
            code = acc_cuda_swiglu(cb->data[sw->src[0]], cb->data[sw->src[1]], cb->data[op->swiglu],
                                   rows * sw->cols, x16_for_output(cb, op->swiglu, xb),
                                   cb->matrix_dtype, cb->stream);
        }
        return code ? cuda_fail(err, "swiglu", (cudaError_t)code) : ACC_OK;
    }
    if (op->swiglu >= 0) {
        const acc_node *sw = &g->nodes[op->swiglu];
        code = acc_cuda_swiglu(cb->data[sw->src[0]], cb->data[sw->src[1]], cb->data[op->swiglu],
                               rows * sw->cols, NULL, cb->matrix_dtype, cb->stream);
    }
    return code ? cuda_fail(err, "swiglu", (cudaError_t)code) : ACC_OK;
}

/* Splits of decode attention for a node: enough (head, token, split)
 * blocks to fill the GPU twice, no more than the context needs. */
static int attention_splits(const cuda_backend *cb, const acc_node *node, int64_t rows,
                            const step_layout *lay)
{
    int64_t units = rows * node->n_heads /
                    acc_cuda_attention_heads_per_block(node->n_heads, node->n_kv_heads, !cb->exact),
            target = 2 * (int64_t)cb->sm_count;
    if (lay->split_key < 2 || units >= target)
        return 1;
    int64_t splits = (target + units - 1) / units;
    if (splits > lay->split_key)
        splits = lay->split_key;
    if ((size_t)(rows * node->n_heads * splits) * (size_t)(node->head_dim + 2) > cb->partial_floats ||
        units > 4 * (int64_t)cb->sm_count)
        return 1;
    return (int)splits;
}

/* RoPE and the KV store in one kernel, then the attention itself. */
static int run_attention(cuda_backend *cb, const cuda_op *op, const step_layout *lay, int64_t rows)
{
    const acc_graph *g = cb->graph;
    const acc_node *node = &g->nodes[op->node];
    size_t layer_bytes = (size_t)node->layer * cb->layer_stride * cb->kv_elem;
    void *k_cache = (char *)cb->k_cache + layer_bytes;
    void *v_cache = (char *)cb->v_cache + layer_bytes;
    const int32_t *d = cb->step_device;
    /* all of the step's K,V first, so its tokens see each other causally */
    acc_cuda_rope_kv_args kv = {
        .q = op->rope_q >= 0 ? cb->data[g->nodes[op->rope_q].src[0]] : NULL,
        .q_out = op->rope_q >= 0 ? cb->data[op->rope_q] : NULL,
        .k = cb->data[op->rope_k >= 0 ? g->nodes[op->rope_k].src[0] : node->src[1]],
        .v = cb->data[node->src[2]],
        .rope_k = op->rope_k >= 0,
        .rows = rows,
        .n_heads = node->n_heads,
        .n_kv_heads = node->n_kv_heads,
        .head_dim = node->head_dim,
        .positions = d + lay->positions,
        .slots = d + lay->slots,
        .inv_freq = cb->inv_freq,
        .k_cache = k_cache,
        .v_cache = v_cache,
        .kv16 = !cb->exact,
    };
    int q_src = op->rope_q >= 0 ? g->nodes[op->rope_q].src[0] : node->src[0];
    if (cb->mm16_node >= 0 && cb->mm16_node == q_src) { /* q|k|v ran fused, 16-bit */
        kv.in16 = cb->mm16;
        kv.in16_stride = cb->mm16_stride;
        kv.dtype16 = cb->mm16_dtype;
    }
    int code = acc_cuda_rope_kv(&kv, cb->stream);
    if (code)
        return code;
    acc_cuda_attention_args args = {
        .q = cb->data[node->src[0]],
        .k_cache = k_cache,
        .v_cache = v_cache,
        .kv16 = !cb->exact,
        .out = cb->data[op->node],
        .rows = rows,
        .n_heads = node->n_heads,
        .n_kv_heads = node->n_kv_heads,
        .head_dim = node->head_dim,
        .scale = node->scale,
        .positions = d + lay->positions,
        .token_seq = d + lay->token_seq,
        .tables = d + lay->tables,
        .table_stride = cb->table_stride,
        .block_size = cb->config.kv_block_size,
        .out16 = x16_for_output(cb, op->node, -1),
        .dtype16 = cb->matrix_dtype,
        .n_splits = 1,
        .partial = cb->partial,
        .counters = cb->exact ? NULL : cb->attn_counters,
        .tiles = d + lay->tiles,
        .n_tiles = lay->n_tiles,
    };
    if (lay->flash && args.kv16 && acc_cuda_attention_tiled_supported(node->head_dim)) {
        if (args.out16 && !cb->f32_needed[op->node])
            args.out = NULL;
        return acc_cuda_attention_tiled_variant(&args, cb->flash_variant, cb->stream);
    }
    args.n_splits = attention_splits(cb, node, rows, lay);
    return acc_cuda_attention(&args, cb->stream);
}

static acc_status run_node(cuda_backend *cb, int i, const acc_step *step, const step_layout *lay,
                           acc_error *err)
{
    const acc_graph *g = cb->graph;
    const acc_node *node = &g->nodes[i];
    int64_t rows = acc_graph_node_rows(node, step->n_tokens, step->n_outputs);
    int64_t n = rows * node->cols;
    void *out = cb->data[i];
    void *const *in = cb->data;
    const int32_t *d = cb->step_device;
    int code = 0;
    switch (node->op) {
    case ACC_OP_WEIGHT:
        return ACC_OK;
    case ACC_OP_EMBED: {
        const cuda_weight *w = &cb->weights[g->nodes[node->src[0]].weight];
        if (w->qtype != ACC_CUDA_QNONE) {
            code = acc_cuda_qembed(
                w->qtype, w->data,
                d + (node->index_by == ACC_EMBED_BY_TOKEN ? lay->tokens : lay->positions), rows,
                node->cols, out, cb->stream);
            break;
        }
        code = acc_cuda_embed(
            w->dtype, w->data,
            d + (node->index_by == ACC_EMBED_BY_TOKEN ? lay->tokens : lay->positions), rows,
            node->cols, out, cb->stream);
        break;
    }
    case ACC_OP_ADD:
        code = acc_cuda_add(in[node->src[0]], in[node->src[1]], node->alpha, out, n, cb->stream);
        break;
    case ACC_OP_SCALE:
        code = acc_cuda_scale(in[node->src[0]], node->scale, out, n, cb->stream);
        break;
    case ACC_OP_GELU_TANH:
        code = acc_cuda_gelu_tanh(in[node->src[0]], out, n, cb->stream);
        break;
    case ACC_OP_SWIGLU:
        code = acc_cuda_swiglu(in[node->src[0]], in[node->src[1]], out, n,
                               x16_for_output(cb, i, -1), cb->matrix_dtype, cb->stream);
        break;
    case ACC_OP_RMS_NORM:
        /* the matmuls after a norm read it in 16 bits: write that copy now */
        code =
            acc_cuda_rms_norm(in[node->src[0]], in[node->src[1]], node->eps, out, rows, node->cols,
                              x16_for_output(cb, i, -1), cb->matrix_dtype, cb->stream);
        break;
    case ACC_OP_LAYER_NORM:
        code = acc_cuda_layer_norm(in[node->src[0]], in[node->src[1]], in[node->src[2]], node->eps,
                                   out, rows, node->cols, x16_for_output(cb, i, -1),
                                   cb->matrix_dtype, cb->stream);
        break;
    case ACC_OP_ROPE:
        code = acc_cuda_rope(in[node->src[0]], out, rows, node->n_heads, node->head_dim,
                             d + lay->positions, cb->inv_freq, cb->stream);
        break;
    case ACC_OP_GATHER_OUTPUTS:
        code = acc_cuda_gather_rows(in[node->src[0]], d + lay->output_rows, rows, node->cols, out,
                                    cb->stream);
        break;
    default:
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: op %s not supported here",
                             acc_op_name(node->op));
    }
    if (code)
        return cuda_fail(err, acc_op_name(node->op), (cudaError_t)code);
    return ACC_OK;
}

static acc_status run_op(cuda_backend *cb, const cuda_op *op, const acc_step *step,
                         const step_layout *lay, acc_error *err)
{
    const acc_graph *g = cb->graph;
    const acc_node *node = &g->nodes[op->node];
    int64_t rows = acc_graph_node_rows(node, step->n_tokens, step->n_outputs);
    int code = 0;
    switch (op->kind) {
    case CUDA_OP_NODE:
        return run_node(cb, op->node, step, lay, err);
    case CUDA_OP_MATMULS:
        return run_matmuls(cb, op, rows, err);
    case CUDA_OP_ATTENTION:
        code = run_attention(cb, op, lay, rows);
        return code ? cuda_fail(err, "attention", (cudaError_t)code) : ACC_OK;
    case CUDA_OP_ADD_NORM: {
        const acc_node *add = &g->nodes[op->add];
        void *y16 = x16_for_output(cb, op->node, -1);
        code = acc_cuda_add_rms_norm(cb->data[add->src[0]], cb->data[add->src[1]], add->alpha,
                                     cb->data[op->add], cb->data[node->src[1]], node->eps,
                                     y16 && !cb->f32_needed[op->node] ? NULL : cb->data[op->node],
                                     rows, node->cols, y16, cb->matrix_dtype,
                                     cb->pdl && rows <= ACC_CUDA_GEMV_MAX_ROWS, cb->stream);
        return code ? cuda_fail(err, "add + rms_norm", (cudaError_t)code) : ACC_OK;
    }
    }
    return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: bad schedule entry");
}

static int profile_kind(const cuda_backend *cb, const cuda_op *op, const step_layout *lay,
                        int64_t rows)
{
    const acc_node *node = &cb->graph->nodes[op->node];
    switch (op->kind) {
    case CUDA_OP_MATMULS:
        return !cb->exact && rows <= ACC_CUDA_GEMV_MAX_ROWS ? PROF_GEMV : PROF_GEMM;
    case CUDA_OP_ATTENTION:
        return lay->flash && acc_cuda_attention_tiled_supported(node->head_dim) ? PROF_ATTN_TILED
                                                                                : PROF_ATTN_DECODE;
    case CUDA_OP_ADD_NORM:
        return PROF_ADD_NORM;
    default:
        return PROF_NODE + (int)node->op;
    }
}

static acc_status run_nodes(cuda_backend *cb, const acc_step *step, const step_layout *lay,
                            acc_error *err)
{
    acc_status status = ACC_OK;
    cuda_profile *p = &cb->prof;
    int n_ops = cb->schedule.n_ops;
    cb->x16_node[0] = cb->x16_node[1] = -1;
    cb->x16_next = 0;
    cb->mm16_node = -1;
    if (p->on && !p->events) {
        p->events = acc_calloc((size_t)n_ops + 1, sizeof *p->events, err);
        p->kind = acc_calloc((size_t)n_ops + 1, sizeof *p->kind, err);
        if (!p->events || !p->kind)
            return ACC_ERR_RUNTIME;
        for (int i = 0; i <= n_ops; i++)
            if (cudaEventCreate(&p->events[i]) != cudaSuccess)
                return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: profile events");
    }
    for (int i = 0; i < n_ops && status == ACC_OK; i++) {
        const cuda_op *op = &cb->schedule.ops[i];
        if (p->on) {
            const acc_node *node = &cb->graph->nodes[op->node];
            p->kind[i] = profile_kind(cb, op, lay,
                                      acc_graph_node_rows(node, step->n_tokens, step->n_outputs));
            (void)cudaEventRecord(p->events[i], cb->stream);
        }
        status = run_op(cb, op, step, lay, err);
    }
    if (p->on) {
        int sh = 0;
        while (sh < p->n_shapes && !(p->flash[sh] == lay->flash && p->rows[sh] == step->n_tokens) &&
               p->rows[sh] >= 0)
            sh++;
        if (sh == p->n_shapes) { /* a new shape; the last entry takes the rest */
            p->flash[sh] = lay->flash;
            p->rows[sh] = sh == PROF_SHAPES - 1 ? -1 : step->n_tokens;
            p->n_shapes++;
        }
        p->shape = sh;
        (void)cudaEventRecord(p->events[n_ops], cb->stream);
    }
    return status;
}

/* After the step's synchronisation: the events' times into the totals. */
static void profile_collect(cuda_backend *cb)
{
    cuda_profile *p = &cb->prof;
    int n_ops = cb->schedule.n_ops;
    float ms = 0.0f;
    int ph = p->shape;
    for (int i = 0; i < n_ops; i++)
        if (cudaEventElapsedTime(&ms, p->events[i], p->events[i + 1]) == cudaSuccess) {
            p->ms[ph][p->kind[i]] += ms;
            p->calls[ph][p->kind[i]]++;
        }
    if (cudaEventElapsedTime(&ms, p->events[0], p->events[n_ops]) == cudaSuccess)
        p->step_ms[ph] += ms;
    p->steps[ph]++;
}

/* The graph for this step's shape, captured on first use.  A capture the
 * driver or cuBLAS refuses turns graphs off (*out stays NULL); a failing
 * kernel is an error as it would be without a graph. */
static acc_status find_or_capture_graph(cuda_backend *cb, const acc_step *step,
                                        const step_layout *lay, const step_graph **out,
                                        acc_error *err)
{
    *out = NULL;
    for (int i = 0; i < cb->n_graphs; i++) {
        const step_graph *sg = &cb->graphs[i];
        if (sg->n_tokens == step->n_tokens && sg->n_outputs == step->n_outputs &&
            sg->n_seqs == step->n_seqs && sg->split_key == lay->split_key) {
            *out = sg;
            return ACC_OK;
        }
    }
    if (cb->n_graphs == GRAPH_CACHE)
        return ACC_OK;
    cudaError_t code = cudaStreamBeginCapture(cb->stream, cudaStreamCaptureModeThreadLocal);
    if (code != cudaSuccess) {
        (void)cudaGetLastError();
        cb->graphs_off = 1;
        return ACC_OK;
    }
    cb->lt.untuned_captured = 0;
    acc_status status = run_nodes(cb, step, lay, err);
    cudaGraph_t graph = NULL;
    code = cudaStreamEndCapture(cb->stream, &graph);
    if (status == ACC_OK && code == cudaSuccess && cb->lt.untuned_captured) {
        /* a GEMM shape met first in this capture has no timed algorithm
         * yet: drop the graph, the caller runs the step directly (which
         * times it) and the next step of this shape captures */
        cb->lt.untuned_captured = 0;
        if (graph)
            cudaGraphDestroy(graph);
        return ACC_OK;
    }
    if (status != ACC_OK || code != cudaSuccess || !graph) {
        if (graph)
            cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        cb->graphs_off = 1;
        return status; /* on a capture refusal only: the step runs directly */
    }
    step_graph *sg = &cb->graphs[cb->n_graphs];
    code = cudaGraphInstantiate(&sg->exec, graph, 0);
    cudaGraphDestroy(graph);
    if (code != cudaSuccess) {
        (void)cudaGetLastError();
        cb->graphs_off = 1;
        return ACC_OK;
    }
    sg->n_tokens = step->n_tokens;
    sg->n_outputs = step->n_outputs;
    sg->n_seqs = step->n_seqs;
    sg->split_key = lay->split_key;
    cb->n_graphs++;
    *out = sg;
    return ACC_OK;
}

/* GPU sampling: the step's output rows stay on the device; one token per
 * row is chosen there (cuda_sample.cu) and only the ids come back. */
static acc_status sample_prepare(cuda_backend *cb, const acc_step *step,
                                 const acc_backend_sampling *sampling, acc_error *err)
{
    if (!cb->sample_params_dev) {
        size_t rows = (size_t)(cb->max_outputs > 0 ? cb->max_outputs : 1);
        cb->sample_params_dev =
            cuda_alloc(cb, rows * sizeof *cb->sample_params_dev, "sampling parameters", err);
        cb->sample_tokens_dev =
            cb->sample_params_dev
                ? cuda_alloc(cb, rows * sizeof *cb->sample_tokens_dev, "sampled tokens", err)
                : NULL;
        if (!cb->sample_tokens_dev)
            return ACC_ERR_RUNTIME;
        cudaError_t code = cudaMallocHost((void **)&cb->sample_params_host,
                                          rows * sizeof *cb->sample_params_host);
        if (code == cudaSuccess)
            code = cudaMallocHost((void **)&cb->sample_tokens_host,
                                  rows * sizeof *cb->sample_tokens_host);
        if (code != cudaSuccess)
            return cuda_fail(err, "pinned sampling buffers", code);
    }
    for (int r = 0; r < step->n_outputs; r++) {
        const acc_backend_sampling *s = &sampling[r];
        if (!(s->temperature >= 0.0f) || s->top_k < 0 || !(s->top_p > 0.0f) ||
            !(s->min_p >= 0.0f) || !(s->u >= 0.0 && s->u < 1.0))
            return acc_error_set(err, ACC_ERR_INPUT, "cuda backend: row %d: bad sampling settings",
                                 r);
        cb->sample_params_host[r] = (acc_cuda_sample_params){
            .temperature = s->temperature, .top_k = s->top_k, .top_p = s->top_p,
            .min_p = s->min_p, .u = s->u};
    }
    return ACC_OK;
}

/* Queues the sampling of the output rows and the copy of the ids back. */
static acc_status sample_queue(cuda_backend *cb, int n_outputs, acc_error *err)
{
    size_t n = (size_t)n_outputs;
    cudaError_t code =
        cudaMemcpyAsync(cb->sample_params_dev, cb->sample_params_host,
                        n * sizeof *cb->sample_params_host, cudaMemcpyHostToDevice, cb->stream);
    if (code != cudaSuccess)
        return cuda_fail(err, "uploading sampling parameters", code);
    int k = acc_cuda_sample(cb->output, n_outputs, cb->graph->nodes[cb->graph->output].cols,
                            cb->sample_params_dev, cb->sample_tokens_dev, cb->stream);
    if (k)
        return cuda_fail(err, "sampling", (cudaError_t)k);
    code = cudaMemcpyAsync(cb->sample_tokens_host, cb->sample_tokens_dev,
                           n * sizeof *cb->sample_tokens_host, cudaMemcpyDeviceToHost, cb->stream);
    return code == cudaSuccess ? ACC_OK : cuda_fail(err, "reading sampled tokens", code);
}

static acc_status cuda_run_step(cuda_backend *cb, const acc_step *step, float *output,
                                const acc_backend_sampling *sampling, int32_t *tokens,
                                acc_error *err);

static acc_status cuda_run(acc_backend *backend, const acc_step *step, float *output,
                           acc_error *err)
{
    return cuda_run_step((cuda_backend *)backend, step, output, NULL, NULL, err);
}

static acc_status cuda_run_sample(acc_backend *backend, const acc_step *step,
                                  const acc_backend_sampling *sampling, int32_t *tokens,
                                  acc_error *err)
{
    return cuda_run_step((cuda_backend *)backend, step, NULL, sampling, tokens, err);
}

static acc_status cuda_run_step(cuda_backend *cb, const acc_step *step, float *output,
                                const acc_backend_sampling *sampling, int32_t *tokens,
                                acc_error *err)
{
    const acc_graph *g = cb->graph;
    if (!g)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: no graph loaded");
    step_layout lay = {0};
    acc_status status = pack_step(cb, step, &lay, err);
    if (status == ACC_OK)
        status = check_token_ids(g, step, err);
    if (status == ACC_OK && sampling && step->n_outputs > 0)
        status = sample_prepare(cb, step, sampling, err);
    if (status != ACC_OK || step->n_outputs == 0)
        return status;
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op == ACC_OP_WEIGHT)
            cb->data[i] = cb->weights[node->weight].data;
        else if (i == g->output)
            cb->data[i] = cb->output;
        else
            cb->data[i] = cb->arena + cb->offsets[i];
    }
    cudaError_t code = cudaMemcpyAsync(cb->step_device, cb->step_host, lay.total * 4,
                                       cudaMemcpyHostToDevice, cb->stream);
    if (code != cudaSuccess)
        return cuda_fail(err, "uploading step inputs", code);
    const step_graph *graph = NULL;
    if (step->n_tokens <= GRAPH_MAX_TOKENS && !lay.flash && !cb->graphs_off && !cb->prof.on)
        status = find_or_capture_graph(cb, step, &lay, &graph, err);
    if (status == ACC_OK && graph) {
        if ((code = cudaGraphLaunch(graph->exec, cb->stream)) != cudaSuccess)
            status = cuda_fail(err, "launching a step graph", code);
    } else if (status == ACC_OK) {
        status = run_nodes(cb, step, &lay, err);
    }
    size_t out_bytes = (size_t)step->n_outputs * (size_t)g->nodes[g->output].cols * sizeof(float);
    if (status == ACC_OK && output &&
        (code = cudaMemcpyAsync(output, cb->output, out_bytes, cudaMemcpyDeviceToHost,
                                cb->stream)) != cudaSuccess)
        status = cuda_fail(err, "reading the output", code);
    if (status == ACC_OK && sampling)
        status = sample_queue(cb, step->n_outputs, err);
    /* the pinned step buffer is reused by the next step: always wait */
    code = cudaStreamSynchronize(cb->stream);
    if (status == ACC_OK && code != cudaSuccess)
        status = cuda_fail(err, "running the step", code);
    if (status == ACC_OK && sampling)
        memcpy(tokens, cb->sample_tokens_host, (size_t)step->n_outputs * sizeof *tokens);
    if (status == ACC_OK && cb->prof.on && cb->prof.events)
        profile_collect(cb);
    return status;
}

static acc_status cuda_copy_kv_block(acc_backend *backend, int from_block, int to_block,
                                     acc_error *err)
{
    cuda_backend *cb = (cuda_backend *)backend;
    if (!cb->graph || from_block < 0 || to_block < 0 || from_block >= cb->config.n_kv_blocks ||
        to_block >= cb->config.n_kv_blocks)
        return acc_error_set(err, ACC_ERR_RUNTIME, "cuda backend: bad KV block copy %d -> %d",
                             from_block, to_block);
    size_t block_bytes = (size_t)cb->config.kv_block_size * (size_t)cb->graph->kv_dim * cb->kv_elem;
    for (int layer = 0; layer < cb->graph->n_layers; layer++) {
        size_t base = (size_t)layer * cb->layer_stride * cb->kv_elem;
        char *caches[2] = {cb->k_cache, cb->v_cache};
        for (int c = 0; c < 2; c++) {
            cudaError_t code =
                cudaMemcpyAsync(caches[c] + base + (size_t)to_block * block_bytes,
                                caches[c] + base + (size_t)from_block * block_bytes, block_bytes,
                                cudaMemcpyDeviceToDevice, cb->stream);
            if (code != cudaSuccess)
                return cuda_fail(err, "copying a KV block", code);
        }
    }
    return ACC_OK;
}

static acc_status cuda_synchronize(acc_backend *backend, acc_error *err)
{
    cuda_backend *cb = (cuda_backend *)backend;
    cudaError_t code = cudaStreamSynchronize(cb->stream);
    return code == cudaSuccess ? ACC_OK : cuda_fail(err, "synchronize", code);
}

/* ---- quantized weights ("cuda" only; cuda_quant.cu) -----------------------
 * Matmul weights and embedding tables the engine hands over in q8_0, q4_0,
 * q4_K or q6_K stay in their ggml blocks on the device.  Steps of at most
 * ACC_CUDA_GEMV_MAX_ROWS rows read the blocks in a GEMV (x in f32);
 * larger steps dequantize each such matrix into one 16-bit scratch
 * (matrix_dtype) and run the cuBLAS GEMM as for 16-bit weights.  Other
 * block types reach the backend already widened (src/model/weights.c),
 * and "cuda-f32" widens every weight to f32. */

static acc_cuda_qtype qtype_of(acc_weight_type type)
{
    switch (type) {
    case ACC_WEIGHT_Q8_0: return ACC_CUDA_Q8_0;
    case ACC_WEIGHT_Q4_0: return ACC_CUDA_Q4_0;
    case ACC_WEIGHT_Q4_K: return ACC_CUDA_Q4_K;
    case ACC_WEIGHT_Q6_K: return ACC_CUDA_Q6_K;
    default: return ACC_CUDA_QNONE;
    }
}

/* *out: per graph weight, the block-typed matrices to upload as they are
 * (NULL when there is none). */
static acc_status keep_quantized(acc_backend *backend, const acc_graph *g,
                                 const acc_backend_weight *weights, acc_backend_weight **out,
                                 acc_error *err)
{
    cuda_backend *cb = (cuda_backend *)backend;
    *out = NULL;
    if (cb->exact)
        return ACC_OK;
    unsigned char *is_matrix = acc_calloc((size_t)g->n_weights + 1, 1, err);
    if (!is_matrix)
        return ACC_ERR_RUNTIME;
    mark_matrix_weights(g, is_matrix);
    acc_backend_weight *kept = NULL;
    for (int w = 0; w < g->n_weights; w++) {
        const acc_backend_weight *bw = &weights[w];
        size_t row = acc_weight_row_bytes(bw->type, g->weights[w].cols);
        if (!is_matrix[w] || !bw->data || qtype_of(bw->type) == ACC_CUDA_QNONE || row == 0 ||
            bw->row_bytes < row)
            continue;
        if (!kept && !(kept = acc_calloc((size_t)g->n_weights + 1, sizeof *kept, err))) {
            free(is_matrix);
            return ACC_ERR_RUNTIME;
        }
        kept[w] = *bw;
    }
    free(is_matrix);
    *out = kept;
    return ACC_OK;
}

/* Uploads one block-typed matrix, rows packed contiguously. */
static acc_status upload_quant_weight(cuda_backend *cb, const acc_weight_source *ws,
                                      const acc_backend_weight *src, cuda_weight *dst,
                                      void *staging, acc_error *err)
{
    size_t row = acc_weight_row_bytes(src->type, ws->cols), bytes;
    if (cuda_mul_size((uint64_t)ws->rows, row, 1, &bytes) || row > STAGING_BYTES)
        return acc_error_set(err, ACC_ERR_RUNTIME, "weight '%s': size overflows", ws->name);
    dst->qtype = qtype_of(src->type);
    dst->dtype = cb->matrix_dtype;
    size_t alloc = acc_cuda_quant_alloc_bytes(bytes);
    dst->data = cuda_alloc(cb, alloc, ws->name, err);
    if (!dst->data)
        return ACC_ERR_RUNTIME;
    cudaError_t code = cudaMemsetAsync(dst->data, 0, alloc, cb->stream);
    size_t per_chunk = STAGING_BYTES / row;
    for (int64_t r0 = 0; r0 < ws->rows && code == cudaSuccess; r0 += (int64_t)per_chunk) {
        size_t count = (size_t)(ws->rows - r0) < per_chunk ? (size_t)(ws->rows - r0) : per_chunk;
        const char *from = (const char *)src->data + (size_t)r0 * src->row_bytes;
        if (src->row_bytes == row)
            memcpy(staging, from, count * row);
        else
            for (size_t r = 0; r < count; r++)
                memcpy((char *)staging + r * row, from + r * src->row_bytes, row);
        code = cudaMemcpyAsync((char *)dst->data + (size_t)r0 * row, staging, count * row,
                               cudaMemcpyHostToDevice, cb->stream);
        if (code == cudaSuccess)
            code = cudaStreamSynchronize(cb->stream);
    }
    return code == cudaSuccess ? ACC_OK : cuda_fail(err, "uploading quantized weights", code);
}

/* The 16-bit scratch for the largest quantized matmul weight. */
static acc_status alloc_qscratch(cuda_backend *cb, const acc_graph *g, acc_error *err)
{
    size_t largest = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *node = &g->nodes[i];
        if (node->op != ACC_OP_MATMUL)
            continue;
        int w = g->nodes[node->src[1]].weight;
        size_t n;
        if (cb->weights[w].qtype != ACC_CUDA_QNONE &&
            !cuda_mul_size((uint64_t)g->weights[w].rows, (uint64_t)g->weights[w].cols, 2, &n) &&
            n > largest)
            largest = n;
    }
    if (!largest)
        return ACC_OK;
    cb->qscratch = cuda_alloc(cb, largest, "16-bit scratch for quantized matmuls", err);
    return cb->qscratch ? ACC_OK : ACC_ERR_RUNTIME;
}

static int op_quantized(const cuda_backend *cb, const cuda_op *op)
{
    const acc_graph *g = cb->graph;
    for (int i = 0; i < op->n_mm; i++)
        if (cb->weights[g->nodes[g->nodes[op->mm[i]].src[1]].weight].qtype != ACC_CUDA_QNONE)
            return 1;
    return 0;
}

/* y = x16 . W16^T (+ bias) through cuBLAS, W16 [out, in] in matrix_dtype. */
static acc_status gemm16(cuda_backend *cb, int mm, int64_t rows, const void *w16, const void *x16,
                         acc_error *err)
{
    const acc_graph *g = cb->graph;
    const acc_node *node = &g->nodes[mm];
    int64_t in = g->nodes[node->src[0]].cols, out = node->cols;
    acc_status status = gemm_lt(cb, w16, out, rows, in, x16, cb->data[mm], ACC_CUDA_F32, out, err);
    if (status != ACC_OK)
        return status;
    if (node->src[2] >= 0) {
        int code = acc_cuda_add_bias(cb->data[mm], cb->data[node->src[2]], rows, out, cb->stream);
        if (code)
            return cuda_fail(err, "matmul bias", (cudaError_t)code);
    }
    return ACC_OK;
}

/* The matmuls of one operation when any of them is quantized. */
static acc_status run_matmuls_quant(cuda_backend *cb, const cuda_op *op, int64_t rows,
                                    acc_error *err)
{
    const acc_graph *g = cb->graph;
    int in_node = g->nodes[op->mm[0]].src[0];
    int64_t in = g->nodes[in_node].cols;
    int gemv = rows <= ACC_CUDA_GEMV_MAX_ROWS, need_x16 = !gemv, code = 0;
    for (int i = 0; i < op->n_mm; i++)
        if (cb->weights[g->nodes[g->nodes[op->mm[i]].src[1]].weight].qtype == ACC_CUDA_QNONE)
            need_x16 = 1;
    int xb = x16_find(cb, in_node);
    if (need_x16 && xb < 0) {
        void *x16 = x16_claim(cb, in_node, -1);
        xb = x16 == cb->x16[0] ? 0 : 1;
        code = acc_cuda_convert_f32(cb->data[in_node], rows * in, cb->matrix_dtype, x16,
                                    cb->stream);
        if (code)
            return cuda_fail(err, "matmul input conversion", (cudaError_t)code);
    }
    for (int i = 0; i < op->n_mm; i++) {
        const acc_node *mm = &g->nodes[op->mm[i]];
        const cuda_weight *w = &cb->weights[g->nodes[mm->src[1]].weight];
        if (w->qtype != ACC_CUDA_QNONE && gemv) {
            code = acc_cuda_qgemv(w->qtype, w->data, cb->data[in_node], rows, in, mm->cols,
                                  mm->src[2] >= 0 ? cb->data[mm->src[2]] : NULL,
                                  cb->data[op->mm[i]], cb->stream);
            if (code)
                return cuda_fail(err, "quantized matrix-vector product", (cudaError_t)code);
            continue;
        }
        const void *w16 = w->data;
        if (w->qtype != ACC_CUDA_QNONE) {
            code = acc_cuda_qdequant(w->qtype, w->data, mm->cols, in, cb->matrix_dtype,
                                     cb->qscratch, cb->stream);
            if (code)
                return cuda_fail(err, "dequantizing a matmul weight", (cudaError_t)code);
            w16 = cb->qscratch;
        }
        acc_status st = gemm16(cb, op->mm[i], rows, w16, cb->x16[xb], err);
        if (st != ACC_OK)
            return st;
    }
    if (op->swiglu >= 0) {
        const acc_node *sw = &g->nodes[op->swiglu];
        code = acc_cuda_swiglu(cb->data[sw->src[0]], cb->data[sw->src[1]], cb->data[op->swiglu],
                               rows * sw->cols, x16_for_output(cb, op->swiglu, xb),
                               cb->matrix_dtype, cb->stream);
        if (code)
            return cuda_fail(err, "swiglu", (cudaError_t)code);
    }
    return ACC_OK;
}

const acc_backend_ops acc_backend_cuda_ops = {
    .name = "cuda",
    .create = cuda_create,
    .destroy = cuda_destroy,
    .load = cuda_load,
    .run = cuda_run,
    .run_sample = cuda_run_sample,
    .copy_kv_block = cuda_copy_kv_block,
    .synchronize = cuda_synchronize,
};

const acc_backend_ops acc_backend_cuda_f32_ops = {
    .name = "cuda-f32",
    .create = cuda_create_f32,
    .destroy = cuda_destroy,
    .load = cuda_load,
    .run = cuda_run,
    .run_sample = cuda_run_sample,
    .copy_kv_block = cuda_copy_kv_block,
    .synchronize = cuda_synchronize,
};
