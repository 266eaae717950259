/*
 * cuda_sample.cu — the host sampler's rules (src/engine/sampler.c) on the
 * GPU, one 1024-thread block per logits row, so batched decode copies
 * token ids instead of rows x vocab floats.
 *
 * Nothing is sorted.  Logits scaled by 1/temperature map to unsigned keys
 * whose order is the float order; the k-th best token of the total order
 * (logit descending, id ascending) is found by a 4-pass radix select over
 * the keys (8 bits a pass, counts in shared memory) and ties at that key
 * are settled in id order by a block scan.  Top-p runs the same descent
 * with each bin's probability mass, so it finds the last rank whose mass
 * before it is < top_p.  The draw scans the kept tokens' weights in id
 * order (chunks per thread, a block scan of the chunk sums).  Weights and
 * sums are double, as on the host.
 */
#include "backend/cuda/cuda_sample.h"

#include <cuda_runtime.h>
#include <math.h>

namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32; /* 32: one warp reduces the warp results */

struct SampleShared {
    int hist[256];
    double mass[256];
    double dbuf[kWarps];
    int ibuf[kWarps];
    float fbuf[kWarps];
    int i0, i1;
    unsigned u0;
    double d0;
};

/* Unsigned key whose order is the float order (NaN excluded); -0 and +0
 * compare equal on the host, so they share a key. */
__device__ __forceinline__ unsigned order_key(float f)
{
    if (f == 0.0f)
        f = 0.0f;
    unsigned b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ float key_value(unsigned k)
{
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/* A candidate of the host sampler: not NaN, not -inf (before scaling). */
__device__ __forceinline__ bool valid_logit(float v)
{
    return !isnan(v) && v != -INFINITY;
}

/* v reduced with op over the block (a shuffle tree per warp, then one
 * over the warp results in buf); every thread gets the result. */
template <typename T, typename Op> __device__ T block_reduce(T v, T *buf, Op op)
{
    for (int o = 16; o > 0; o >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0)
        buf[threadIdx.x >> 5] = v;
    __syncthreads();
    v = buf[threadIdx.x & 31];
    for (int o = 16; o > 0; o >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

struct Add {
    template <typename T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct MinInt {
    __device__ int operator()(int a, int b) const { return min(a, b); }
};
struct MaxFloat {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

__device__ int block_sum_int(int v, SampleShared &sh)
{
    return block_reduce(v, sh.ibuf, Add());
}

__device__ int block_min_int(int v, SampleShared &sh)
{
    return block_reduce(v, sh.ibuf, MinInt());
}

__device__ int block_max_int(int v, SampleShared &sh)
{
    return -block_min_int(-v, sh);
}

__device__ float block_max_float(float v, SampleShared &sh)
{
    return block_reduce(v, sh.fbuf, MaxFloat());
}

__device__ double block_sum_double(double v, SampleShared &sh)
{
    return block_reduce(v, sh.dbuf, Add());
}

/* Exclusive prefix of v over the threads in order (no subtraction, so a
 * thread's range [prefix, prefix + v) adds up as its own walk does). */
template <typename T> __device__ T block_exclusive_scan(T v, T *buf)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    T x = v;
    for (int o = 1; o < 32; o <<= 1) {
        T y = __shfl_up_sync(0xffffffffu, x, o);
        if (lane >= o)
            x += y;
    }
    T before = __shfl_up_sync(0xffffffffu, x, 1);
    if (lane == 0)
        before = T(0);
    __syncthreads();
    if (lane == 31)
        buf[warp] = x;
    __syncthreads();
    T w = buf[lane];
    for (int o = 1; o < 32; o <<= 1) {
        T y = __shfl_up_sync(0xffffffffu, w, o);
        if (lane >= o)
            w += y;
    }
    T wbefore = __shfl_up_sync(0xffffffffu, w, 1);
    if (lane == 0)
        wbefore = T(0);
    return __shfl_sync(0xffffffffu, wbefore, warp) + before;
}

/* Argmax of the raw row: NaN never wins, ties to the lowest id, 0 when
 * every value is NaN (the host's sampler_argmax). */
__device__ int argmax_row(const float *x, int n, SampleShared &sh)
{
    float best = -INFINITY;
    int id = n, found = 0;
    for (int i = threadIdx.x; i < n; i += kThreads) {
        float v = x[i];
        if (isnan(v))
            continue;
        if (!found || v > best) {
            best = v;
            id = i;
            found = 1;
        }
    }
    /* the best value over the block, then the lowest id holding it */
    float top = block_max_float(found ? best : -INFINITY, sh);
    int any = block_sum_int(found, sh);
    int winner = block_min_int(found && best == top ? id : n, sh);
    return any ? winner : 0;
}

/* The m-th (1-based) id, in id order, for which pred holds; -1 if none. */
template <typename Pred> __device__ int nth_in_id_order(int n, int m, Pred pred, SampleShared &sh)
{
    int chunk = (n + kThreads - 1) / kThreads;
    int lo = threadIdx.x * chunk, hi = min(n, lo + chunk);
    int count = 0;
    for (int i = lo; i < hi; i++)
        count += pred(i) ? 1 : 0;
    if (threadIdx.x == 0)
        sh.i1 = -1;
    int before = block_exclusive_scan<int>(count, sh.ibuf);
    if (before < m && m <= before + count) {
        int seen = before;
        for (int i = lo; i < hi; i++)
            if (pred(i) && ++seen == m) {
                sh.i1 = i;
                break;
            }
    }
    __syncthreads();
    return sh.i1;
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float *logits, int n, const acc_cuda_sample_params *params,
                  int32_t *tokens)
{
    __shared__ SampleShared sh;
    const float *x = logits + (size_t)blockIdx.x * (size_t)n;
    const acc_cuda_sample_params p = params[blockIdx.x];
    const float temp = p.temperature;
    if (!(temp > 0.0f)) {
        int id = argmax_row(x, n, sh);
        if (threadIdx.x == 0)
            tokens[blockIdx.x] = id;
        return;
    }
    int valid_here = 0;
    for (int i = threadIdx.x; i < n; i += kThreads)
        valid_here += valid_logit(x[i]) ? 1 : 0;
    int n_valid = block_sum_int(valid_here, sh);
    if (n_valid == 0) {
        int id = argmax_row(x, n, sh);
        if (threadIdx.x == 0)
            tokens[blockIdx.x] = id;
        return;
    }

    /* top-k: exactly k tokens of the total order survive */
    const bool has_k = p.top_k > 0 && p.top_k < n_valid;
    unsigned key_k = 0;
    int tie_k = n;
    auto keep_k = [&](int i, unsigned key) {
        return !has_k || key > key_k || (key == key_k && i <= tie_k);
    };
    if (has_k) {
        unsigned prefix = 0, mask = 0;
        int remaining = p.top_k;
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int d = threadIdx.x; d < 256; d += kThreads)
                sh.hist[d] = 0;
            __syncthreads();
            for (int i = threadIdx.x; i < n; i += kThreads) {
                float v = x[i];
                if (!valid_logit(v))
                    continue;
                unsigned key = order_key(v / temp);
                if ((key & mask) == prefix)
                    atomicAdd(&sh.hist[(key >> shift) & 255u], 1);
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                int digit = 0;
                for (int d = 255; d >= 0; d--) {
                    if (sh.hist[d] >= remaining) {
                        digit = d;
                        break;
                    }
                    remaining -= sh.hist[d];
                }
                sh.u0 = (unsigned)digit;
                sh.i0 = remaining;
            }
            __syncthreads();
            prefix |= sh.u0 << shift;
            mask |= 255u << shift;
            remaining = sh.i0;
            __syncthreads();
        }
        key_k = prefix;
        /* `remaining` ties at key_k survive: the lowest ids */
        int tie = nth_in_id_order(
            n, remaining,
            [&](int i) { return valid_logit(x[i]) && order_key(x[i] / temp) == prefix; }, sh);
        tie_k = tie >= 0 ? tie : n;
    }

    /* the largest surviving scaled logit; an infinite one decides alone */
    float local_max = -INFINITY;
    for (int i = threadIdx.x; i < n; i += kThreads) {
        float v = x[i];
        if (!valid_logit(v))
            continue;
        float s = v / temp;
        if (keep_k(i, order_key(s)))
            local_max = fmaxf(local_max, s);
    }
    const float max_s = block_max_float(local_max, sh);
    if (isinf(max_s)) {
        int best = n;
        for (int i = threadIdx.x; i < n; i += kThreads) {
            float v = x[i];
            if (!valid_logit(v))
                continue;
            float s = v / temp;
            if (isinf(s) && keep_k(i, order_key(s)))
                best = min(best, i);
        }
        best = block_min_int(best, sh);
        if (threadIdx.x == 0)
            tokens[blockIdx.x] = best;
        return;
    }
    const double max_d = (double)max_s;

    /* top-p: the ranks whose mass before them is < top_p of the total */
    const bool has_p = p.top_p < 1.0f;
    unsigned key_p = 0;
    int tie_p = n;
    auto keep_p = [&](int i, unsigned key) {
        return !has_p || key > key_p || (key == key_p && i <= tie_p);
    };
    if (has_p) {
        double local = 0.0;
        for (int i = threadIdx.x; i < n; i += kThreads) {
            float v = x[i];
            if (!valid_logit(v))
                continue;
            float s = v / temp;
            if (keep_k(i, order_key(s)))
                local += exp((double)s - max_d);
        }
        const double total = block_sum_double(local, sh);
        const double top_p = (double)p.top_p;
        unsigned prefix = 0, mask = 0;
        double before = 0.0;
        int ties = 1;
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int d = threadIdx.x; d < 256; d += kThreads) {
                sh.hist[d] = 0;
                sh.mass[d] = 0.0;
            }
            __syncthreads();
            for (int i = threadIdx.x; i < n; i += kThreads) {
                float v = x[i];
                if (!valid_logit(v))
                    continue;
                float s = v / temp;
                unsigned key = order_key(s);
                if ((key & mask) == prefix && keep_k(i, key)) {
                    unsigned d = (key >> shift) & 255u;
                    atomicAdd(&sh.hist[d], 1);
                    atomicAdd(&sh.mass[d], exp((double)s - max_d));
                }
            }
            __syncthreads();
            if (threadIdx.x == 0) {
                int digit = -1, last = 0;
                double last_mass = 0.0;
                for (int d = 255; d >= 0; d--) {
                    if (sh.hist[d] == 0)
                        continue;
                    if ((before + sh.mass[d]) / total >= top_p) {
                        digit = d;
                        break;
                    }
                    before += sh.mass[d];
                    last = d;
                    last_mass = sh.mass[d];
                }
                if (digit < 0) { /* rounding: the nucleus is everything */
                    digit = last;
                    before -= last_mass;
                }
                sh.u0 = (unsigned)digit;
                sh.d0 = before;
                sh.i0 = sh.hist[digit];
            }
            __syncthreads();
            prefix |= sh.u0 << shift;
            mask |= 255u << shift;
            before = sh.d0;
            ties = sh.i0;
            __syncthreads();
        }
        key_p = prefix;
        /* ties at key_p in id order while the mass before them is < top_p */
        if (threadIdx.x == 0) {
            double w = exp((double)key_value(prefix) - max_d), head = before;
            int m = 0;
            while (m < ties && head / total < top_p) {
                head += w;
                m++;
            }
            sh.i0 = m > 0 ? m : 1;
        }
        __syncthreads();
        int m = sh.i0;
        int tie = nth_in_id_order(
            n, m,
            [&](int i) {
                if (!valid_logit(x[i]))
                    return false;
                unsigned key = order_key(x[i] / temp);
                return key == prefix && keep_k(i, key);
            },
            sh);
        tie_p = tie >= 0 ? tie : n;
    }

    /* the kept tokens' weights (-1: not kept), min-p applied; one draw in
     * id order */
    const double min_p = (double)p.min_p;
    auto weight = [&](int i) -> double {
        float v = x[i];
        if (!valid_logit(v))
            return -1.0;
        float s = v / temp;
        unsigned key = order_key(s);
        if (!keep_k(i, key) || !keep_p(i, key))
            return -1.0;
        double w = exp((double)s - max_d);
        if (p.min_p > 0.0f && !(w >= min_p))
            return -1.0;
        return w;
    };
    int chunk = (n + kThreads - 1) / kThreads;
    int lo = threadIdx.x * chunk, hi = min(n, lo + chunk);
    double chunk_sum = 0.0;
    int last_kept = -1;
    for (int i = lo; i < hi; i++) {
        double w = weight(i);
        if (w >= 0.0) {
            chunk_sum += w;
            last_kept = i;
        }
    }
    double before = block_exclusive_scan<double>(chunk_sum, sh.dbuf);
    double sum = block_sum_double(chunk_sum, sh);
    int fallback = block_max_int(last_kept, sh);
    if (threadIdx.x == 0)
        sh.i1 = -1;
    __syncthreads();
    double target = p.u * sum;
    if (before <= target && target < before + chunk_sum) {
        double acc = before;
        for (int i = lo; i < hi; i++) {
            double w = weight(i);
            if (!(w >= 0.0))
                continue;
            acc += w;
            if (target < acc) {
                sh.i1 = i;
                break;
            }
        }
    }
    __syncthreads();
    if (threadIdx.x == 0)
        tokens[blockIdx.x] = sh.i1 >= 0 ? sh.i1 : (fallback >= 0 ? fallback : 0);
}

} // namespace

extern "C" int acc_cuda_sample(const float *logits, int64_t rows, int64_t vocab,
                               const acc_cuda_sample_params *params, int32_t *tokens,
                               struct CUstream_st *stream)
{
    if (rows < 1)
        return 0;
    if (vocab < 1 || vocab > 0x7fffffff || rows > 0x7fffffff)
        return (int)cudaErrorInvalidValue;
    sample_kernel<<<(unsigned)rows, kThreads, 0, stream>>>(logits, (int)vocab, params, tokens);
    return (int)cudaGetLastError();
}
