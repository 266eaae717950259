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

__device__ __forceinline__ void store_out2(const acc_cuda_attention_args &a, int64_t i, float x,
                                           float y)
{
    *reinterpret_cast<float2 *>(a.out + i) = make_float2(x, y);
    if (a.out16 && a.dtype16 == ACC_CUDA_BF16)
        *reinterpret_cast<__nv_bfloat162 *>(static_cast<__nv_bfloat16 *>(a.out16) + i) =
            __floats2bfloat162_rn(x, y);
    else if (a.out16)
        *reinterpret_cast<__half2 *>(static_cast<__half *>(a.out16) + i) = __floats2half2_rn(x, y);
}

/* Block (x, y): host tile n_tiles - 1 - x / chunks (long tiles first),
 * rows [c * rows_per, (c + 1) * rows_per) of it (c = x % chunks), heads
 * [y * hb, (y + 1) * hb).  Pair v of the block is head v / rows_per, row
 * v % rows_per; warp w owns pairs 16w..16w+15. */
template <int HD, int kKeys>
__global__ void __launch_bounds__(kThreads, 1)
    flash_kernel(acc_cuda_attention_args a, int hb, int chunks)
{
    constexpr int SH = f16_stride<HD>();
    constexpr int KS = HD / 16; /* k-steps of Q.K^T */
    constexpr int DN = HD / 8;  /* n-tiles of O */
    extern __shared__ __align__(16) __half smem[];
    /* stage s: K at smem + s * kKeys * SH, V at vsm + s * kKeys * SH */
    __half *vsm = smem + 2 * kKeys * SH;
    __shared__ int n_keys_sh;

    int rows_per = kPairs / hb;
    int tile = a.n_tiles - 1 - (int)(blockIdx.x / chunks);
    int chunk = (int)(blockIdx.x % chunks);
    int row0 = a.tiles[2 * tile] + chunk * rows_per;
    int n_rows = a.tiles[2 * tile + 1] - chunk * rows_per;
    if (n_rows <= 0)
        return; /* block-uniform: this chunk of a short tile is empty */
    if (n_rows > rows_per)
        n_rows = rows_per;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int group = a.n_heads / a.n_kv_heads;
    int head0 = (int)blockIdx.y * hb;
    int64_t kv_dim = (int64_t)a.n_kv_heads * HD;
    int64_t kv_off = (int64_t)(head0 / group) * HD;
    int64_t q_cols = (int64_t)a.n_heads * HD;
    const int32_t *table = a.tables + (int64_t)a.token_seq[row0] * a.table_stride;
    int bs = a.block_size;

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
        for (int idx = threadIdx.x; idx < kKeys * (HD / 8); idx += kThreads) {
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
            cp_async16(smem + (stage * kKeys + r) * SH + c, kp, bytes);
            cp_async16(vsm + (stage * kKeys + r) * SH + c, vp, bytes);
        }
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
    dim3 grid((unsigned)(a->n_tiles * chunks), (unsigned)(a->n_heads / hb));
    flash_kernel<HD, kKeys><<<grid, kThreads, bytes, stream>>>(*a, hb, chunks);
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

extern "C" int acc_cuda_attention_tiled_keys(const acc_cuda_attention_args *args, int keys,
                                             acc_cuda_stream stream)
{
    if (args->n_tiles < 1 || args->n_kv_heads < 1 || args->n_heads % args->n_kv_heads ||
        args->n_heads > 65535 || !args->tiles || !args->kv16)
        return (int)cudaErrorInvalidValue;
    if (keys == 32)
        return launch_hd<32>(args, stream);
    if (keys == 64 || keys == 0)
        return launch_hd<64>(args, stream);
    return (int)cudaErrorInvalidValue;
}

extern "C" int acc_cuda_attention_tiled(const acc_cuda_attention_args *args,
                                        acc_cuda_stream stream)
{
    return acc_cuda_attention_tiled_keys(args, 0, stream);
}
