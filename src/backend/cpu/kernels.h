/*
 * kernels.h — the math of the CPU backend.
 *
 * Two kinds of kernels.  Row and elementwise ops (norms, RoPE, gelu, ...)
 * are plain C loops in kernels.c: they are a small share of the time.  The
 * hot kernels (matmul in each weight type, dot and axpy for attention) come
 * from a table of function pointers, one table per instruction set
 * (kernels_scalar.c, kernels_avx2.c, kernels_avx512.c, kernels_neon.c),
 * chosen once at run time by acc_cpu_kernels_select.
 *
 * Every kernel works on a range so the executor can split it over threads;
 * within one table the value of an output element never depends on the
 * split or on how many tokens the step has (each element is one fixed
 * accumulation chain), so any thread count and prefill vs decode give the
 * same bits.  Different tables differ by float reassociation and FMA.
 *
 * The AMX level (ACC_CPU_ISA_AMX) is the AVX-512 table plus a prefill GEMM
 * (kernels_amx.h) that the executor runs instead of the table's matmul for
 * steps of at least 16 tokens with block-format weights (by default where
 * the CPU and OS allow AMX; ACCINF_CPU_AMX=0 turns it off, =all adds
 * f16/bf16 weights).  It rounds activations and weights to bf16, so for
 * those matmuls only the thread-count invariance holds: a token computed in
 * a long prefill step differs from the same token decoded alone by those
 * roundings (about q8_0-activation error).  f32 weights never take it.
 * With ACCINF_CPU_AMX=0 or ACCINF_CPU_ISA=avx512 or lower the contract
 * above holds for every step and type.
 */
#ifndef ACCINF_CPU_KERNELS_H
#define ACCINF_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* ---- dispatched kernels ------------------------------------------------- */

typedef enum acc_cpu_isa {
    ACC_CPU_ISA_SCALAR = 0,
    ACC_CPU_ISA_NEON,
    ACC_CPU_ISA_AVX2,   /* AVX2 + FMA + F16C */
    ACC_CPU_ISA_AVX512, /* AVX-512 F, BW, VL, VNNI */
    ACC_CPU_ISA_AMX,    /* the AVX-512 table + AMX-BF16 prefill GEMM */
    ACC_CPU_ISA_COUNT
} acc_cpu_isa;

/* One matmul: y[r, j] = x[r, :] . w[j, :] + bias[j].  Row j of w starts at
 * (const char *)w + j * w_row_bytes and holds `in` elements of w_type. */
typedef struct acc_cpu_matmul_args {
    const float *x; /* [rows, in] */
    int64_t rows, in;
    const void *w;
    acc_weight_type w_type;
    size_t w_row_bytes;
    const float *bias; /* [out] or NULL */
    float *y;          /* [rows, out] */
    int64_t out;
    /* Block-format weights: x quantized per row (acc_cpu_quantize_act_row),
     * row r at (const char *)xq + r * xq_row_bytes. */
    const void *xq;
    size_t xq_row_bytes;
    /* The table's repacked copy of w (its `repack`), or NULL.  When set the
     * table's matmul reads it instead of w for every row count, so decode
     * and prefill still agree bit for bit; w stays valid for other readers
     * (embedding rows, the AMX GEMM). */
    const void *w_packed;
} acc_cpu_matmul_args;

/* Computes rows [r0, r1) x columns [j0, j1) of y. */
typedef void (*acc_cpu_matmul_fn)(const acc_cpu_matmul_args *args, int64_t r0, int64_t r1,
                                  int64_t j0, int64_t j1);

typedef struct acc_cpu_kernels {
    acc_cpu_isa isa;
    const char *name; /* "scalar", "avx2", "avx512", "neon" */
    acc_cpu_matmul_fn matmul[ACC_WEIGHT_TYPE_COUNT];
    float (*dot)(const float *a, const float *b, int64_t n);
    /* y[i] += a * x[i] */
    void (*axpy)(float a, const float *x, float *y, int64_t n);
    /* Optional whole-head attention of one query (within float rounding of
     * acc_cpu_attend_head_generic; the table's own fixed order: AVX-512
     * reduces 16 scores at a time and takes a vector exp); NULL means the
     * generic loop. */
    void (*attend)(const float *q, const float *k_cache, const float *v_cache, int64_t kv_dim,
                   int64_t kv_off, int head_dim, const int32_t *table, int block_size, int n_ctx,
                   float scale, float *scores, float *out);
    /* Optional: attention of nq <= ACC_CPU_ATTEND_TILE query rows of one
     * head of one sequence (query a at q + a * q_stride sees the first
     * n_ctx[a] keys and writes out + a * out_stride), every key and value
     * row loaded once for all of them.  Each query's output has the bits
     * this table's `attend` gives it alone, so prefill tiles and decode
     * agree.  scores: acc_cpu_attend_scratch(max n_ctx) floats.  NULL: one
     * query at a time through acc_cpu_attend_head. */
    void (*attend_rows)(const float *q, int64_t q_stride, int nq, const int *n_ctx,
                        const float *k_cache, const float *v_cache, int64_t kv_dim,
                        int64_t kv_off, int head_dim, const int32_t *table, int block_size,
                        float scale, float *scores, float *out, int64_t out_stride);
    /* Optional gelu_tanh over [i0, i1) (elementwise, within a few ulp of
     * acc_cpu_gelu_tanh); NULL: that scalar function. */
    void (*gelu)(const float *a, float *y, int64_t i0, int64_t i1);
    /* Optional swiglu over [i0, i1) (within a few ulp of acc_cpu_swiglu,
     * elementwise); NULL: that scalar function. */
    void (*swiglu)(const float *gate, const float *up, float *y, int64_t i0, int64_t i1);
    /* Optional y[i] = e^a[i] over [i0, i1), within a few ulp of expf
     * (e^-inf = 0, e^inf = inf, NaN stays NaN); the vector exp the table's
     * softmax and activations use, exposed for tests. */
    void (*exp)(const float *a, float *y, int64_t i0, int64_t i1);
    /* acc_cpu_quantize_act_row with the same bits, vectorized; NULL: that
     * scalar function. */
    void (*quantize_act)(acc_weight_type type, const float *x, void *out, int64_t in);
    /* Optional weight repacking at load: packed_bytes gives the size of the
     * table's own layout of a [rows, in] matrix of `type` (0: that type is
     * used as stored), repack writes groups [g0, g1) of ACC_CPU_PACK_ROWS
     * rows of it (the last group padded; groups are independent, so
     * threads may split them).  NULL: no type is repacked. */
    size_t (*packed_bytes)(acc_weight_type type, int64_t rows, int64_t in);
    void (*repack)(acc_weight_type type, const void *w, size_t w_row_bytes, int64_t rows,
                   int64_t in, void *out, int64_t g0, int64_t g1);
} acc_cpu_kernels;

/* Output rows per group of a repacked weight. */
#define ACC_CPU_PACK_ROWS 16

/* Query rows per attend_rows call. */
#define ACC_CPU_ATTEND_TILE 4

/* The matmul for weights of `type`: the table's own, else the scalar one
 * (a SIMD table may leave a rare type to the scalar table). */
static inline acc_cpu_matmul_fn acc_cpu_matmul_for(const acc_cpu_kernels *k, acc_weight_type type)
{
    extern const acc_cpu_kernels acc_cpu_kernels_scalar;
    return k->matmul[type] ? k->matmul[type] : acc_cpu_kernels_scalar.matmul[type];
}

/* The per-ISA tables; each exists only where its file is compiled. */
extern const acc_cpu_kernels acc_cpu_kernels_scalar;
#if defined(__x86_64__)
extern const acc_cpu_kernels acc_cpu_kernels_avx2;
extern const acc_cpu_kernels acc_cpu_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const acc_cpu_kernels acc_cpu_kernels_neon;
#endif

/* 1 if this build has the table and this CPU can run it. */
int acc_cpu_isa_available(acc_cpu_isa isa);
const char *acc_cpu_isa_name(acc_cpu_isa isa);
/* Parses "scalar", "neon", "avx2", "avx512", "amx"; 0 on success, -1 if
 * unknown. */
int acc_cpu_isa_from_name(const char *name, acc_cpu_isa *out);
/* The best available table at or below `cap` (ACC_CPU_ISA_COUNT: no cap);
 * the AMX level selects the AVX-512 table. */
const acc_cpu_kernels *acc_cpu_kernels_select(acc_cpu_isa cap);
/* 1 when `cap` allows ACC_CPU_ISA_AMX and the CPU, the OS and this process
 * may use AMX-BF16 tiles (asks Linux for the tile state the first time). */
int acc_cpu_amx_enabled(acc_cpu_isa cap);
/* The cap named by the ACCINF_CPU_ISA environment variable (for checking
 * that every path agrees), ACC_CPU_ISA_COUNT when unset or unknown. */
acc_cpu_isa acc_cpu_isa_cap_from_env(void);

/* Scalar reference kernels, also used directly by tests. */
float acc_cpu_dot(const float *a, const float *b, int64_t n);
/* y[r, j] = x[r, :] . w[j, :] + bias[j] for all rows r and j in [j0, j1). */
void acc_cpu_matmul_cols(const float *x, int64_t rows, int64_t in, const float *w,
                         const float *bias, float *y, int64_t out, int64_t j0, int64_t j1);

/* ---- int8 activations for block-format weights (kernels.c) ------------- */

/* Bytes of one activation row of `in` elements quantized for weights of
 * `type` (q8_0 blocks for Q8_0/Q4_0, q8_K blocks for the k-quants); 0 for
 * plain types. */
size_t acc_cpu_act_row_bytes(acc_weight_type type, int64_t in);
/* Quantizes one row of x (ggml's reference rounding). */
void acc_cpu_quantize_act_row(acc_weight_type type, const float *x, void *out, int64_t in);

/* ---- row and elementwise kernels (kernels.c) ----------------------------- */

void acc_cpu_add(const float *a, const float *b, float alpha, float *y, int64_t i0, int64_t i1);
void acc_cpu_scale(const float *a, float scale, float *y, int64_t i0, int64_t i1);
void acc_cpu_gelu_tanh(const float *a, float *y, int64_t i0, int64_t i1);
void acc_cpu_swiglu(const float *gate, const float *up, float *y, int64_t i0, int64_t i1);

void acc_cpu_rms_norm_row(const float *x, const float *w, float eps, float *y, int64_t n);
void acc_cpu_layer_norm_row(const float *x, const float *w, const float *b, float eps, float *y,
                            int64_t n);
/* Rotates every head of one token row at position pos (HF rotate_half). */
void acc_cpu_rope_row(const float *x, int n_heads, int head_dim, int32_t pos,
                      const float *inv_freq, float *y);
/* Row `row` of a weight table of any type, widened to f32 (embeddings). */
void acc_cpu_weight_row_f32(const acc_backend_weight *w, int64_t row, int64_t cols, float *y);

/* Attention of one query head over n_ctx keys/values reached through a
 * block table: key j is row table[j / block_size] * block_size + j %
 * block_size of k_cache/v_cache (row stride kv_dim, head offset kv_off).
 * scores is scratch of n_ctx floats.  Dot and axpy come from `k`. */
void acc_cpu_attend_head(const acc_cpu_kernels *k, const float *q, const float *k_cache,
                         const float *v_cache, int64_t kv_dim, int64_t kv_off, int head_dim,
                         const int32_t *table, int block_size, int n_ctx, float scale,
                         float *scores, float *out);
/* Floats of score scratch attention needs for up to ACC_CPU_ATTEND_TILE
 * queries of at most n_ctx keys each (rows padded to 16 keys). */
static inline size_t acc_cpu_attend_scratch(int64_t n_ctx)
{
    return (size_t)ACC_CPU_ATTEND_TILE * (size_t)((n_ctx + 15) / 16 * 16);
}
/* nq query rows of one head of one sequence (see attend_rows): the
 * table's attend_rows, else acc_cpu_attend_head per query. */
void acc_cpu_attend_rows(const acc_cpu_kernels *k, const float *q, int64_t q_stride, int nq,
                         const int *n_ctx, const float *k_cache, const float *v_cache,
                         int64_t kv_dim, int64_t kv_off, int head_dim, const int32_t *table,
                         int block_size, float scale, float *scores, float *out,
                         int64_t out_stride);
/* The loop acc_cpu_attend_head runs when the table has no `attend`. */
void acc_cpu_attend_head_generic(const acc_cpu_kernels *k, const float *q, const float *k_cache,
                                 const float *v_cache, int64_t kv_dim, int64_t kv_off,
                                 int head_dim, const int32_t *table, int block_size, int n_ctx,
                                 float scale, float *scores, float *out);

#endif
