/*
 * cuda_sample.h — next-token choice on the GPU (cuda_sample.cu): one
 * thread block per output row picks a token from the row's fp32 logits
 * with the host sampler's rules (src/engine/sampler.c), so a batched
 * decode step copies token ids to the host, not rows x vocab logits.
 */
#ifndef ACCINF_CUDA_SAMPLE_H
#define ACCINF_CUDA_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same fields and meaning as acc_backend_sampling (backend.h). */
typedef struct acc_cuda_sample_params {
    float temperature; /* 0: argmax (NaN never wins, ties to the lowest id) */
    int top_k;         /* 0: off */
    float top_p;       /* 1: off */
    float min_p;       /* 0: off */
    double u;          /* uniform draw in [0, 1) */
} acc_cuda_sample_params;

/* tokens[r] = the choice for logits row r (rows x vocab, device memory)
 * with params[r] (device memory).  Filters as the host: temperature,
 * top-k (exactly k in the order logit descending, id ascending), top-p
 * (ranks kept while the mass before them is < top_p), min-p; then the
 * draw walks the kept tokens in id order (the host walks them in rank
 * order once sorted: same distribution, not always the same token for
 * one u).  Returns the launch status (cudaError_t as int). */
int acc_cuda_sample(const float *logits, int64_t rows, int64_t vocab,
                    const acc_cuda_sample_params *params, int32_t *tokens,
                    struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
