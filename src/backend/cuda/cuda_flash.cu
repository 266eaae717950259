/*
 * cuda_flash.cu — tiled causal attention for prefill steps, in the manner
 * of FlashAttention-2: a block takes up to 128 (query row, head) pairs —
 * rows of one sequence for the heads of one KV group, so the group's heads
 * share every K/V tile — and streams that sequence's keys and values
 * through shared memory 64 at a time (cp.async from the f16 paged cache
 * through its block table, two stages: the next tile is in flight while
 * one is computed).  Each warp keeps 16 pairs' online softmax and output
 * in registers, so the work is O(rows x context) with no context-sized
 * scratch and no shared-memory round trip for S or O.
 *
 * Q.K^T and P.V run on the tensor cores (mma.sync m16n8k16, f16 inputs,
 * fp32 accumulation); K and V are f16 in the cache ("cuda"'s KV cache) and
 * the fragments are read from the staged tiles with ldmatrix.  f16 has
 * TF32's 10-bit mantissa; the softmax (in base 2, log2(e)
 * folded into the Q scale), its running max and denominator stay fp32.
 * Used by the "cuda" device only; "cuda-f32" keeps the exact per-token
 * kernel.
 *
 * A second kernel (flash2_kernel) gives each warp two m16 tiles (32
 * pairs, every K/V fragment feeding two mma), stages Q in shared memory,
 * syncs once per K/V tile, masks only diagonal tiles and uses the SFU
 * exp2.  A third (flash3_kernel) software-pipelines the second: S of the
 * next K tile is issued before this tile's softmax, over three K/V
 * stages; its 8-warp, 16-pair, 2-blocks-per-SM form (variant 14) is the
 * default where variant 8's 256-pair blocks would cover every SM (long
 * prefill), the first kernel elsewhere.  Blocks are ordered longest
 * tile first over the whole grid (y = tiles, x = head groups).  The other
 * forms stay selectable (acc_cuda_attention_tiled_variant,
 * ACCINF_CUDA_FLASH_VARIANT) for bench/cuda/flash_bench.cu.
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kPairs = kWarps * 16; /* (row, head) pairs per block */
constexpr int kTileRows = 64;       /* rows per host tile (FLASH_TILE) */

/* f16 tile rows (cp.async lands whole 16-byte pieces; the fragments are
 * read from them), each row padded by 16 bytes so the 8 rows of an
 * ldmatrix phase fall on distinct banks. */
template <int HD> __host__ __device__ constexpr int f16_stride()
{
    return HD + 8;
}
/* bytes: two stages of K and V in f16 */
template <int HD, int kKeys> __host__ __device__ constexpr int smem_bytes()
{
    return 2 * 2 * kKeys * f16_stride<HD>() * 2;
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const __half *p)
{
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ void ldsm_x2(uint32_t (&r)[2], const __half *p)
{
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(a));
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const __half *p)
{
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi)
{
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&h);
}

/* D += A.B, m16n8k16, f16 inputs, fp32 accumulators. */
__device__ __forceinline__ void mma_f16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                        uint32_t b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* 16 bytes global -> shared; with bytes == 0 the destination is zeroed. */
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int bytes)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(bytes));
}

__device__ __forceinline__ void cp_async_commit()
{
    asm volatile("cp.async.commit_group;\n" ::);
}

__device__ __forceinline__ void cp_async_wait_one()
{
    asm volatile("cp.async.wait_group 1;\n" ::);
}

/* Keys [k0, k0 + kKeys) of one KV head (f16 cache rows at kv_off within
 * kv_dim, found through the sequence's block table) into shared-memory
 * rows of f16_stride<HD>() halves at kdst / vdst by cp.async; all
 * `threads` threads of the block take part; keys at or past n_keys become
 * zeros.  Both tiled kernels stage their K/V tiles with it. */
template <int HD, int kKeys>
__device__ __forceinline__ void stage_kv_tile(const acc_cuda_attention_args &a,
                                              const int32_t *table, int64_t kv_dim,
                                              int64_t kv_off, int n_keys, int k0, __half *kdst,
                                              __half *vdst, int threads)
{
    constexpr int SH = f16_stride<HD>();
    const int bs = a.block_size;
    for (int idx = threadIdx.x; idx < kKeys * (HD / 8); idx += threads) {
        int r = idx / (HD / 8), c = 8 * (idx % (HD / 8));
        int j = k0 + r;
        const __half *kp = static_cast<const __half *>(a.k_cache),
                     *vp = static_cast<const __half *>(a.v_cache);
        int bytes = 0;
        if (j < n_keys) {
            int64_t slot = (int64_t)table[j / bs] * bs + j % bs;
            kp += slot * kv_dim + kv_off + c;
            vp += slot * kv_dim + kv_off + c;
            bytes = 16;
        }
        cp_async16(kdst + r * SH + c, kp, bytes);
        cp_async16(vdst + r * SH + c, vp, bytes);
    }
}

__device__ __forceinline__ void store_out2(const acc_cuda_attention_args &a, int64_t i, float x,
                                           float y)
{
    if (a.out) /* NULL: only the 16-bit copy is read */
        *reinterpret_cast<float2 *>(a.out + i) = make_float2(x, y);
    if (a.out16 && a.dtype16 == ACC_CUDA_BF16)
        *reinterpret_cast<__nv_bfloat162 *>(static_cast<__nv_bfloat16 *>(a.out16) + i) =
            __floats2bfloat162_rn(x, y);
    else if (a.out16)
        *reinterpret_cast<__half2 *>(static_cast<__half *>(a.out16) + i) = __floats2half2_rn(x, y);
}

/* Block (x, y): host tile n_tiles - 1 - y / chunks (long tiles first),
 * rows [c * rows_per, (c + 1) * rows_per) of it (c = y % chunks), heads
 * [x * hb, (x + 1) * hb).  Pair v of the block is head v / rows_per, row
 * v % rows_per; warp w owns pairs 16w..16w+15. */
template <int HD, int kKeys>
__global__ void __launch_bounds__(kThreads, 1)
    flash_kernel(acc_cuda_attention_args a, int hb, int chunks, int y0)
{
    constexpr int SH = f16_stride<HD>();
    constexpr int KS = HD / 16; /* k-steps of Q.K^T */
    constexpr int DN = HD / 8;  /* n-tiles of O */
    extern __shared__ __align__(16) __half smem[];
    /* stage s: K at smem + s * kKeys * SH, V at vsm + s * kKeys * SH */
    __half *vsm = smem + 2 * kKeys * SH;
    __shared__ int n_keys_sh;

    int rows_per = kPairs / hb;
    int tile = a.n_tiles - 1 - (int)((blockIdx.y + y0) / chunks);
    int chunk = (int)((blockIdx.y + y0) % chunks);
    int row0 = a.tiles[2 * tile] + chunk * rows_per;
    int n_rows = a.tiles[2 * tile + 1] - chunk * rows_per;
    if (n_rows <= 0)
        return; /* block-uniform: this chunk of a short tile is empty */
    if (n_rows > rows_per)
        n_rows = rows_per;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int group = a.n_heads / a.n_kv_heads;
    int head0 = (int)blockIdx.x * hb;
    int64_t kv_dim = (int64_t)a.n_kv_heads * HD;
    int64_t kv_off = (int64_t)(head0 / group) * HD;
    int64_t q_cols = (int64_t)a.n_heads * HD;
    const int32_t *table = a.tables + (int64_t)a.token_seq[row0] * a.table_stride;

    /* this lane's two pairs: rows lane / 4 and lane / 4 + 8 of the warp's 16 */
    int pos[2];
    int64_t q_off[2];
#pragma unroll
    for (int h = 0; h < 2; h++) {
        int v = warp * 16 + lane / 4 + 8 * h;
        int r = v % rows_per, head = head0 + v / rows_per;
        pos[h] = r < n_rows ? a.positions[row0 + r] : -1;
        q_off[h] = (int64_t)(row0 + r) * q_cols + (int64_t)head * HD;
    }
    int warp_max = max(pos[0], pos[1]);
    for (int off = 16; off > 0; off >>= 1)
        warp_max = max(warp_max, __shfl_xor_sync(0xffffffffu, warp_max, off));
    if (threadIdx.x == 0)
        n_keys_sh = 0;
    __syncthreads();
    if (lane == 0)
        atomicMax(&n_keys_sh, warp_max + 1);

    /* Q as A fragments (scaled, base-2 softmax), kept for every tile */
    const float qscale = a.scale * 1.4426950408889634f;
    uint32_t qa[KS][4];
#pragma unroll
    for (int k = 0; k < KS; k++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
#pragma unroll
            for (int hi = 0; hi < 2; hi++) {
                float2 x = make_float2(0.0f, 0.0f);
                if (pos[h] >= 0)
                    x = *reinterpret_cast<const float2 *>(a.q + q_off[h] + k * 16 + hi * 8 +
                                                          (lane % 4) * 2);
                qa[k][h + 2 * hi] = pack_half2(x.x * qscale, x.y * qscale);
            }
        }
    }
    __syncthreads();
    int n_keys = n_keys_sh;

    auto load_tile = [&](int k0, int stage) {
        stage_kv_tile<HD, kKeys>(a, table, kv_dim, kv_off, n_keys, k0,
                                 smem + stage * kKeys * SH, vsm + stage * kKeys * SH, kThreads);
    };

    float o[DN][4];
#pragma unroll
    for (int n = 0; n < DN; n++)
        o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    load_tile(0, 0);
    cp_async_commit();
    for (int t = 0, k0 = 0; k0 < n_keys; t++, k0 += kKeys) {
        if (k0 + kKeys < n_keys)
            load_tile(k0 + kKeys, (t + 1) & 1);
        cp_async_commit();
        cp_async_wait_one();
        __syncthreads(); /* tile t staged */
        const __half *k16 = smem + (t & 1) * kKeys * SH, *v16 = vsm + (t & 1) * kKeys * SH;
        if (k0 <= warp_max) { /* warp-uniform: some key of the tile is visible */
            float s[kKeys / 8][4];
            /* ldmatrix row addresses: lane l gives row l % 8 of matrix l / 8 */
            const __half *krow = k16 + (lane % 8) * SH + (lane / 8) * 8;
#pragma unroll
            for (int n = 0; n < kKeys / 8; n++) {
                s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
                for (int k = 0; k + 1 < KS; k += 2) {
                    uint32_t b[4]; /* (b0, b1) of k-steps k and k + 1 */
                    ldsm_x4(b, krow + n * 8 * SH + k * 16);
                    mma_f16(s[n], qa[k], b[0], b[1]);
                    mma_f16(s[n], qa[k + 1], b[2], b[3]);
                }
                if (KS % 2) {
                    uint32_t b[2];
                    ldsm_x2(b, krow + n * 8 * SH + (KS - 1) * 16);
                    mma_f16(s[n], qa[KS - 1], b[0], b[1]);
                }
            }
            /* causal mask, online softmax; a quad (lane / 4) shares each row */
            float corr[2];
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float mx = -INFINITY;
#pragma unroll
                for (int n = 0; n < kKeys / 8; n++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        int j = k0 + n * 8 + (lane % 4) * 2 + e;
                        float v = j <= pos[h] ? s[n][2 * h + e] : -INFINITY;
                        s[n][2 * h + e] = v;
                        mx = fmaxf(mx, v);
                    }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                float m_new = fmaxf(m[h], mx);
                float sum = 0.0f;
                if (m_new == -INFINITY) { /* no visible key yet (or a padding pair) */
                    corr[h] = 1.0f;
#pragma unroll
                    for (int n = 0; n < kKeys / 8; n++)
                        s[n][2 * h] = s[n][2 * h + 1] = 0.0f;
                } else {
                    corr[h] = exp2f(m[h] - m_new);
#pragma unroll
                    for (int n = 0; n < kKeys / 8; n++)
#pragma unroll
                        for (int e = 0; e < 2; e++) {
                            float p = exp2f(s[n][2 * h + e] - m_new);
                            s[n][2 * h + e] = p;
                            sum += p;
                        }
                }
                l[h] = l[h] * corr[h] + sum; /* this lane's columns; quad-summed at the end */
                m[h] = m_new;
            }
#pragma unroll
            for (int n = 0; n < DN; n++) {
                o[n][0] *= corr[0];
                o[n][1] *= corr[0];
                o[n][2] *= corr[1];
                o[n][3] *= corr[1];
            }
            /* O += P.V: S's accumulator layout is P's A-fragment layout */
#pragma unroll
            for (int k = 0; k < kKeys / 16; k++) {
                uint32_t pa[4] = {pack_half2(s[2 * k][0], s[2 * k][1]),
                                  pack_half2(s[2 * k][2], s[2 * k][3]),
                                  pack_half2(s[2 * k + 1][0], s[2 * k + 1][1]),
                                  pack_half2(s[2 * k + 1][2], s[2 * k + 1][3])};
                /* lane l: key row k * 16 + 8 * ((l / 8) % 2) + l % 8, dims + 8 * (l / 16) */
                const __half *vrow =
                    v16 + (k * 16 + 8 * ((lane / 8) % 2) + lane % 8) * SH + 8 * (lane / 16);
#pragma unroll
                for (int n = 0; n < DN; n += 2) {
                    uint32_t b[4]; /* (b0, b1) of n-tiles n and n + 1 */
                    ldsm_x4_trans(b, vrow + n * 8);
                    mma_f16(o[n], pa, b[0], b[1]);
                    mma_f16(o[n + 1], pa, b[2], b[3]);
                }
            }
        }
        __syncthreads(); /* every warp is done with stage t & 1 before tile t + 2 lands there */
    }

#pragma unroll
    for (int h = 0; h < 2; h++) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
#pragma unroll
    for (int h = 0; h < 2; h++) {
        if (pos[h] < 0)
            continue;
        float inv = 1.0f / l[h];
#pragma unroll
        for (int n = 0; n < DN; n++)
            store_out2(a, q_off[h] + n * 8 + (lane % 4) * 2, o[n][2 * h] * inv,
                       o[n][2 * h + 1] * inv);
    }
}

/* exp2 on the special-function unit (the arguments are <= 0 or -inf). */
__device__ __forceinline__ float fast_exp2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ void cp_async_wait_all()
{
    asm volatile("cp.async.wait_group 0;\n" ::);
}

/* The second kernel: W warps of MT m16 tiles (16 MT pairs) each, so with
 * MT = 2 every K/V fragment read from shared memory feeds two mma; MINB
 * blocks per SM; Q staged once in shared memory in f16 (scaled for the
 * base-2 softmax) and read as A fragments with ldmatrix (registers for
 * more blocks per SM); one __syncthreads per K/V tile (the next tile's
 * cp.async is issued after it, into the stage every warp has finished
 * with); the causal mask only on tiles that reach past a warp's first
 * row; exp2 on the SFU. */
template <int HD, int kKeys, int MT, int W> __host__ __device__ constexpr int smem2_bytes()
{
    return (W * 16 * MT + 4 * kKeys) * f16_stride<HD>() * 2;
}

/* One block of a two-m-tile kernel (flash2_kernel, flash3_kernel): its
 * query rows, the K/V addressing of its KV group, the keys any of its
 * rows sees, and this lane's query positions (rows lane / 4 and
 * lane / 4 + 8 of each m-tile; -1 for padding pairs). */
template <int MT> struct TiledBlock {
    int row0, rows_per, head0, n_keys;
    int warp_min, warp_max; /* over the warp's positions */
    int64_t kv_dim, kv_off, q_cols;
    const int32_t *table;
    int pos[MT][2];
};

/* Sets b up for this block of W * 16 * MT (row, head) pairs and stages its
 * Q rows in qsm: scaled by scale * log2 e (base-2 softmax), f16, padding
 * pairs zero.  Returns false, for the whole block, when it has no row. */
template <int HD, int MT, int W>
__device__ __forceinline__ bool tiled_block_begin(const acc_cuda_attention_args &a, int hb,
                                                  int chunks, int y0, __half *qsm,
                                                  int *n_keys_sh, TiledBlock<MT> &b)
{
    constexpr int kPairs = W * 16 * MT, SH = f16_stride<HD>();
    b.rows_per = kPairs / hb;
    int tile = a.n_tiles - 1 - (int)((blockIdx.y + y0) / chunks);
    int chunk = (int)((blockIdx.y + y0) % chunks);
    b.row0 = a.tiles[2 * tile] + chunk * b.rows_per;
    int n_rows = a.tiles[2 * tile + 1] - chunk * b.rows_per;
    if (n_rows <= 0)
        return false;
    if (n_rows > b.rows_per)
        n_rows = b.rows_per;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int group = a.n_heads / a.n_kv_heads;
    b.head0 = (int)blockIdx.x * hb;
    b.kv_dim = (int64_t)a.n_kv_heads * HD;
    b.kv_off = (int64_t)(b.head0 / group) * HD;
    b.q_cols = (int64_t)a.n_heads * HD;
    b.table = a.tables + (int64_t)a.token_seq[b.row0] * a.table_stride;

    const float qscale = a.scale * 1.4426950408889634f;
    for (int idx = threadIdx.x; idx < kPairs * (HD / 4); idx += W * 32) {
        int v = idx / (HD / 4), c = 4 * (idx % (HD / 4));
        int r = v % b.rows_per, head = b.head0 + v / b.rows_per;
        float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r < n_rows)
            x = *reinterpret_cast<const float4 *>(a.q + (int64_t)(b.row0 + r) * b.q_cols +
                                                  (int64_t)head * HD + c);
        *reinterpret_cast<uint2 *>(qsm + v * SH + c) = make_uint2(
            pack_half2(x.x * qscale, x.y * qscale), pack_half2(x.z * qscale, x.w * qscale));
    }
    b.warp_max = -1;
    b.warp_min = INT32_MAX;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int v = warp * 16 * MT + mt * 16 + lane / 4 + 8 * h;
            int r = v % b.rows_per;
            b.pos[mt][h] = r < n_rows ? a.positions[b.row0 + r] : -1;
            b.warp_max = max(b.warp_max, b.pos[mt][h]);
            b.warp_min = min(b.warp_min, b.pos[mt][h]);
        }
    for (int off = 16; off > 0; off >>= 1) {
        b.warp_max = max(b.warp_max, __shfl_xor_sync(0xffffffffu, b.warp_max, off));
        b.warp_min = min(b.warp_min, __shfl_xor_sync(0xffffffffu, b.warp_min, off));
    }
    if (threadIdx.x == 0)
        *n_keys_sh = 0;
    __syncthreads();
    if (lane == 0)
        atomicMax(n_keys_sh, b.warp_max + 1);
    __syncthreads();
    b.n_keys = *n_keys_sh;
    return true;
}

template <int HD, int kKeys, int MT, int W, int MINB, bool QR>
__global__ void __launch_bounds__(W * 32, MINB)
    flash2_kernel(acc_cuda_attention_args a, int hb, int chunks, int y0)
{
    constexpr int kPairs = W * 16 * MT, kThreads2 = W * 32;
    constexpr int SH = f16_stride<HD>();
    constexpr int KS = HD / 16; /* k-steps of Q.K^T */
    constexpr int DN = HD / 8;  /* n-tiles of O */
    constexpr int NT = kKeys / 8;
    extern __shared__ __align__(16) __half smem2[];
    __half *qsm = smem2;                /* kPairs rows */
    __half *ksm = qsm + kPairs * SH;    /* stage s: ksm + s * kKeys * SH */
    __half *vsm = ksm + 2 * kKeys * SH; /* stage s: vsm + s * kKeys * SH */
    __shared__ int n_keys_sh;
    TiledBlock<MT> b;
    if (!tiled_block_begin<HD, MT, W>(a, hb, chunks, y0, qsm, &n_keys_sh, b))
        return; /* block-uniform */
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row0 = b.row0, rows_per = b.rows_per, head0 = b.head0, n_keys = b.n_keys;
    const int warp_min = b.warp_min, warp_max = b.warp_max;
    const int64_t kv_dim = b.kv_dim, kv_off = b.kv_off, q_cols = b.q_cols;
    const int32_t *table = b.table;
    const int(&pos)[MT][2] = b.pos;

    auto load_tile = [&](int k0, int stage) {
        stage_kv_tile<HD, kKeys>(a, table, kv_dim, kv_off, n_keys, k0,
                                 ksm + stage * kKeys * SH, vsm + stage * kKeys * SH, kThreads2);
    };

    float o[MT][DN][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int n = 0; n < DN; n++)
            o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.0f;
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
        m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;
    /* ldmatrix row addresses: Q (A, x4): lane l gives row l % 16, columns
     * + 8 * (l / 16); K (B, x4): row l % 8, columns + 8 * (l / 8) */
    const __half *qrow = qsm + (warp * 16 * MT + lane % 16) * SH + (lane / 16) * 8;
    /* QR: the A fragments read once into registers (as the first kernel) */
    uint32_t qreg[QR ? MT : 1][QR ? KS : 1][4];
    if constexpr (QR) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int k = 0; k < KS; k++)
                ldsm_x4(qreg[mt][k], qrow + mt * 16 * SH + k * 16);
    }

    load_tile(0, 0);
    cp_async_commit();
    for (int t = 0, k0 = 0; k0 < n_keys; t++, k0 += kKeys) {
        cp_async_wait_all();
        __syncthreads(); /* tile t staged; every warp is done with tile t - 1's stage */
        if (k0 + kKeys < n_keys)
            load_tile(k0 + kKeys, (t + 1) & 1);
        cp_async_commit();
        if (k0 > warp_max) /* warp-uniform: no key of the tile is visible */
            continue;
        const __half *k16 = ksm + (t & 1) * kKeys * SH, *v16 = vsm + (t & 1) * kKeys * SH;
        const __half *krow = k16 + (lane % 8) * SH + (lane / 8) * 8;
        float s[MT][NT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int n = 0; n < NT; n++)
                s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
        for (int k = 0; k + 1 < KS; k += 2) {
            uint32_t qa[MT][2][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                if constexpr (QR) {
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        qa[mt][0][e] = qreg[mt][QR ? k : 0][e];
                        qa[mt][1][e] = qreg[mt][QR ? k + 1 : 0][e];
                    }
                } else {
                    ldsm_x4(qa[mt][0], qrow + mt * 16 * SH + k * 16);
                    ldsm_x4(qa[mt][1], qrow + mt * 16 * SH + (k + 1) * 16);
                }
            }
#pragma unroll
            for (int n = 0; n < NT; n++) {
                uint32_t b[4]; /* (b0, b1) of k-steps k and k + 1 */
                ldsm_x4(b, krow + n * 8 * SH + k * 16);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_f16(s[mt][n], qa[mt][0], b[0], b[1]);
                    mma_f16(s[mt][n], qa[mt][1], b[2], b[3]);
                }
            }
        }
        if (KS % 2) {
            uint32_t qa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                if constexpr (QR) {
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        qa[mt][e] = qreg[mt][QR ? KS - 1 : 0][e];
                } else {
                    ldsm_x4(qa[mt], qrow + mt * 16 * SH + (KS - 1) * 16);
                }
            }
#pragma unroll
            for (int n = 0; n < NT; n++) {
                uint32_t b[2];
                ldsm_x2(b, krow + n * 8 * SH + (KS - 1) * 16);
#pragma unroll
                for (int mt = 0; mt < MT; mt++)
                    mma_f16(s[mt][n], qa[mt], b[0], b[1]);
            }
        }
        /* causal mask where the tile reaches past the warp's first row */
        bool mask = k0 + kKeys - 1 > warp_min;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            float corr[2];
#pragma unroll
            for (int h = 0; h < 2; h++) {
                float mx = -INFINITY;
#pragma unroll
                for (int n = 0; n < NT; n++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        float v = s[mt][n][2 * h + e];
                        if (mask) {
                            int j = k0 + n * 8 + (lane % 4) * 2 + e;
                            v = j <= pos[mt][h] ? v : -INFINITY;
                            s[mt][n][2 * h + e] = v;
                        }
                        mx = fmaxf(mx, v);
                    }
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                float m_new = fmaxf(m[mt][h], mx);
                float sum = 0.0f;
                if (m_new == -INFINITY) { /* no visible key yet (or a padding pair) */
                    corr[h] = 1.0f;
#pragma unroll
                    for (int n = 0; n < NT; n++)
                        s[mt][n][2 * h] = s[mt][n][2 * h + 1] = 0.0f;
                } else {
                    corr[h] = fast_exp2(m[mt][h] - m_new);
#pragma unroll
                    for (int n = 0; n < NT; n++)
#pragma unroll
                        for (int e = 0; e < 2; e++) {
                            float p = fast_exp2(s[mt][n][2 * h + e] - m_new);
                            s[mt][n][2 * h + e] = p;
                            sum += p;
                        }
                }
                l[mt][h] = l[mt][h] * corr[h] + sum; /* this lane's columns */
                m[mt][h] = m_new;
            }
#pragma unroll
            for (int n = 0; n < DN; n++) {
                o[mt][n][0] *= corr[0];
                o[mt][n][1] *= corr[0];
                o[mt][n][2] *= corr[1];
                o[mt][n][3] *= corr[1];
            }
        }
        /* O += P.V: S's accumulator layout is P's A-fragment layout */
#pragma unroll
        for (int k = 0; k < kKeys / 16; k++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                pa[mt][0] = pack_half2(s[mt][2 * k][0], s[mt][2 * k][1]);
                pa[mt][1] = pack_half2(s[mt][2 * k][2], s[mt][2 * k][3]);
                pa[mt][2] = pack_half2(s[mt][2 * k + 1][0], s[mt][2 * k + 1][1]);
                pa[mt][3] = pack_half2(s[mt][2 * k + 1][2], s[mt][2 * k + 1][3]);
            }
            const __half *vrow =
                v16 + (k * 16 + 8 * ((lane / 8) % 2) + lane % 8) * SH + 8 * (lane / 16);
#pragma unroll
            for (int n = 0; n < DN; n += 2) {
                uint32_t b[4]; /* (b0, b1) of n-tiles n and n + 1 */
                ldsm_x4_trans(b, vrow + n * 8);
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_f16(o[mt][n], pa[mt], b[0], b[1]);
                    mma_f16(o[mt][n + 1], pa[mt], b[2], b[3]);
                }
            }
        }
    }

#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float lt = l[mt][h];
            lt += __shfl_xor_sync(0xffffffffu, lt, 1);
            lt += __shfl_xor_sync(0xffffffffu, lt, 2);
            if (pos[mt][h] < 0)
                continue;
            int v = warp * 16 * MT + mt * 16 + lane / 4 + 8 * h;
            int64_t off = (int64_t)(row0 + v % rows_per) * q_cols +
                          (int64_t)(head0 + v / rows_per) * HD + (lane % 4) * 2;
            float inv = 1.0f / lt;
#pragma unroll
            for (int n = 0; n < DN; n++)
                store_out2(a, off + n * 8, o[mt][n][2 * h] * inv, o[mt][n][2 * h + 1] * inv);
        }
}

template <int HD, int kKeys, int MT, int W, int MINB, bool QR>
int launch2(const acc_cuda_attention_args *a, cudaStream_t stream)
{
    constexpr int kPairs = W * 16 * MT;
    int group = a->n_heads / a->n_kv_heads;
    int hb = group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
    int rows_per = kPairs / hb;
    int chunks = rows_per >= kTileRows ? 1 : kTileRows / rows_per;
    size_t bytes = (size_t)smem2_bytes<HD, kKeys, MT, W>();
    cudaError_t code = cudaFuncSetAttribute(flash2_kernel<HD, kKeys, MT, W, MINB, QR>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (code != cudaSuccess)
        return (int)code;
    /* x: head groups, y: tiles, longest first: blocks start in order of
     * work over the whole grid (the last ones to start are the shortest) */
    int64_t ys = (int64_t)a->n_tiles * chunks;
    for (int64_t y0 = 0; y0 < ys; y0 += 65535) { /* gridDim.y <= 65535 */
        dim3 grid((unsigned)(a->n_heads / hb), (unsigned)(ys - y0 < 65535 ? ys - y0 : 65535));
        flash2_kernel<HD, kKeys, MT, W, MINB, QR>
            <<<grid, W * 32, bytes, stream>>>(*a, hb, chunks, (int)y0);
    }
    return (int)cudaGetLastError();
}

template <int kKeys, int MT, int W, int MINB, bool QR = false>
int launch2_hd(const acc_cuda_attention_args *args, cudaStream_t stream)
{
    switch (args->head_dim) {
    case 16:
        return launch2<16, kKeys, MT, W, MINB, QR>(args, stream);
    case 32:
        return launch2<32, kKeys, MT, W, MINB, QR>(args, stream);
    case 64:
        return launch2<64, kKeys, MT, W, MINB, QR>(args, stream);
    case 128:
        return launch2<128, kKeys, MT, W, MINB, QR>(args, stream);
    default:
        return (int)cudaErrorInvalidValue;
    }
}

/* The third kernel: as the second (W warps of MT m16 tiles, Q in shared
 * memory), software-pipelined so that a warp's tensor-core work never
 * waits on its own softmax: while tile t's probabilities are computed and
 * multiplied into V, S for tile t + 1 is already being computed (its mma
 * are issued first, in the same basic block, so ptxas interleaves them
 * with the softmax's ALU and SFU work).  K/V tiles go through three
 * shared-memory stages (tile t + 2 is in flight while t + 1's K and t's V
 * are read), one __syncthreads per tile; the softmax is branchless (a
 * row with no visible key yet subtracts 0 instead of -inf), the causal
 * mask applied only on tiles reaching past a warp's first row. */
template <int HD, int kKeys, int MT, int W> __host__ __device__ constexpr int smem3_bytes()
{
    return (W * 16 * MT + 6 * kKeys) * f16_stride<HD>() * 2;
}

/* s = Q.K^T for the warp's MT m16 tiles against one staged K tile;
 * qrow / krow: this lane's ldmatrix row addresses (see flash2_kernel). */
template <int HD, int kKeys, int MT>
__device__ __forceinline__ void qk_tile3(float (&s)[MT][kKeys / 8][4], const __half *qrow,
                                         const __half *krow)
{
    constexpr int SH = f16_stride<HD>();
    constexpr int KS = HD / 16, NT = kKeys / 8;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int n = 0; n < NT; n++)
            s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
    for (int k = 0; k + 1 < KS; k += 2) {
        uint32_t qa[MT][2][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            ldsm_x4(qa[mt][0], qrow + mt * 16 * SH + k * 16);
            ldsm_x4(qa[mt][1], qrow + mt * 16 * SH + (k + 1) * 16);
        }
#pragma unroll
        for (int n = 0; n < NT; n++) {
            uint32_t b[4]; /* (b0, b1) of k-steps k and k + 1 */
            ldsm_x4(b, krow + n * 8 * SH + k * 16);
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                mma_f16(s[mt][n], qa[mt][0], b[0], b[1]);
                mma_f16(s[mt][n], qa[mt][1], b[2], b[3]);
            }
        }
    }
    if (KS % 2) {
        uint32_t qa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
            ldsm_x4(qa[mt], qrow + mt * 16 * SH + (KS - 1) * 16);
#pragma unroll
        for (int n = 0; n < NT; n++) {
            uint32_t b[2];
            ldsm_x2(b, krow + n * 8 * SH + (KS - 1) * 16);
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
                mma_f16(s[mt][n], qa[mt], b[0], b[1]);
        }
    }
}

/* Causal mask of tile k0 (keys past a pair's position become -inf). */
template <int kKeys, int MT>
__device__ __forceinline__ void mask_tile3(float (&s)[MT][kKeys / 8][4], const int (&pos)[MT][2],
                                           int k0, int lane)
{
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
            for (int n = 0; n < kKeys / 8; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int j = k0 + n * 8 + (lane % 4) * 2 + e;
                    if (j > pos[mt][h])
                        s[mt][n][2 * h + e] = -INFINITY;
                }
}

/* Online softmax of one (masked) S tile, then O += P.V from the staged V
 * tile; vrow: this lane's ldmatrix.trans row address. */
template <int HD, int kKeys, int MT>
__device__ __forceinline__ void softmax_pv3(float (&s)[MT][kKeys / 8][4], float (&o)[MT][HD / 8][4],
                                            float (&m)[MT][2], float (&l)[MT][2],
                                            const __half *vrow)
{
    constexpr int NT = kKeys / 8, DN = HD / 8;
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
        float corr[2];
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float mx = -INFINITY;
#pragma unroll
            for (int n = 0; n < NT; n++)
                mx = fmaxf(mx, fmaxf(s[mt][n][2 * h], s[mt][n][2 * h + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float m_new = fmaxf(m[mt][h], mx);
            /* no visible key yet (or a padding pair): every p is 0 */
            float m_use = m_new == -INFINITY ? 0.0f : m_new;
            corr[h] = fast_exp2(m[mt][h] - m_use);
            float sum = 0.0f;
#pragma unroll
            for (int n = 0; n < NT; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float p = fast_exp2(s[mt][n][2 * h + e] - m_use);
                    s[mt][n][2 * h + e] = p;
                    sum += p;
                }
            l[mt][h] = l[mt][h] * corr[h] + sum; /* this lane's columns */
            m[mt][h] = m_new;
        }
#pragma unroll
        for (int n = 0; n < DN; n++) {
            o[mt][n][0] *= corr[0];
            o[mt][n][1] *= corr[0];
            o[mt][n][2] *= corr[1];
            o[mt][n][3] *= corr[1];
        }
    }
    constexpr int SH = f16_stride<HD>();
#pragma unroll
    for (int k = 0; k < kKeys / 16; k++) {
        uint32_t pa[MT][4]; /* S's accumulator layout is P's A-fragment layout */
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            pa[mt][0] = pack_half2(s[mt][2 * k][0], s[mt][2 * k][1]);
            pa[mt][1] = pack_half2(s[mt][2 * k][2], s[mt][2 * k][3]);
            pa[mt][2] = pack_half2(s[mt][2 * k + 1][0], s[mt][2 * k + 1][1]);
            pa[mt][3] = pack_half2(s[mt][2 * k + 1][2], s[mt][2 * k + 1][3]);
        }
#pragma unroll
        for (int n = 0; n < DN; n += 2) {
            uint32_t b[4]; /* (b0, b1) of n-tiles n and n + 1 */
            ldsm_x4_trans(b, vrow + k * 16 * SH + n * 8);
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                mma_f16(o[mt][n], pa[mt], b[0], b[1]);
                mma_f16(o[mt][n + 1], pa[mt], b[2], b[3]);
            }
        }
    }
}

template <int HD, int kKeys, int MT, int W, int MINB>
__global__ void __launch_bounds__(W * 32, MINB)
    flash3_kernel(acc_cuda_attention_args a, int hb, int chunks, int y0)
{
    constexpr int kPairs = W * 16 * MT, kThreads3 = W * 32;
    constexpr int SH = f16_stride<HD>();
    constexpr int DN = HD / 8, NT = kKeys / 8;
    constexpr int ST = kKeys * SH; /* halves per stage of K or V */
    extern __shared__ __align__(16) __half smem3[];
    __half *qsm = smem3;             /* kPairs rows */
    __half *ksm = qsm + kPairs * SH; /* stage s: ksm + s * ST */
    __half *vsm = ksm + 3 * ST;      /* stage s: vsm + s * ST */
    __shared__ int n_keys_sh;
    TiledBlock<MT> b;
    if (!tiled_block_begin<HD, MT, W>(a, hb, chunks, y0, qsm, &n_keys_sh, b))
        return; /* block-uniform */
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int row0 = b.row0, rows_per = b.rows_per, head0 = b.head0, n_keys = b.n_keys;
    const int warp_min = b.warp_min;
    const int64_t kv_dim = b.kv_dim, kv_off = b.kv_off, q_cols = b.q_cols;
    const int32_t *table = b.table;
    const int(&pos)[MT][2] = b.pos;
    int nt = (n_keys + kKeys - 1) / kKeys; /* >= 1: every block has a real row */

    auto load_tile = [&](int t) {
        stage_kv_tile<HD, kKeys>(a, table, kv_dim, kv_off, n_keys, t * kKeys,
                                 ksm + (t % 3) * ST, vsm + (t % 3) * ST, kThreads3);
    };

    float o[MT][DN][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int n = 0; n < DN; n++)
            o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.0f;
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
        m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;
    /* ldmatrix row addresses: Q (A, x4): lane l gives row l % 16, columns
     * + 8 * (l / 16); K (B, x4): row l % 8, columns + 8 * (l / 8); V (B,
     * x4.trans): key row 8 * ((l / 8) % 2) + l % 8, dims + 8 * (l / 16) */
    const __half *qrow = qsm + (warp * 16 * MT + lane % 16) * SH + (lane / 16) * 8;
    const int koff = (lane % 8) * SH + (lane / 8) * 8;
    const int voff = (8 * ((lane / 8) % 2) + lane % 8) * SH + 8 * (lane / 16);

    load_tile(0);
    cp_async_commit();
    if (nt > 1)
        load_tile(1);
    cp_async_commit();
    cp_async_wait_one();
    __syncthreads(); /* tile 0 staged (Q too) */
    float s[MT][NT][4];
    qk_tile3<HD, kKeys, MT>(s, qrow, ksm + koff);
    for (int t = 0; t + 1 < nt; t++) {
        cp_async_wait_all();
        __syncthreads(); /* tile t + 1 staged; every warp is done with stage (t + 2) % 3 */
        if (t + 2 < nt)
            load_tile(t + 2);
        cp_async_commit();
        int k0 = t * kKeys;
        if (k0 + kKeys - 1 > warp_min) /* warp-uniform */
            mask_tile3<kKeys, MT>(s, pos, k0, lane);
        float sn[MT][NT][4]; /* tile t + 1's S, issued before tile t's softmax */
        qk_tile3<HD, kKeys, MT>(sn, qrow, ksm + ((t + 1) % 3) * ST + koff);
        softmax_pv3<HD, kKeys, MT>(s, o, m, l, vsm + (t % 3) * ST + voff);
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int n = 0; n < NT; n++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    s[mt][n][e] = sn[mt][n][e];
    }
    {
        int k0 = (nt - 1) * kKeys;
        if (k0 + kKeys - 1 > warp_min)
            mask_tile3<kKeys, MT>(s, pos, k0, lane);
        softmax_pv3<HD, kKeys, MT>(s, o, m, l, vsm + ((nt - 1) % 3) * ST + voff);
    }

#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            float lt = l[mt][h];
            lt += __shfl_xor_sync(0xffffffffu, lt, 1);
            lt += __shfl_xor_sync(0xffffffffu, lt, 2);
            if (pos[mt][h] < 0)
                continue;
            int v = warp * 16 * MT + mt * 16 + lane / 4 + 8 * h;
            int64_t off = (int64_t)(row0 + v % rows_per) * q_cols +
                          (int64_t)(head0 + v / rows_per) * HD + (lane % 4) * 2;
            float inv = 1.0f / lt;
#pragma unroll
            for (int n = 0; n < DN; n++)
                store_out2(a, off + n * 8, o[mt][n][2 * h] * inv, o[mt][n][2 * h + 1] * inv);
        }
}

template <int HD, int kKeys, int MT, int W, int MINB>
int launch3(const acc_cuda_attention_args *a, cudaStream_t stream)
{
    constexpr int kPairs = W * 16 * MT;
    int group = a->n_heads / a->n_kv_heads;
    int hb = group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
    int rows_per = kPairs / hb;
    int chunks = rows_per >= kTileRows ? 1 : kTileRows / rows_per;
    size_t bytes = (size_t)smem3_bytes<HD, kKeys, MT, W>();
    cudaError_t code = cudaFuncSetAttribute(flash3_kernel<HD, kKeys, MT, W, MINB>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (code != cudaSuccess)
        return (int)code;
    int64_t ys = (int64_t)a->n_tiles * chunks; /* longest tiles first, as launch2 */
    for (int64_t y0 = 0; y0 < ys; y0 += 65535) {
        dim3 grid((unsigned)(a->n_heads / hb), (unsigned)(ys - y0 < 65535 ? ys - y0 : 65535));
        flash3_kernel<HD, kKeys, MT, W, MINB>
            <<<grid, W * 32, bytes, stream>>>(*a, hb, chunks, (int)y0);
    }
    return (int)cudaGetLastError();
}

template <int kKeys, int MT, int W, int MINB>
int launch3_hd(const acc_cuda_attention_args *args, cudaStream_t stream)
{
    switch (args->head_dim) {
    case 16:
        return launch3<16, kKeys, MT, W, MINB>(args, stream);
    case 32:
        return launch3<32, kKeys, MT, W, MINB>(args, stream);
    case 64:
        return launch3<64, kKeys, MT, W, MINB>(args, stream);
    case 128:
        return launch3<128, kKeys, MT, W, MINB>(args, stream);
    default:
        return (int)cudaErrorInvalidValue;
    }
}

template <int HD, int kKeys> int launch(const acc_cuda_attention_args *a, cudaStream_t stream)
{
    int group = a->n_heads / a->n_kv_heads;
    int hb = group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
    int rows_per = kPairs / hb;
    int chunks = rows_per >= kTileRows ? 1 : kTileRows / rows_per;
    size_t bytes = (size_t)smem_bytes<HD, kKeys>();
    cudaError_t code =
        cudaFuncSetAttribute(flash_kernel<HD, kKeys>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             (int)bytes);
    if (code != cudaSuccess)
        return (int)code;
    /* x: head groups, y: tiles, longest first: blocks start in order of
     * work over the whole grid (the last ones to start are the shortest) */
    int64_t ys = (int64_t)a->n_tiles * chunks;
    for (int64_t y0 = 0; y0 < ys; y0 += 65535) { /* gridDim.y <= 65535 */
        dim3 grid((unsigned)(a->n_heads / hb), (unsigned)(ys - y0 < 65535 ? ys - y0 : 65535));
        flash_kernel<HD, kKeys><<<grid, kThreads, bytes, stream>>>(*a, hb, chunks, (int)y0);
    }
    return (int)cudaGetLastError();
}

template <int kKeys> int launch_hd(const acc_cuda_attention_args *args, cudaStream_t stream)
{
    switch (args->head_dim) {
    case 16:
        return launch<16, kKeys>(args, stream);
    case 32:
        return launch<32, kKeys>(args, stream);
    case 64:
        return launch<64, kKeys>(args, stream);
    case 128:
        return launch<128, kKeys>(args, stream);
    default:
        return (int)cudaErrorInvalidValue;
    }
}

} /* namespace */

extern "C" int acc_cuda_attention_tiled_supported(int head_dim)
{
    return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128;
}

extern "C" int acc_cuda_attention_tiled_variant(const acc_cuda_attention_args *args,
                                                int variant, acc_cuda_stream stream)
{
    if (args->n_tiles < 1 || args->n_kv_heads < 1 || args->n_heads % args->n_kv_heads ||
        !args->tiles || !args->kv16)
        return (int)cudaErrorInvalidValue;
    if (variant == 0) {
        /* the pipelined kernel (variant 14) where variant 8's 256-pair blocks
         * still cover every SM and are whole host tiles (GQA groups of >= 4
         * heads); H100, 8B shape: 0.193 ms against 0.205 (variant 8) and
         * 0.229 (2) at 2048 tokens; at 512 (64 such blocks) variant 2 */
        int group = args->n_heads / args->n_kv_heads, sms = 0;
        int hb = group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
        int rows_per = 256 / hb;
        int64_t blocks = (int64_t)args->n_tiles * (rows_per >= kTileRows ? 1 : kTileRows / rows_per) *
                         (args->n_heads / hb);
        int device = 0;
        if (cudaGetDevice(&device) != cudaSuccess ||
            cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess)
            sms = 1 << 30;
        variant = rows_per <= kTileRows && blocks >= sms ? 14 : 2;
    }
    switch (variant) {
    case 1:
        return launch_hd<32>(args, stream);
    case 2:
        return launch_hd<64>(args, stream);
    case 3:
        return launch2_hd<32, 2, 4, 2>(args, stream);
    case 4:
        return launch2_hd<64, 2, 4, 2>(args, stream);
    case 5:
        return launch2_hd<64, 1, 8, 1>(args, stream);
    case 6:
        return launch2_hd<64, 1, 8, 2>(args, stream);
    case 7:
        return launch2_hd<32, 1, 8, 2>(args, stream);
    case 8:
        return launch2_hd<64, 2, 8, 1>(args, stream);
    case 9:
        return launch2_hd<64, 1, 8, 1, true>(args, stream);
    case 10:
        return launch2_hd<32, 1, 8, 1, true>(args, stream);
    case 11:
        return launch3_hd<32, 2, 8, 1>(args, stream);
    case 12:
        return launch3_hd<32, 2, 4, 2>(args, stream);
    case 13:
        return launch3_hd<64, 1, 8, 1>(args, stream);
    case 14:
        return launch3_hd<32, 1, 8, 2>(args, stream);
    case 15:
        return launch3_hd<32, 1, 16, 1>(args, stream);
    case 16:
        return launch3_hd<32, 1, 4, 3>(args, stream);
    default:
        return (int)cudaErrorInvalidValue;
    }
}

extern "C" int acc_cuda_attention_tiled_keys(const acc_cuda_attention_args *args, int keys,
                                             acc_cuda_stream stream)
{
    return acc_cuda_attention_tiled_variant(args, keys == 32 ? 1 : keys == 64 ? 2 : 0, stream);
}

extern "C" int acc_cuda_attention_tiled(const acc_cuda_attention_args *args,
                                        acc_cuda_stream stream)
{
    return acc_cuda_attention_tiled_variant(args, 0, stream);
}
