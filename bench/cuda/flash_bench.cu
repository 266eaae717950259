/*
 * flash_bench.cu — check and microbenchmark of the tiled prefill attention
 * (src/backend/cuda/cuda_flash.cu).  Each case builds a paged f32 KV cache
 * (shuffled block tables, sequences with earlier context, as chunked
 * prefill leaves them), runs the tiled kernel and the exact per-token
 * kernel (cuda_kernels.cu) on the same inputs, and compares every output
 * (NaN-poisoned first) by ||tiled - exact|| / ||exact||; then times the
 * Llama-3.1-8B shape (32 heads, 8 KV heads, head_dim 128) at 512 and 2048
 * tokens, in causal TFLOP/s (QK^T and PV, 2 FLOP per multiply-add).
 * Build: nvcc -O3 -arch=sm_90 -I src -I include bench/cuda/flash_bench.cu
 *   src/backend/cuda/cuda_flash.cu src/backend/cuda/cuda_kernels.cu -o flash_bench
 */
#include "backend/cuda/cuda_kernels.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Returns the relative error; *ms_tiled / *ms_exact: median times. */
static double run_case(const Case &c, int keys, int reps, float *ms_tiled, float *ms_exact,
                       double *flops)
{
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
    for (auto &x : kc)
        x = frand();
    for (auto &x : vc)
        x = frand();
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
    int32_t *dpos = upload(pos), *dseq = upload(seq), *dtab = upload(perm), *dtiles = upload(tiles);
    float *out_t, *out_e;
    CHECK(cudaMalloc(&out_t, q.size() * 4));
    CHECK(cudaMalloc(&out_e, q.size() * 4));
    CHECK(cudaMemset(out_t, 0xff, q.size() * 4)); /* NaN */
    CHECK(cudaMemset(out_e, 0xff, q.size() * 4));
    acc_cuda_attention_args a = {};
    a.q = dq;
    a.k_cache = dk;
    a.v_cache = dv;
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
    acc_cuda_attention_args e = a;
    e.out = out_e;
    a.out = out_t;
    CHECK((cudaError_t)acc_cuda_attention(&e, 0));
    CHECK((cudaError_t)acc_cuda_attention_tiled_keys(&a, keys, 0));
    CHECK(cudaDeviceSynchronize());
    std::vector<float> ht(q.size()), he(q.size());
    CHECK(cudaMemcpy(ht.data(), out_t, q.size() * 4, cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(he.data(), out_e, q.size() * 4, cudaMemcpyDeviceToHost));
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < q.size(); i++) {
        double d = (double)ht[i] - he[i];
        num += d * d;
        den += (double)he[i] * he[i];
    }
    double rel = sqrt(num / den); /* NaN (unwritten) propagates: fails the check */
    cudaEvent_t ev0, ev1;
    CHECK(cudaEventCreate(&ev0));
    CHECK(cudaEventCreate(&ev1));
    for (int which = 0; which < 2; which++) {
        std::vector<float> times;
        for (int i = 0; i < reps; i++) {
            CHECK(cudaEventRecord(ev0));
            if (which == 0)
                CHECK((cudaError_t)acc_cuda_attention_tiled_keys(&a, keys, 0));
            else
                CHECK((cudaError_t)acc_cuda_attention(&e, 0));
            CHECK(cudaEventRecord(ev1));
            CHECK(cudaEventSynchronize(ev1));
            float ms;
            CHECK(cudaEventElapsedTime(&ms, ev0, ev1));
            times.push_back(ms);
        }
        std::sort(times.begin(), times.end());
        *(which == 0 ? ms_tiled : ms_exact) = times.empty() ? 0.0f : times[times.size() / 2];
    }
    cudaEventDestroy(ev0);
    cudaEventDestroy(ev1);
    cudaFree(dk), cudaFree(dv), cudaFree(dq), cudaFree(dpos), cudaFree(dseq), cudaFree(dtab),
        cudaFree(dtiles), cudaFree(out_t), cudaFree(out_e);
    return rel;
}

int main(void)
{
    const Case checks[] = {
        {4, 4, 16, 1, 0, 37},   {4, 2, 16, 2, 5, 37},  {4, 1, 16, 1, 0, 100},
        {8, 4, 32, 1, 0, 700},  {8, 4, 32, 3, 64, 70}, {16, 2, 64, 2, 13, 130},
        {32, 8, 128, 1, 0, 200}, {32, 4, 128, 2, 100, 65}, {8, 8, 128, 1, 3, 129},
    };
    int bad = 0;
    for (int keys = 32; keys <= 64; keys += 32)
        for (const Case &c : checks) {
            float mt = 0.0f, me = 0.0f;
            double fl = 0.0;
            double rel = run_case(c, keys, 0, &mt, &me, &fl);
            int ok = rel < 5e-3;
            bad += !ok;
            printf("check keys %d heads %d/%d hd %d seqs %d prev %d new %d: rel err %.2e %s\n",
                   keys, c.n_heads, c.n_kv_heads, c.head_dim, c.n_seqs, c.prev, c.n_new, rel,
                   ok ? "ok" : "FAIL");
        }
    printf("\n| shape (8B) | tokens | keys/tile | tiled ms | TFLOP/s | exact per-token ms | rel err "
           "|\n");
    printf("|---|---|---|---|---|---|---|\n");
    const int lens[] = {512, 2048, 4096};
    for (int n : lens)
        for (int keys = 32; keys <= 64; keys += 32) {
            Case c = {32, 8, 128, 1, 0, n};
            float mt = 0.0f, me = 0.0f;
            double fl = 0.0;
            double rel = run_case(c, keys, n > 2048 ? 5 : 20, &mt, &me, &fl);
            bad += !(rel < 5e-3);
            printf("| 32/8 heads, hd 128 | %d | %d | %.3f | %.1f | %.3f | %.2e |\n", n, keys, mt,
                   fl / (mt * 1e-3) / 1e12, me, rel);
        }
    printf("%s\n", bad ? "CHECK FAILED" : "all checks ok");
    return bad ? 1 : 0;
}
