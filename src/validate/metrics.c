/*
 * metrics.c — the numbers validation judges by: the reference's top-k
 * token ids, and the driver's top-k cross entropy between the reference
 * and a candidate at the same ids.  Sums run in double so the metric of a
 * bit-identical candidate is the same on every platform.
 */
#include "accinf/validate.h"

#include <math.h>
#include <string.h>

void acc_top_k(const float *values, int n, int k, int32_t *indices)
{
    int filled = 0;
    for (int id = 0; id < n; id++) {
        float v = values[id];
        if (v != v)
            continue; /* NaN never ranks */
        int pos = filled;
        while (pos > 0 && values[indices[pos - 1]] < v)
            pos--;
        if (pos >= k)
            continue;
        int move = (filled < k ? filled : k - 1) - pos;
        memmove(indices + pos + 1, indices + pos, (size_t)move * sizeof *indices);
        indices[pos] = id;
        if (filled < k)
            filled++;
    }
    for (int i = filled; i < k; i++)
        indices[i] = -1;
}

/* log-sum-exp of v[ids[0..k)] */
static double log_sum_exp(const float *v, const int32_t *ids, int k, int gather)
{
    double max = -INFINITY;
    for (int j = 0; j < k; j++) {
        double x = gather ? v[ids[j]] : v[j];
        if (x > max)
            max = x;
    }
    double sum = 0.0;
    for (int j = 0; j < k; j++)
        sum += exp((gather ? v[ids[j]] : v[j]) - max);
    return max + log(sum);
}

double acc_top_k_cross_entropy(const int32_t *ids, const float *ref_logits, int k,
                               const float *cand_logits)
{
    /* ref_logits: the k reference values (in ids order); cand_logits: a whole row */
    double ref_lse = log_sum_exp(ref_logits, ids, k, 0);
    double cand_lse = log_sum_exp(cand_logits, ids, k, 1);
    if (!isfinite(ref_lse) || !isfinite(cand_lse))
        return INFINITY;
    double ce = 0.0;
    for (int j = 0; j < k; j++) {
        double p_cand = exp((double)cand_logits[ids[j]] - cand_lse);
        double log_p_ref = (double)ref_logits[j] - ref_lse;
        ce -= p_cand * log_p_ref;
    }
    return ce;
}
