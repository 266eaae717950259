/*
 * flash_bench.cu — check and microbenchmark of the tiled prefill attention
 * (src/backend/cuda/cuda_flash.cu) and of the f16-cache per-token (decode)
 * attention (cuda_kernels.cu).  Each case builds a paged KV cache of
 * f16-representable values (shuffled block tables, sequences with earlier
 * context, as chunked prefill leaves them), in f16 and in f32, runs the
 * tiled kernel and the grouped per-token kernel on the f16 copy and the
 * exact per-token kernel on the f32 one, and compares every output
 * (NaN-poisoned first) by ||x - exact|| / ||exact||; then times the
 * Llama-3.1-8B shape (32 heads, 8 KV heads, head_dim 128) at 512 to 4096
 * tokens, in causal TFLOP/s (QK^T and PV, 2 FLOP per multiply-add), per
 * tiled-kernel variant (acc_cuda_attention_tiled_variant, cuda_kernels.h), and
 * decode steps (one new token per sequence, batch 1 and 128).
 * Build: nvcc -O3 -arch=sm_90 -I src -I include bench/cuda/flash_bench.cu
 *   src/backend/cuda/cuda_flash.cu src/backend/cuda/cuda_kernels.cu -o flash_bench
 * Run: flash_bench (checks + tables); flash_bench TOKENS VARIANT (one tiled
 *   prefill shape); flash_bench decode SEQS CONTEXT SPLITS (one decode shape);
 *   the last two are for a profiler.
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t rng_state = 88172645463325252ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

template <typename T> static T *upload(const std::vector<T> &v)
{
    T *d;
    CHECK(cudaMalloc(&d, v.size() * sizeof(T) + 16));
    CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

struct Case {
    int n_heads, n_kv_heads, head_dim, n_seqs, prev, n_new;
};

static double rel_error(const float *x, const float *ref, size_t n)
{
    std::vector<float> hx(n), hr(n);
    CHECK(cudaMemcpy(hx.data(), x, n * 4, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(hr.data(), ref, n * 4, cudaMemcpyDeviceToHost));
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)hx[i] - hr[i];
        num += d * d;
        den += (double)hr[i] * hr[i];
    }
    return sqrt(num / den); /* NaN (unwritten) propagates: fails the check */
}

struct Result {
    double rel_tiled, rel_group, flops;
    float ms[3]; /* median: tiled, exact per-token, grouped per-token */
};

/* splits: of the per-token kernels (decode with split-K).  The tiled
 * kernel runs where it takes the head_dim. */
static Result run_case(const Case &c, int variant, int reps, int splits)
{
    Result res = {};
    double *flops = &res.flops;
    int tiled = acc_cuda_attention_tiled_supported(c.head_dim);
    const int bs = 16;
    int ctx = c.prev + c.n_new;
    int blocks_per_seq = (ctx + bs - 1) / bs;
    int n_blocks = blocks_per_seq * c.n_seqs;
    int64_t kv_dim = (int64_t)c.n_kv_heads * c.head_dim, q_cols = (int64_t)c.n_heads * c.head_dim;
    int rows = c.n_seqs * c.n_new;
    std::vector<int32_t> perm(n_blocks);
    for (int i = 0; i < n_blocks; i++)
        perm[i] = i;
    for (int i = n_blocks - 1; i > 0; i--)
        std::swap(perm[i], perm[(int)((frand() * 0.5f + 0.5f) * i) % (i + 1)]);
    std::vector<float> kc((size_t)n_blocks * bs * kv_dim), vc(kc.size()), q((size_t)rows * q_cols);
    std::vector<__half> kh(kc.size()), vh(kc.size());
    for (size_t i = 0; i < kc.size(); i++) {
        kh[i] = __float2half_rn(frand());
        vh[i] = __float2half_rn(frand());
        kc[i] = __half2float(kh[i]);
        vc[i] = __half2float(vh[i]);
    }
    for (auto &x : q)
        x = 3.0f * frand();
    std::vector<int32_t> pos(rows), seq(rows), tiles;
    *flops = 0.0;
    for (int s = 0; s < c.n_seqs; s++)
        for (int t = 0; t < c.n_new; t++) {
            int r = s * c.n_new + t;
            pos[r] = c.prev + t;
            seq[r] = s;
            *flops += 4.0 * c.n_heads * c.head_dim * (pos[r] + 1);
            if (t % 64 == 0) {
                tiles.push_back(r);
                tiles.push_back(std::min(64, c.n_new - t));
            }
        }
    int n_tiles = (int)tiles.size() / 2;
    float *dk = upload(kc), *dv = upload(vc), *dq = upload(q);
    __half *dkh = upload(kh), *dvh = upload(vh);
    float *partial;
    CHECK(cudaMalloc(&partial, (size_t)rows * c.n_heads * splits * (c.head_dim + 2) * 4));
    int *counters; /* the grouped kernel merges its splits itself */
    CHECK(cudaMalloc(&counters, (size_t)rows * c.n_heads * sizeof(int)));
    CHECK(cudaMemset(counters, 0, (size_t)rows * c.n_heads * sizeof(int)));
    int32_t *dpos = upload(pos), *dseq = upload(seq), *dtab = upload(perm), *dtiles = upload(tiles);
    float *out_t, *out_e, *out_g;
    CHECK(cudaMalloc(&out_t, q.size() * 4));
    CHECK(cudaMalloc(&out_e, q.size() * 4));
    CHECK(cudaMalloc(&out_g, q.size() * 4));
    CHECK(cudaMemset(out_t, 0xff, q.size() * 4)); /* NaN */
    CHECK(cudaMemset(out_e, 0xff, q.size() * 4));
    CHECK(cudaMemset(out_g, 0xff, q.size() * 4));
    acc_cuda_attention_args a = {};
    a.q = dq;
    a.k_cache = dkh;
    a.v_cache = dvh;
    a.kv16 = 1;
    a.rows = rows;
    a.n_heads = c.n_heads;
    a.n_kv_heads = c.n_kv_heads;
    a.head_dim = c.head_dim;
    a.scale = 1.0f / sqrtf((float)c.head_dim);
    a.positions = dpos;
    a.token_seq = dseq;
    a.tables = dtab;
    a.table_stride = blocks_per_seq;
    a.block_size = bs;
    a.n_splits = 1;
    a.tiles = dtiles;
    a.n_tiles = n_tiles;
    acc_cuda_attention_args e = a, g = a;
    e.k_cache = dk;
    e.v_cache = dv;
    e.kv16 = 0;
    e.out = out_e;
    e.n_splits = splits;
    e.partial = partial;
    g.out = out_g;
    g.n_splits = splits;
    g.partial = partial;
    g.counters = counters;
    a.out = out_t;
    CHECK((cudaError_t)acc_cuda_attention(&e, 0));
    CHECK((cudaError_t)acc_cuda_attention(&g, 0));
    if (tiled)
        CHECK((cudaError_t)acc_cuda_attention_tiled_variant(&a, variant, 0));
    CHECK(cudaDeviceSynchronize());
    res.rel_tiled = tiled ? rel_error(out_t, out_e, q.size()) : 0.0;
    res.rel_group = rel_error(out_g, out_e, q.size());
    std::vector<int> left((size_t)rows * c.n_heads);
    CHECK(cudaMemcpy(left.data(), counters, left.size() * sizeof(int), cudaMemcpyDeviceToHost));
    for (int x : left)
        if (x != 0)
            res.rel_group = 1.0; /* a counter not reset: fails the check */
    cudaEvent_t ev0, ev1;
    CHECK(cudaEventCreate(&ev0));
    CHECK(cudaEventCreate(&ev1));
    for (int which = tiled ? 0 : 1; which < 3; which++) {
        std::vector<float> times;
        for (int i = 0; i < reps; i++) {
            CHECK(cudaEventRecord(ev0));
            if (which == 0)
                CHECK((cudaError_t)acc_cuda_attention_tiled_variant(&a, variant, 0));
            else
                CHECK((cudaError_t)acc_cuda_attention(which == 1 ? &e : &g, 0));
            CHECK(cudaEventRecord(ev1));
            CHECK(cudaEventSynchronize(ev1));
            float ms;
            CHECK(cudaEventElapsedTime(&ms, ev0, ev1));
            times.push_back(ms);
        }
        std::sort(times.begin(), times.end());
        res.ms[which] = times.empty() ? 0.0f : times[times.size() / 2];
    }
    cudaEventDestroy(ev0);
    cudaEventDestroy(ev1);
    cudaFree(dk), cudaFree(dv), cudaFree(dq), cudaFree(dpos), cudaFree(dseq), cudaFree(dtab),
        cudaFree(dtiles), cudaFree(out_t), cudaFree(out_e), cudaFree(out_g), cudaFree(dkh),
        cudaFree(dvh), cudaFree(partial), cudaFree(counters);
    return res;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "decode") == 0) {
        /* flash_bench decode SEQS CONTEXT SPLITS: one 8B decode attention shape (for a profiler) */
        int seqs = atoi(argv[2]), context = atoi(argv[3]), splits = atoi(argv[4]);
        if (seqs < 1 || seqs > 4096 || context < 1 || context > 131072 || splits < 1 || splits > 64) {
            fprintf(stderr, "flash_bench decode: SEQS 1..4096, CONTEXT 1..131072, SPLITS 1..64\n");
            return 2;
        }
        Case c = {32, 8, 128, seqs, context - 1, 1};
        Result r = run_case(c, 4, 20, splits);
        printf("decode %d seqs x %d tokens, %d splits: grouped %.4f ms (rel err %.1e)\n", seqs,
               context, splits, r.ms[2], r.rel_group);
        return 0;
    }
    if (argc == 3) { /* flash_bench TOKENS VARIANT: time one 8B shape only (for a profiler) */
        Case c = {32, 8, 128, 1, 0, atoi(argv[1])};
        Result r = run_case(c, atoi(argv[2]), 3, 1);
        printf("%d tokens, variant %s: %.3f ms, %.1f TFLOP/s\n", c.n_new, argv[2], r.ms[0],
               r.flops / (r.ms[0] * 1e-3) / 1e12);
        return 0;
    }
    const Case checks[] = {
        {4, 4, 16, 1, 0, 37},   {4, 2, 16, 2, 5, 37},  {4, 1, 16, 1, 0, 100},
        {8, 4, 32, 1, 0, 700},  {8, 4, 32, 3, 64, 70}, {16, 2, 64, 2, 13, 130},
        {32, 8, 128, 1, 0, 200}, {32, 4, 128, 2, 100, 65}, {8, 8, 128, 1, 3, 129},
    };
    int bad = 0;
    for (int keys = 1; keys <= 16; keys++) /* tiled kernel variants (cuda_kernels.h) */
        for (const Case &c : checks) {
            int splits = keys % 2 ? 1 : 3;
            Result r = run_case(c, keys, 0, splits);
            /* the grouped kernel differs from the exact one by sum order only */
            int ok = r.rel_tiled < 5e-3 && r.rel_group < 1e-5;
            bad += !ok;
            printf("check variant %d heads %d/%d hd %d seqs %d prev %d new %d: rel err tiled %.2e, "
                   "grouped per-token (%d splits) %.2e %s\n",
                   keys, c.n_heads, c.n_kv_heads, c.head_dim, c.n_seqs, c.prev, c.n_new,
                   r.rel_tiled, splits, r.rel_group, ok ? "ok" : "FAIL");
        }
    /* head dims the tiled kernel does not take: the grouped kernel's other paths */
    const Case odd[] = {{6, 2, 80, 2, 40, 3}, {4, 4, 36, 1, 100, 2}, {8, 1, 256, 1, 50, 4},
                        {6, 3, 70, 1, 20, 2}};
    for (const Case &c : odd) {
        Result r = run_case(c, 0, 0, 2);
        int ok = r.rel_group < 1e-5;
        bad += !ok;
        printf("check heads %d/%d hd %d seqs %d prev %d new %d: grouped per-token %.2e %s\n",
               c.n_heads, c.n_kv_heads, c.head_dim, c.n_seqs, c.prev, c.n_new, r.rel_group,
               ok ? "ok" : "FAIL");
    }
    printf("\n| decode (8B shape) | context | splits | exact f32 per-token ms | grouped f16 ms |\n");
    printf("|---|---|---|---|---|\n");
    const int dec[][3] = {{1, 132, 3}, {1, 132, 1}, {1, 1024, 16}, {1, 4096, 32}, {128, 132, 1},
                          {128, 1024, 1}};
    for (const auto &d : dec) {
        Case c = {32, 8, 128, d[0], d[1] - 1, 1};
        Result r = run_case(c, 4, 50, d[2]);
        bad += !(r.rel_group < 1e-5);
        printf("| %d seqs | %d | %d | %.4f | %.4f |\n", d[0], d[1], d[2], r.ms[1], r.ms[2]);
    }
    printf("\n| shape (8B) | tokens | variant | tiled ms | TFLOP/s | exact per-token ms | rel err "
           "|\n");
    printf("|---|---|---|---|---|---|---|\n");
    const int lens[] = {512, 2048, 4096};
    const int timed[] = {2, 8, 14, 15, 16, 8, 14}; /* twice: the spread between runs */
    for (int n : lens)
        for (int keys : timed) {
            Case c = {32, 8, 128, 1, 0, n};
            Result r = run_case(c, keys, n > 2048 ? 5 : 20, 1);
            bad += !(r.rel_tiled < 5e-3);
            printf("| 32/8 heads, hd 128 | %d | %d | %.3f | %.1f | %.3f | %.2e |\n", n, keys,
                   r.ms[0], r.flops / (r.ms[0] * 1e-3) / 1e12, r.ms[1], r.rel_tiled);
        }
    printf("%s\n", bad ? "CHECK FAILED" : "all checks ok");
    return bad ? 1 : 0;
}
