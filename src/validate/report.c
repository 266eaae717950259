/*
 * report.c — the per-case summary validation judges by: how many
 * generated tokens have a top-k cross entropy at or above the threshold,
 * the failure rate, mean, p99 (nearest rank) and maximum, and the verdict
 * (a case fails when its failure rate exceeds the failure-rate threshold).
 * A non-finite cross entropy counts as a failure.
 */
#include "accinf/validate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

acc_status acc_case_stats_compute(const double *ce, int n, double ce_threshold,
                                  double failure_rate_threshold, acc_case_stats *out,
                                  acc_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "metrics: no generated tokens");
    double *sorted = acc_malloc((size_t)n * sizeof *sorted, err);
    if (!sorted)
        return ACC_ERR_RUNTIME;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        double v = isnan(ce[i]) ? INFINITY : ce[i];
        sorted[i] = v;
        sum += v;
        if (v >= ce_threshold)
            out->failures++;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, compare_doubles);
    int rank = (int)ceil(0.99 * n);
    out->tokens = n;
    out->failure_rate = (double)out->failures / n;
    out->mean_ce = sum / n;
    out->p99_ce = sorted[rank > 0 ? rank - 1 : 0];
    out->max_ce = sorted[n - 1];
    out->passed = out->failure_rate <= failure_rate_threshold;
    free(sorted);
    return ACC_OK;
}
