/*
 * explore_calibrate.h — measured points and the fit of per-hardware
 * efficiency factors (`accinf explore calibrate`): the point format read
 * from JSON (explore_measured.c), the prediction of one point by the
 * performance model (explore_calibrate.c) and a small bounded
 * Levenberg-Marquardt least-squares solver (explore_lsq.c).
 */
#ifndef ACCINF_EXPLORE_CALIBRATE_H
#define ACCINF_EXPLORE_CALIBRATE_H

#include "explore/explore_model.h"

#include <stddef.h>

/* ---- least squares --------------------------------------------------------- */

#define XLSQ_MAX_PARAMS 16

/* Fills r[0..n_resid) for parameters x; returns nonzero to abort. */
typedef acc_status (*xlsq_fn)(void *ctx, const double *x, double *r, acc_error *err);

typedef struct xlsq_problem {
    size_t n_params, n_resid;
    const double *lo, *hi; /* bounds (the step is projected onto them) */
    xlsq_fn fn;
    void *ctx;
    int max_iter; /* 0: 200 */
} xlsq_problem;

typedef struct xlsq_report {
    int iterations;
    double cost0, cost; /* 0.5 * sum r^2 before and after */
    int converged;
} xlsq_report;

/* Minimises 0.5 * |r(x)|^2 from the start x (in place) within the bounds:
 * Levenberg-Marquardt with a forward-difference Jacobian, Marquardt's
 * diagonal scaling and normal equations solved by Gaussian elimination. */
acc_status xlsq_solve(const xlsq_problem *p, double *x, xlsq_report *rep, acc_error *err);

/* Solves the n x n system a x = b in place (partial pivoting); returns -1
 * if a is singular. */
int xlsq_linear_solve(double *a, double *b, size_t n);

/* ---- measured points -------------------------------------------------------- */

typedef enum xmetric {
    XM_DECODE_TOK_S = 0, /* output tokens/s of the batch while decoding */
    XM_DECODE_MS,        /* ms per decode step (per output token of a sequence) */
    XM_FIRST_TOKEN_MS,   /* prefill latency (time to first token) */
    XM_PREFILL_TOK_S,    /* prompt tokens/s: batch * input_len / prefill latency */
    XM_THROUGHPUT_TOK_S, /* batch * output_len / (prefill + whole generation) */
    XM_REQUEST_MS,       /* prefill + whole generation */
    XM_THROUGHPUT_PER_DEVICE, /* throughput_tok_s / devices (tables in tok/s/GPU) */
    XM_COUNT
} xmetric;

const char *xmetric_name(xmetric m);

typedef struct xmeasure {
    char name[96], source[256];
    char hardware[512]; /* as written: a Name / file stem of a -hw file, or a path */
    char model[512];    /* model YAML path, resolved against the JSON's folder */
    int test;           /* split: 0 calibrate, 1 test */
    xmetric metric;
    double value;
    double batch, input_len, output_len, t, p, devices;
    double weight_bits, kv_bits; /* NAN: the model file's */
    /* precision of the matrix-product inputs (8: FP8 / int8 tensor cores);
     * the peak scales as the chip's bytes_per_word * 8 / compute_bits.
     * NAN: the chip's own word size */
    double compute_bits;
    /* 1: the engine's decode attention reads K/V once per query head, not
     * once per KV head ("gqa_kv_reads": "per_query_head") */
    int kv_reads_per_query_head;
    int has_allreduce;
    xallreduce allreduce;
} xmeasure;

typedef struct xmeasured {
    xmeasure *points;
    size_t n;
    /* per-hardware parameter lists from the file's "fit" object */
    struct {
        char hardware[128];
        unsigned mask; /* bit p: fit xeff_param p */
    } fit[16];
    size_t n_fit;
    /* factors a hardware takes from another one's (fitted) values before its
     * own fit: the file's "share" object, {"HW": {"from": "HW2", "factors":
     * [...]}} (one die in two memory configurations, e.g. H200 and H100) */
    struct {
        char hardware[128], from[128];
        unsigned mask;
    } share[16];
    size_t n_share;
} xmeasured;

/* Parses FILE.json: a list of points, {"points": [...], "fit": {...}}, or
 * one `accinf bench --json` object (with an envelope); see docs/EXPLORE.md. */
acc_status xmeasured_parse(const char *path, const char *text, size_t size, xmeasured *out,
                           acc_error *err);
void xmeasured_free(xmeasured *m);

/* Parses "compute,bandwidth,..." into a mask of xeff_param bits. */
acc_status xeff_parse_list(const char *text, unsigned *mask, acc_error *err);

/* ---- one hardware and the prediction of a point ------------------------------ */

typedef struct xhw {
    char name[XNAME], path[1024];
    xinputs in;
    xchip chip;
    xpkg pkg;
    xserver srv;
    xsysconf eff; /* current factors (resolved) and allreduce_algo */
} xhw;

acc_status xhw_load(xhw *hw, const char *path, acc_error *err);
void xhw_free(xhw *hw);

/* Predicted value of the point's metric on hw with the factors in eff. */
acc_status xmeasure_predict(const xmeasure *pt, const xllm *model, const xhw *hw,
                            const xsysconf *eff, double *out, acc_error *err);

#endif
