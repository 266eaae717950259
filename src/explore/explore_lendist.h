/*
 * explore_lendist.h — request-length distributions of the explorer's
 * workload: a fixed length (reallm's eval_len), weighted (length, weight)
 * pairs, a uniform integer range, a truncated normal, or a histogram file.
 * The exact distribution gives the moments and the KV-capacity percentile
 * of input + output; evaluation uses a few representative points (bins of
 * equal probability, each at its conditional mean) so that linear
 * quantities keep their exact expectation.
 */
#ifndef ACCINF_EXPLORE_LENDIST_H
#define ACCINF_EXPLORE_LENDIST_H

#include "accinf/base.h"
#include "explore/explore_yaml.h"

#include <stddef.h>

#define XLEN_MAX_BINS 32
#define XLEN_DEFAULT_BINS 8

typedef enum xlen_kind { XLEN_POINT = 0, XLEN_PAIRS, XLEN_UNIFORM, XLEN_NORMAL } xlen_kind;

/* The exact distribution while it is being read (pairs own heap arrays). */
typedef struct xlen_src {
    xlen_kind kind;
    double value;          /* POINT */
    double lo, hi;         /* UNIFORM: integers lo..hi; NORMAL: truncation bounds */
    double mu, sigma;      /* NORMAL, before truncation */
    double *len, *w, *cum; /* PAIRS (histogram files too): sorted by length, w sums to 1,
                              cum[i] = P(X <= len[i]); one allocation at len */
    size_t n;
    size_t bins;           /* representative points wanted */
    char desc[64];         /* "uniform(64..4096)", shown in outputs */
} xlen_src;

/* What evaluation keeps: representative points and exact moments. */
typedef struct xlendist {
    size_t n;
    double len[XLEN_MAX_BINS], w[XLEN_MAX_BINS]; /* weights sum to 1 */
    double mean, mean_sq, min, max;              /* exact E[X], E[X^2], support */
    char desc[64];
} xlendist;

void xlen_src_point(xlen_src *s, double value);
/* Reads a length: a number, or a mapping with `dist:` (pairs, uniform,
 * normal, histogram) — docs/EXPLORE.md, "Length distributions".  A
 * histogram `file:` is read relative to the folder of the YAML file. */
acc_status xlen_src_parse(const xnode *node, const char *what, xlen_src *s, acc_error *err);
void xlen_src_free(xlen_src *s);

double xlen_src_cdf(const xlen_src *s, double x); /* P(X <= x) */
/* Smallest integer x with P(L + G <= x) >= q (q in (0, 1]): the context the
 * KV cache must hold for a fraction q of requests (L, G independent). */
double xlen_sum_quantile(const xlen_src *l, const xlen_src *g, double q);

void xlen_discretize(const xlen_src *s, xlendist *out);

/* Reads a histogram text ("length weight" per line, '#' comments, commas
 * or blanks between) into sorted, normalised pairs.  name is for errors. */
acc_status xlen_histogram_parse(const char *name, const char *text, size_t size, xlen_src *s,
                                acc_error *err);

#endif
