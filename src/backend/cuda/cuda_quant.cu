/*
 * cuda_quant.cu — kernels over ggml blocks (q8_0, q4_0, q4_K, q6_K) kept
 * as stored: a decode GEMV, a dequantization to 16 bits for prefill's
 * cuBLAS GEMMs, and an embedding gather.
 *
 * Every format is read in units of 32 consecutive values of one row that
 * share their scales: a q8_0/q4_0 block, or one of the 8 groups of a
 * q4_K/q6_K superblock.  Blocks of 34, 18 and 210 bytes are not 16-byte
 * aligned, so the GEMV streams the bytes of a row's next 32 units with
 * aligned 16-byte loads into the warp's shared memory (rounding the range
 * out to whole words; allocations carry 16 bytes of slack) and each lane
 * then takes one unit's dot product with x in f32 from there (word loads
 * and funnel shifts; integer levels turned into floats by a byte permute
 * and an add, summed against x, scaled once per unit); a warp streams 4
 * output rows at once and reuses each x value for all of them.
 * Dequantization follows the CPU reference (src/tensor/quant_*.c).
 */
#include "backend/cuda/cuda_quant.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace {

template <int Q> struct QFormat;
template <> struct QFormat<ACC_CUDA_Q8_0> {
    static constexpr int kBytes = 34, kElems = 32;
};
template <> struct QFormat<ACC_CUDA_Q4_0> {
    static constexpr int kBytes = 18, kElems = 32;
};
template <> struct QFormat<ACC_CUDA_Q4_K> {
    static constexpr int kBytes = 144, kElems = 256;
};
template <> struct QFormat<ACC_CUDA_Q6_K> {
    static constexpr int kBytes = 210, kElems = 256;
};

__device__ __forceinline__ float half_at(const unsigned char *p)
{
    unsigned short bits = (unsigned short)(p[0] | (p[1] << 8));
    return __half2float(__ushort_as_half(bits));
}

/* The 32 values of unit u (0 for the 32-value formats) of block `blk`. */
template <int Q> __device__ __forceinline__ void unit_dequant(const unsigned char *blk, int u,
                                                              float *w);

template <> __device__ __forceinline__ void unit_dequant<ACC_CUDA_Q8_0>(const unsigned char *blk,
                                                                         int, float *w)
{
    const float d = half_at(blk);
#pragma unroll
    for (int j = 0; j < 32; j++)
        w[j] = (float)(signed char)blk[2 + j] * d;
}

template <> __device__ __forceinline__ void unit_dequant<ACC_CUDA_Q4_0>(const unsigned char *blk,
                                                                         int, float *w)
{
    const float d = half_at(blk);
#pragma unroll
    for (int j = 0; j < 16; j++) {
        unsigned char q = blk[2 + j];
        w[j] = (float)((q & 0x0F) - 8) * d;
        w[j + 16] = (float)((q >> 4) - 8) * d;
    }
}

/* q4_K: d, dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of
 * nibbles; group u's values are the low (u even) or high nibbles of
 * qs[32 * (u / 2) ..]. */
template <> __device__ __forceinline__ void unit_dequant<ACC_CUDA_Q4_K>(const unsigned char *blk,
                                                                         int u, float *w)
{
    const float d = half_at(blk), dmin = half_at(blk + 2);
    const unsigned char *s = blk + 4;
    int sc, m;
    if (u < 4) {
        sc = s[u] & 63;
        m = s[u + 4] & 63;
    } else {
        sc = (s[u + 4] & 0xF) | ((s[u - 4] >> 6) << 4);
        m = (s[u + 4] >> 4) | ((s[u] >> 6) << 4);
    }
    const float scale = d * (float)sc, offset = dmin * (float)m;
    const unsigned char *qs = blk + 16 + 32 * (u / 2);
    const int shift = (u & 1) * 4;
#pragma unroll
    for (int l = 0; l < 32; l++)
        w[l] = scale * (float)((qs[l] >> shift) & 0xF) - offset;
}

/* q6_K: ql[128], qh[64], int8 scales[16], d; value e = 32u + l of half
 * h = u / 4 has the nibble of ql[64h + 32(u % 2) + l] (low for u % 4 < 2)
 * and two bits of qh[32h + l] at 2(u % 4), scale scales[e / 16]. */
template <> __device__ __forceinline__ void unit_dequant<ACC_CUDA_Q6_K>(const unsigned char *blk,
                                                                         int u, float *w)
{
    const float d = half_at(blk + 208);
    const int h = u / 4, quarter = u % 4;
    const unsigned char *ql = blk + 64 * h + 32 * (quarter & 1);
    const unsigned char *qh = blk + 128 + 32 * h;
    const signed char *scales = reinterpret_cast<const signed char *>(blk + 192);
    const float d0 = d * (float)scales[2 * u], d1 = d * (float)scales[2 * u + 1];
    const int nshift = quarter < 2 ? 0 : 4, hshift = 2 * quarter;
#pragma unroll
    for (int l = 0; l < 32; l++) {
        int q = (((ql[l] >> nshift) & 0xF) | (((qh[l] >> hshift) & 3) << 4)) - 32;
        w[l] = (l < 16 ? d0 : d1) * (float)q;
    }
}

/* ---- the same units read from shared memory as 32-bit words ---------------
 * A lane reads its unit's bytes with aligned word loads and funnel shifts
 * (any byte offset), not one load per byte. */

/* N words (4N bytes) from byte offset off of base; reads base[off/4 + N]. */
template <int N>
__device__ __forceinline__ void fetch_words(const uint32_t *base, int off, uint32_t *w)
{
    const uint32_t *p = base + (off >> 2);
    const unsigned shift = (unsigned)(off & 3) * 8u;
    uint32_t prev = p[0];
#pragma unroll
    for (int i = 0; i < N; i++) {
        uint32_t next = p[i + 1];
        w[i] = __funnelshift_r(prev, next, shift);
        prev = next;
    }
}

__device__ __forceinline__ unsigned byte_of(const uint32_t *w, int k)
{
    return (w[k >> 2] >> (8 * (k & 3))) & 0xFFu;
}

/* An f16 at an even byte offset. */
__device__ __forceinline__ float half_word(const uint32_t *base, int off)
{
    uint32_t v = base[off >> 2] >> ((off & 2) * 8);
    return __half2float(__ushort_as_half((unsigned short)(v & 0xFFFFu)));
}

/* Small integers to float without a conversion instruction: the byte
 * placed under the exponent of 2^23 (one byte permute), minus 2^23 + bias
 * (one add).  byte_value(w, b, bias) = byte b of w - bias, exactly. */
__device__ __forceinline__ float byte_value(uint32_t w, int b, float bias)
{
    return __int_as_float((int)__byte_perm(w, 0x4Bu, 0x4550u | (unsigned)b)) - (8388608.0f + bias);
}

/* sum over the unit's 32 values of value * xr[l], for x values xr and
 * their sum xs (the q4_K minimum term).  Integer levels are summed with x
 * first and scaled once per unit (per 16 values for q6_K). */
template <int Q>
__device__ __forceinline__ float unit_dot(const uint32_t *base, int off, int u, const float *xr,
                                          float xs);

template <> __device__ __forceinline__ float unit_dot<ACC_CUDA_Q8_0>(const uint32_t *base,
                                                                     int off, int,
                                                                     const float *xr, float)
{
    const float d = half_word(base, off);
    uint32_t w[8];
    fetch_words<8>(base, off + 2, w);
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const uint32_t t = w[k] ^ 0x80808080u; /* int8 -> level + 128 */
#pragma unroll
        for (int b = 0; b < 4; b++)
            s = fmaf(byte_value(t, b, 128.0f), xr[4 * k + b], s);
    }
    return d * s;
}

template <> __device__ __forceinline__ float unit_dot<ACC_CUDA_Q4_0>(const uint32_t *base,
                                                                     int off, int,
                                                                     const float *xr, float)
{
    const float d = half_word(base, off);
    uint32_t w[4];
    fetch_words<4>(base, off + 2, w);
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; k++) {
        const uint32_t lo = w[k] & 0x0F0F0F0Fu, hi = (w[k] >> 4) & 0x0F0F0F0Fu;
#pragma unroll
        for (int b = 0; b < 4; b++) {
            s = fmaf(byte_value(lo, b, 8.0f), xr[4 * k + b], s);
            s = fmaf(byte_value(hi, b, 8.0f), xr[16 + 4 * k + b], s);
        }
    }
    return d * s;
}

template <> __device__ __forceinline__ float unit_dot<ACC_CUDA_Q4_K>(const uint32_t *base,
                                                                     int off, int u,
                                                                     const float *xr, float xs)
{
    const float d = half_word(base, off), dmin = half_word(base, off + 2);
    uint32_t sw[3], w[8];
    fetch_words<3>(base, off + 4, sw);
    fetch_words<8>(base, off + 16 + 32 * (u / 2), w);
    int sc, m;
    if (u < 4) {
        sc = (int)(byte_of(sw, u) & 63);
        m = (int)(byte_of(sw, u + 4) & 63);
    } else {
        sc = (int)((byte_of(sw, u + 4) & 0xF) | ((byte_of(sw, u - 4) >> 6) << 4));
        m = (int)((byte_of(sw, u + 4) >> 4) | ((byte_of(sw, u) >> 6) << 4));
    }
    const int shift = (u & 1) * 4;
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const uint32_t q = (w[k] >> shift) & 0x0F0F0F0Fu;
#pragma unroll
        for (int b = 0; b < 4; b++)
            s = fmaf(byte_value(q, b, 0.0f), xr[4 * k + b], s);
    }
    return d * (float)sc * s - dmin * (float)m * xs;
}

template <> __device__ __forceinline__ float unit_dot<ACC_CUDA_Q6_K>(const uint32_t *base,
                                                                     int off, int u,
                                                                     const float *xr, float)
{
    const float d = half_word(base, off + 208);
    const int h = u / 4, quarter = u % 4;
    uint32_t lw[8], hw[8], scw[1];
    fetch_words<8>(base, off + 64 * h + 32 * (quarter & 1), lw);
    fetch_words<8>(base, off + 128 + 32 * h, hw);
    fetch_words<1>(base, off + 192 + 2 * u, scw);
    const int nshift = quarter < 2 ? 0 : 4, hshift = 2 * quarter;
    float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const uint32_t q = ((lw[k] >> nshift) & 0x0F0F0F0Fu) | (((hw[k] >> hshift) & 0x03030303u) << 4);
#pragma unroll
        for (int b = 0; b < 4; b++) {
            if (k < 4)
                s0 = fmaf(byte_value(q, b, 32.0f), xr[4 * k + b], s0);
            else
                s1 = fmaf(byte_value(q, b, 32.0f), xr[4 * k + b], s1);
        }
    }
    return d * (float)(signed char)byte_of(scw, 0) * s0 +
           d * (float)(signed char)byte_of(scw, 1) * s1;
}

constexpr int kWarps = 4;
constexpr int kRowsPerWarpDefault = 4; /* output rows a warp streams together, sharing x */
constexpr int kStageWords = 72;  /* >= 32 units' bytes + alignment + the extra word, every format */

/* Asynchronous 16-byte global -> shared copies (sm_80+), so a round's
 * loads are in flight while the previous round computes. */
__device__ __forceinline__ void copy16_async(void *smem, const void *gmem)
{
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem));
}
__device__ __forceinline__ void copy_commit()
{
    asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> __device__ __forceinline__ void copy_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/* Each warp takes kRowsPerWarp output rows.  A round covers the next 32
 * units of each row: their bytes (rounded out to aligned 16-byte words)
 * are copied into one of two shared-memory stages with cp.async while
 * the other stage is being computed, then each lane takes its unit of
 * every row from there.  x is read once per round per x row. */
template <int Q, int kRowsPerWarp>
__global__ void __launch_bounds__(kWarps * 32)
    qgemv_kernel(const unsigned char *w, const float *x, int rows, int64_t in, int64_t out,
                 const float *bias, float *y)
{
    using F = QFormat<Q>;
    constexpr int kUnits = F::kElems / 32; /* units per block */
    constexpr int kBlocksPerRound = 32 / kUnits;
    static_assert(kBlocksPerRound * F::kBytes + 15 + 16 + 16 <= kStageWords * 16, "stage too small");
    __shared__ uint4 stage[2][kWarps][kRowsPerWarp][kStageWords];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t o0 = ((int64_t)blockIdx.x * kWarps + warp) * kRowsPerWarp;
    if (o0 >= out)
        return;
    const int n_out = out - o0 < kRowsPerWarp ? (int)(out - o0) : kRowsPerWarp;
    const int64_t nb = in / F::kElems;
    const size_t row_bytes = (size_t)nb * F::kBytes;
    float acc[kRowsPerWarp][ACC_CUDA_GEMV_MAX_ROWS];
#pragma unroll
    for (int g = 0; g < kRowsPerWarp; g++)
#pragma unroll
        for (int r = 0; r < ACC_CUDA_GEMV_MAX_ROWS; r++)
            acc[g][r] = 0.0f;
    /* queues the copies of the round starting at block b0 into stage s */
    auto issue = [&](int64_t b0, int s) {
        const int64_t b1 = b0 + kBlocksPerRound < nb ? b0 + kBlocksPerRound : nb;
#pragma unroll
        for (int g = 0; g < kRowsPerWarp; g++) {
            if (g >= n_out)
                break;
            const unsigned char *row = w + (size_t)(o0 + g) * row_bytes;
            const uintptr_t start = (uintptr_t)(row + (size_t)b0 * F::kBytes);
            const uintptr_t end = (uintptr_t)(row + (size_t)b1 * F::kBytes);
            const uintptr_t a0 = start & ~(uintptr_t)15, a1 = (end + 15) & ~(uintptr_t)15;
            const int words = (int)((a1 - a0) / 16) + 1; /* + the word fetch_words may touch */
            for (int i = lane; i < words; i += 32)
                copy16_async(&stage[s][warp][g][i], reinterpret_cast<const uint4 *>(a0) + i);
        }
        copy_commit();
    };
    issue(0, 0);
    int s = 0;
    for (int64_t b0 = 0; b0 < nb; b0 += kBlocksPerRound, s ^= 1) {
        if (b0 + kBlocksPerRound < nb) {
            issue(b0 + kBlocksPerRound, s ^ 1);
            copy_wait<1>();
        } else {
            copy_wait<0>();
        }
        __syncwarp();
        const int64_t b1 = b0 + kBlocksPerRound < nb ? b0 + kBlocksPerRound : nb;
        const int units = (int)(b1 - b0) * kUnits;
        if (lane < units) {
            const int b = lane / kUnits, u = lane % kUnits;
            const int64_t col = (b0 + b) * F::kElems + 32 * u;
            int first[kRowsPerWarp]; /* byte offset of the round's first block in its stage */
#pragma unroll
            for (int g = 0; g < kRowsPerWarp; g++)
                first[g] = (int)((uintptr_t)(w + (size_t)(o0 + g) * row_bytes +
                                             (size_t)b0 * F::kBytes) &
                                 15);
#pragma unroll
            for (int r = 0; r < ACC_CUDA_GEMV_MAX_ROWS; r++) {
                if (r >= rows)
                    break;
                float xr[32], xs = 0.0f;
                const float4 *xp = reinterpret_cast<const float4 *>(x + r * in + col);
#pragma unroll
                for (int j = 0; j < 8; j++) {
                    float4 t = __ldg(xp + j);
                    xr[4 * j] = t.x;
                    xr[4 * j + 1] = t.y;
                    xr[4 * j + 2] = t.z;
                    xr[4 * j + 3] = t.w;
                }
                if (Q == ACC_CUDA_Q4_K) {
#pragma unroll
                    for (int j = 0; j < 32; j++)
                        xs += xr[j];
                }
#pragma unroll
                for (int g = 0; g < kRowsPerWarp; g++) {
                    if (g >= n_out)
                        break;
                    acc[g][r] += unit_dot<Q>(reinterpret_cast<const uint32_t *>(stage[s][warp][g]),
                                             first[g] + b * F::kBytes, u, xr, xs);
                }
            }
        }
        __syncwarp(); /* this stage is refilled by the next round's issue */
    }
#pragma unroll
    for (int g = 0; g < kRowsPerWarp; g++) {
        if (g >= n_out)
            break;
#pragma unroll
        for (int r = 0; r < ACC_CUDA_GEMV_MAX_ROWS; r++) {
            if (r >= rows)
                break;
            float sum = acc[g][r];
            for (int off = 16; off > 0; off >>= 1)
                sum += __shfl_xor_sync(0xffffffffu, sum, off);
            if (lane == 0)
                y[r * out + o0 + g] = sum + (bias ? bias[o0 + g] : 0.0f);
        }
    }
}

__device__ __forceinline__ void store_value(float v, float *out)
{
    *out = v;
}
__device__ __forceinline__ void store_value(float v, __half *out)
{
    *out = __float2half_rn(v);
}
__device__ __forceinline__ void store_value(float v, __nv_bfloat16 *out)
{
    *out = __float2bfloat16_rn(v);
}

/* One thread per unit of rows x cols; out row-major. */
template <int Q, typename T>
__global__ void qdequant_kernel(const unsigned char *w, int64_t rows, int64_t cols, T *out)
{
    using F = QFormat<Q>;
    constexpr int kUnits = F::kElems / 32;
    const int64_t units_per_row = cols / 32, nb = cols / F::kElems;
    const int64_t total = rows * units_per_row;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t / units_per_row, k = t % units_per_row;
        const int64_t b = k / kUnits;
        const int u = (int)(k % kUnits);
        float v[32];
        unit_dequant<Q>(w + ((size_t)r * (size_t)nb + (size_t)b) * F::kBytes, u, v);
        T *dst = out + r * cols + 32 * k;
#pragma unroll
        for (int j = 0; j < 32; j++)
            store_value(v[j], dst + j);
    }
}

template <int Q>
__global__ void qembed_kernel(const unsigned char *table, const int32_t *index, int64_t rows,
                              int64_t cols, float *y)
{
    using F = QFormat<Q>;
    constexpr int kUnits = F::kElems / 32;
    const int64_t units_per_row = cols / 32, nb = cols / F::kElems;
    const int64_t total = rows * units_per_row;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t / units_per_row, k = t % units_per_row;
        const int64_t b = k / kUnits;
        const int u = (int)(k % kUnits);
        float v[32];
        unit_dequant<Q>(table + ((size_t)index[r] * (size_t)nb + (size_t)b) * F::kBytes, u, v);
        float *dst = y + r * cols + 32 * k;
#pragma unroll
        for (int j = 0; j < 32; j++)
            dst[j] = v[j];
    }
}

int elems_of(acc_cuda_qtype q)
{
    return q == ACC_CUDA_Q4_K || q == ACC_CUDA_Q6_K ? 256 : 32;
}

unsigned grid_for(int64_t work, int threads)
{
    int64_t blocks = (work + threads - 1) / threads;
    return (unsigned)(blocks < 1 ? 1 : blocks > 65535 * 16 ? 65535 * 16 : blocks);
}

template <int Q, int RPW>
int launch_qgemv_rpw(const void *w, const float *x, int64_t rows, int64_t in, int64_t out,
                     const float *bias, float *y, cudaStream_t stream)
{
    const int64_t per_block = (int64_t)kWarps * RPW;
    unsigned blocks = (unsigned)((out + per_block - 1) / per_block);
    qgemv_kernel<Q, RPW><<<blocks, kWarps * 32, 0, stream>>>(
        static_cast<const unsigned char *>(w), x, (int)rows, in, out, bias, y);
    return (int)cudaGetLastError();
}

template <int Q>
int launch_qgemv(const void *w, const float *x, int64_t rows, int64_t in, int64_t out,
                 const float *bias, float *y, int rows_per_warp, cudaStream_t stream)
{
    switch (rows_per_warp ? rows_per_warp : kRowsPerWarpDefault) {
    case 1: return launch_qgemv_rpw<Q, 1>(w, x, rows, in, out, bias, y, stream);
    case 2: return launch_qgemv_rpw<Q, 2>(w, x, rows, in, out, bias, y, stream);
    case 4: return launch_qgemv_rpw<Q, 4>(w, x, rows, in, out, bias, y, stream);
    default: return (int)cudaErrorInvalidValue;
    }
}

template <int Q>
int launch_qdequant(const void *w, int64_t rows, int64_t cols, acc_cuda_dtype dtype, void *out,
                    cudaStream_t stream)
{
    const unsigned char *src = static_cast<const unsigned char *>(w);
    unsigned blocks = grid_for(rows * (cols / 32), 256);
    if (dtype == ACC_CUDA_F16)
        qdequant_kernel<Q, __half><<<blocks, 256, 0, stream>>>(src, rows, cols,
                                                                static_cast<__half *>(out));
    else if (dtype == ACC_CUDA_BF16)
        qdequant_kernel<Q, __nv_bfloat16><<<blocks, 256, 0, stream>>>(
            src, rows, cols, static_cast<__nv_bfloat16 *>(out));
    else
        qdequant_kernel<Q, float><<<blocks, 256, 0, stream>>>(src, rows, cols,
                                                               static_cast<float *>(out));
    return (int)cudaGetLastError();
}

template <int Q>
int launch_qembed(const void *table, const int32_t *index, int64_t rows, int64_t cols, float *y,
                  cudaStream_t stream)
{
    qembed_kernel<Q><<<grid_for(rows * (cols / 32), 256), 256, 0, stream>>>(
        static_cast<const unsigned char *>(table), index, rows, cols, y);
    return (int)cudaGetLastError();
}

} // namespace

extern "C" size_t acc_cuda_quant_alloc_bytes(size_t bytes)
{
    return ((bytes + 15) & ~(size_t)15) + 16;
}

extern "C" int acc_cuda_qgemv(acc_cuda_qtype qtype, const void *w, const float *x, int64_t rows,
                              int64_t in, int64_t out, const float *bias, float *y,
                              acc_cuda_stream stream)
{
    return acc_cuda_qgemv_variant(qtype, w, x, rows, in, out, bias, y, 0, stream);
}

extern "C" int acc_cuda_qgemv_variant(acc_cuda_qtype qtype, const void *w, const float *x,
                                      int64_t rows, int64_t in, int64_t out, const float *bias,
                                      float *y, int rows_per_warp, acc_cuda_stream stream)
{
    if (rows < 1 || rows > ACC_CUDA_GEMV_MAX_ROWS || in % elems_of(qtype) != 0 || out < 1)
        return (int)cudaErrorInvalidValue;
    switch (qtype) {
    case ACC_CUDA_Q8_0:
        return launch_qgemv<ACC_CUDA_Q8_0>(w, x, rows, in, out, bias, y, rows_per_warp, stream);
    case ACC_CUDA_Q4_0:
        return launch_qgemv<ACC_CUDA_Q4_0>(w, x, rows, in, out, bias, y, rows_per_warp, stream);
    case ACC_CUDA_Q4_K:
        return launch_qgemv<ACC_CUDA_Q4_K>(w, x, rows, in, out, bias, y, rows_per_warp, stream);
    case ACC_CUDA_Q6_K:
        return launch_qgemv<ACC_CUDA_Q6_K>(w, x, rows, in, out, bias, y, rows_per_warp, stream);
    default: return (int)cudaErrorInvalidValue;
    }
}

extern "C" int acc_cuda_qdequant(acc_cuda_qtype qtype, const void *w, int64_t rows, int64_t cols,
                                 acc_cuda_dtype dtype, void *out, acc_cuda_stream stream)
{
    if (rows < 1 || cols % elems_of(qtype) != 0)
        return (int)cudaErrorInvalidValue;
    switch (qtype) {
    case ACC_CUDA_Q8_0: return launch_qdequant<ACC_CUDA_Q8_0>(w, rows, cols, dtype, out, stream);
    case ACC_CUDA_Q4_0: return launch_qdequant<ACC_CUDA_Q4_0>(w, rows, cols, dtype, out, stream);
    case ACC_CUDA_Q4_K: return launch_qdequant<ACC_CUDA_Q4_K>(w, rows, cols, dtype, out, stream);
    case ACC_CUDA_Q6_K: return launch_qdequant<ACC_CUDA_Q6_K>(w, rows, cols, dtype, out, stream);
    default: return (int)cudaErrorInvalidValue;
    }
}

extern "C" int acc_cuda_qembed(acc_cuda_qtype qtype, const void *table, const int32_t *index,
                               int64_t rows, int64_t cols, float *y, acc_cuda_stream stream)
{
    if (rows < 1 || cols % elems_of(qtype) != 0)
        return (int)cudaErrorInvalidValue;
    switch (qtype) {
    case ACC_CUDA_Q8_0: return launch_qembed<ACC_CUDA_Q8_0>(table, index, rows, cols, y, stream);
    case ACC_CUDA_Q4_0: return launch_qembed<ACC_CUDA_Q4_0>(table, index, rows, cols, y, stream);
    case ACC_CUDA_Q4_K: return launch_qembed<ACC_CUDA_Q4_K>(table, index, rows, cols, y, stream);
    case ACC_CUDA_Q6_K: return launch_qembed<ACC_CUDA_Q6_K>(table, index, rows, cols, y, stream);
    default: return (int)cudaErrorInvalidValue;
    }
}
