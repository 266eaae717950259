/*
 * explore_lendist.c — request-length distributions (explore_lendist.h):
 * reading them from the system YAML (or a histogram file), their exact
 * CDFs and moments, the quantile of input + output length that sizes the
 * KV cache, and the representative points the evaluation averages over
 * (equal-probability bins at their conditional means, which keeps every
 * linear quantity's expectation exact).
 */
#include "explore/explore_lendist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SQRT2 1.41421356237309504880
#define INV_SQRT_2PI 0.39894228040143267794
#define FINE_GRID 4000        /* points of a continuous outer distribution in sum quantiles */
#define MAX_EXACT_UNIFORM 200000

static double phi(double z) { return INV_SQRT_2PI * exp(-0.5 * z * z); }
static double big_phi(double z) { return 0.5 * erfc(-z / SQRT2); }

void xlen_src_point(xlen_src *s, double value)
{
    memset(s, 0, sizeof *s);
    s->kind = XLEN_POINT;
    s->value = value;
    s->bins = 1;
    snprintf(s->desc, sizeof s->desc, "%g", value);
}

void xlen_src_free(xlen_src *s)
{
    free(s->len);
    s->len = s->w = s->cum = NULL;
    s->n = 0;
}

/* ---- reading --------------------------------------------------------------- */

static acc_status read_len(const xnode *node, const char *field, double *out, acc_error *err)
{
    acc_status status = xnode_number(node, field, out, err);
    if (status)
        return status;
    if (!(*out >= 1) || !isfinite(*out) || *out > 1e9)
        return xnode_error(err, node, "%s: a length must be between 1 and 1e9 (got %g)", field,
                           *out);
    return ACC_OK;
}

static int by_len(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Sorts (len, w) pairs, merges equal lengths, normalises weights and keeps
 * the cumulative weights (one allocation, freed through len). */
static acc_status pairs_finish(double *pairs, size_t n, xlen_src *s, const char *where,
                               acc_error *err)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += pairs[2 * i + 1];
    if (!(total > 0) || !isfinite(total))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: the weights must add up to more than zero",
                             where);
    qsort(pairs, n, 2 * sizeof *pairs, by_len);
    double *mem = malloc(3 * n * sizeof *mem);
    if (!mem)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", where);
    s->len = mem;
    s->w = mem + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double w = pairs[2 * i + 1] / total;
        if (m > 0 && s->len[m - 1] == pairs[2 * i])
            s->w[m - 1] += w;
        else {
            s->len[m] = pairs[2 * i];
            s->w[m++] = w;
        }
    }
    /* cum[i] = P(X <= len[i]) */
    double *cum = s->cum = s->w + n;
    double c = 0;
    for (size_t i = 0; i < m; i++) {
        c += s->w[i];
        cum[i] = c;
    }
    cum[m - 1] = 1;
    s->n = m;
    s->kind = XLEN_PAIRS;
    s->lo = s->len[0];
    s->hi = s->len[m - 1];
    return ACC_OK;
}


acc_status xlen_histogram_parse(const char *name, const char *text, size_t size, xlen_src *s,
                                acc_error *err)
{
    size_t cap = 64, n = 0;
    double *pairs = malloc(cap * 2 * sizeof *pairs);
    if (!pairs)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", name);
    size_t pos = 0;
    int line = 0;
    acc_status status = ACC_OK;
    while (pos < size && !status) {
        size_t end = pos;
        while (end < size && text[end] != '\n')
            end++;
        line++;
        char buf[256];
        size_t len = end - pos < sizeof buf - 1 ? end - pos : sizeof buf - 1;
        memcpy(buf, text + pos, len);
        buf[len] = '\0';
        pos = end + 1;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        for (char *c = buf; *c; c++)
            if (*c == ',' || *c == '\t' || *c == '\r' || *c == ';')
                *c = ' ';
        char *p = buf;
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        char *e1, *e2;
        double l = strtod(p, &e1);
        double w = e1 != p ? strtod(e1, &e2) : 0;
        if (e1 == p || e2 == e1) {
            status = acc_error_set(err, ACC_ERR_INPUT, "%s:%d: expected 'length weight'", name,
                                   line);
            break;
        }
        while (*e2 == ' ')
            e2++;
        if (*e2) {
            status = acc_error_set(err, ACC_ERR_INPUT, "%s:%d: unexpected text after the weight",
                                   name, line);
            break;
        }
        if (!(l >= 1 && l <= 1e9) || !(w >= 0 && isfinite(w))) {
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "%s:%d: length must be 1..1e9 and weight >= 0 (got %g, %g)",
                                   name, line, l, w);
            break;
        }
        if (n == cap) {
            if (cap >= 10000000) {
                status = acc_error_set(err, ACC_ERR_INPUT, "%s: more than %zu lines", name, cap);
                break;
            }
            double *grown = realloc(pairs, cap * 4 * sizeof *pairs);
            if (!grown) {
                status = acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", name);
                break;
            }
            pairs = grown;
            cap *= 2;
        }
        pairs[2 * n] = l;
        pairs[2 * n + 1] = w;
        n++;
    }
    if (!status && n == 0)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: no 'length weight' lines", name);
    if (!status) {
        status = pairs_finish(pairs, n, s, name, err);
    }
    free(pairs);
    return status;
}

static acc_status read_histogram_file(const xnode *node, const xnode *file, xlen_src *s,
                                      acc_error *err)
{
    char rel[512], path[1200];
    acc_status status = xnode_string(file, "file", rel, sizeof rel, err);
    if (status)
        return status;
    const char *yaml = node->file ? node->file : "";
    const char *slash = strrchr(yaml, '/');
    if (rel[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", rel);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - yaml), yaml, rel);
    /* a regular file of sane size: never a device or a pipe */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return xnode_error(err, file, "file: cannot read histogram '%s'", path);
    if (st.st_size > 64 * 1024 * 1024)
        return xnode_error(err, file, "file: histogram '%s' is larger than 64 MiB", path);
    char *text = NULL;
    size_t size = 0;
    if (acc_read_file(path, &text, &size, NULL))
        return xnode_error(err, file, "file: cannot read histogram '%s'", path);
    status = xlen_histogram_parse(path, text, size, s, err);
    free(text);
    return status;
}

static acc_status read_pairs(const xnode *list, xlen_src *s, acc_error *err)
{
    if (list->kind != XNODE_SEQ || list->count == 0)
        return xnode_error(err, list, "pairs: expected a list of [length, weight] pairs");
    double *pairs = malloc(list->count * 2 * sizeof *pairs);
    if (!pairs)
        return acc_error_set(err, ACC_ERR_RUNTIME, "pairs: out of memory");
    acc_status status = ACC_OK;
    for (size_t i = 0; i < list->count && !status; i++) {
        const xnode *p = list->items[i];
        if (p->kind != XNODE_SEQ || p->count != 2) {
            status = xnode_error(err, p, "pairs: each entry is a [length, weight] pair");
            break;
        }
        if ((status = read_len(p->items[0], "pairs", &pairs[2 * i], err)) ||
            (status = xnode_number(p->items[1], "pairs", &pairs[2 * i + 1], err)))
            break;
        if (!(pairs[2 * i + 1] >= 0) || !isfinite(pairs[2 * i + 1]))
            status = xnode_error(err, p->items[1], "pairs: weights must not be negative");
    }
    if (!status) {
        status = pairs_finish(pairs, list->count, s, "pairs", err);
        if (status == ACC_ERR_INPUT)
            status = xnode_error(err, list, "pairs: the weights must add up to more than zero");
    }
    free(pairs);
    return status;
}

static const char *const DIST_KEYS[] = {"dist", "pairs", "min", "max", "mean", "std", "file",
                                        "bins"};

acc_status xlen_src_parse(const xnode *node, const char *what, xlen_src *s, acc_error *err)
{
    memset(s, 0, sizeof *s);
    acc_status status;
    if (node->kind == XNODE_SCALAR) {
        double v;
        if ((status = read_len(node, what, &v, err)))
            return status;
        if (v != floor(v))
            return xnode_error(err, node, "%s: a length must be a whole number (got %g)", what, v);
        xlen_src_point(s, v);
        return ACC_OK;
    }
    if (node->kind != XNODE_MAP)
        return xnode_error(err, node,
                           "%s: expected a length or a distribution mapping with 'dist' (a list "
                           "of lengths is a sweep)",
                           what);
    const xnode *v[8] = {0};
    for (size_t k = 0; k < node->count; k++) {
        size_t i = 0;
        while (i < 8 && strcmp(node->keys[k]->text, DIST_KEYS[i]) != 0)
            i++;
        if (i == 8)
            return xnode_error(err, node->keys[k],
                               "unknown key '%s' in %s (known keys: dist, pairs, min, max, mean, "
                               "std, file, bins)",
                               node->keys[k]->text, what);
        v[i] = node->items[k];
    }
    enum { K_DIST, K_PAIRS, K_MIN, K_MAX, K_MEAN, K_STD, K_FILE, K_BINS };
    char kind[32];
    if (!v[K_DIST])
        return xnode_error(err, node, "%s: missing key 'dist' (pairs, uniform, normal, histogram)",
                           what);
    if ((status = xnode_string(v[K_DIST], "dist", kind, sizeof kind, err)))
        return status;
    s->bins = XLEN_DEFAULT_BINS;
    if (v[K_BINS]) {
        double b;
        if ((status = xnode_number(v[K_BINS], "bins", &b, err)))
            return status;
        if (!(b >= 1 && b <= XLEN_MAX_BINS) || b != floor(b))
            return xnode_error(err, v[K_BINS], "bins: a whole number from 1 to %d (got %g)",
                               XLEN_MAX_BINS, b);
        s->bins = (size_t)b;
    }
    int want[8] = {0};
    want[K_DIST] = want[K_BINS] = 1;
    if (!strcmp(kind, "pairs")) {
        want[K_PAIRS] = 1;
        if (!v[K_PAIRS])
            return xnode_error(err, node, "%s: dist 'pairs' needs 'pairs: [[length, weight], ...]'",
                               what);
        if ((status = read_pairs(v[K_PAIRS], s, err)))
            return status;
        snprintf(s->desc, sizeof s->desc, "pairs(%zu)", s->n);
    } else if (!strcmp(kind, "histogram")) {
        want[K_FILE] = 1;
        if (!v[K_FILE])
            return xnode_error(err, node, "%s: dist 'histogram' needs 'file'", what);
        if ((status = read_histogram_file(node, v[K_FILE], s, err)))
            return status;
        snprintf(s->desc, sizeof s->desc, "histogram(%zu)", s->n);
    } else if (!strcmp(kind, "uniform")) {
        want[K_MIN] = want[K_MAX] = 1;
        if (!v[K_MIN] || !v[K_MAX])
            return xnode_error(err, node, "%s: dist 'uniform' needs 'min' and 'max'", what);
        if ((status = read_len(v[K_MIN], "min", &s->lo, err)) ||
            (status = read_len(v[K_MAX], "max", &s->hi, err)))
            return status;
        if (s->lo != floor(s->lo) || s->hi != floor(s->hi) || s->hi < s->lo)
            return xnode_error(err, node, "%s: uniform needs whole numbers min <= max", what);
        s->kind = XLEN_UNIFORM;
        snprintf(s->desc, sizeof s->desc, "uniform(%g..%g)", s->lo, s->hi);
    } else if (!strcmp(kind, "normal")) {
        want[K_MEAN] = want[K_STD] = want[K_MIN] = want[K_MAX] = 1;
        if (!v[K_MEAN] || !v[K_STD])
            return xnode_error(err, node, "%s: dist 'normal' needs 'mean' and 'std'", what);
        if ((status = read_len(v[K_MEAN], "mean", &s->mu, err)) ||
            (status = xnode_number(v[K_STD], "std", &s->sigma, err)))
            return status;
        if (!(s->sigma > 0) || !isfinite(s->sigma))
            return xnode_error(err, v[K_STD], "std: must be greater than zero");
        s->lo = fmax(1, s->mu - 4 * s->sigma);
        s->hi = s->mu + 4 * s->sigma;
        if ((v[K_MIN] && (status = read_len(v[K_MIN], "min", &s->lo, err))) ||
            (v[K_MAX] && (status = read_len(v[K_MAX], "max", &s->hi, err))))
            return status;
        double z = big_phi((s->hi - s->mu) / s->sigma) - big_phi((s->lo - s->mu) / s->sigma);
        if (!(s->hi > s->lo) || !(z > 1e-9))
            return xnode_error(err, node,
                               "%s: the normal's truncation [%g, %g] holds no probability", what,
                               s->lo, s->hi);
        s->kind = XLEN_NORMAL;
        snprintf(s->desc, sizeof s->desc, "normal(%g,%g;%g..%g)", s->mu, s->sigma, s->lo, s->hi);
    } else {
        return xnode_error(err, v[K_DIST],
                           "dist: unknown distribution '%.20s' (pairs, uniform, normal, "
                           "histogram)",
                           kind);
    }
    for (int i = 0; i < 8; i++) {
        if (v[i] && !want[i]) {
            xlen_src_free(s);
            return xnode_error(err, v[i], "%s: key '%s' does not apply to dist '%s'", what,
                               DIST_KEYS[i], kind);
        }
    }
    return ACC_OK;
}

/* ---- exact distribution ---------------------------------------------------- */

static double normal_cdf(const xlen_src *s, double x)
{
    if (x < s->lo)
        return 0;
    if (x >= s->hi)
        return 1;
    double a = big_phi((s->lo - s->mu) / s->sigma), b = big_phi((s->hi - s->mu) / s->sigma);
    return (big_phi((x - s->mu) / s->sigma) - a) / (b - a);
}

double xlen_src_cdf(const xlen_src *s, double x)
{
    switch (s->kind) {
    case XLEN_POINT:
        return x >= s->value ? 1 : 0;
    case XLEN_UNIFORM: {
        double n = s->hi - s->lo + 1;
        double c = (floor(x) - s->lo + 1) / n;
        return c < 0 ? 0 : c > 1 ? 1 : c;
    }
    case XLEN_NORMAL:
        return normal_cdf(s, x);
    case XLEN_PAIRS: {
        if (x < s->len[0])
            return 0;
        /* last index with len <= x */
        size_t lo = 0, hi = s->n - 1;
        while (lo < hi) {
            size_t mid = (lo + hi + 1) / 2;
            if (s->len[mid] <= x)
                lo = mid;
            else
                hi = mid - 1;
        }
        return s->cum[lo];
    }
    }
    return 0;
}

static double src_min(const xlen_src *s) { return s->kind == XLEN_POINT ? s->value : s->lo; }
static double src_max(const xlen_src *s) { return s->kind == XLEN_POINT ? s->value : s->hi; }

/* Mean of a truncated normal restricted to [a, b]. */
static double normal_mean_between(const xlen_src *s, double a, double b)
{
    double za = (a - s->mu) / s->sigma, zb = (b - s->mu) / s->sigma;
    double z = big_phi(zb) - big_phi(za);
    if (!(z > 1e-300))
        return 0.5 * (a + b);
    return s->mu + s->sigma * (phi(za) - phi(zb)) / z;
}

static double normal_quantile(const xlen_src *s, double q)
{
    double lo = s->lo, hi = s->hi;
    for (int i = 0; i < 200 && hi - lo > 1e-9 * fmax(1, hi); i++) {
        double mid = 0.5 * (lo + hi);
        if (normal_cdf(s, mid) < q)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Up to cap representative points: equal-probability groups, each at its
 * conditional mean with its probability as weight. */
static size_t discretize_into(const xlen_src *s, size_t cap, double *len, double *w)
{
    switch (s->kind) {
    case XLEN_POINT:
        len[0] = s->value;
        w[0] = 1;
        return 1;
    case XLEN_UNIFORM: {
        double n = s->hi - s->lo + 1;
        size_t k = n < (double)cap ? (size_t)n : cap;
        for (size_t i = 0; i < k; i++) {
            double a = s->lo + floor((double)i * n / (double)k);
            double b = s->lo + floor((double)(i + 1) * n / (double)k) - 1;
            len[i] = 0.5 * (a + b);
            w[i] = (b - a + 1) / n;
        }
        return k;
    }
    case XLEN_NORMAL: {
        double a = s->lo;
        for (size_t i = 0; i < cap; i++) {
            double b = i + 1 == cap ? s->hi : normal_quantile(s, (double)(i + 1) / (double)cap);
            len[i] = normal_mean_between(s, a, b);
            w[i] = 1.0 / (double)cap;
            a = b;
        }
        return cap;
    }
    case XLEN_PAIRS: {
        if (s->n <= cap) {
            memcpy(len, s->len, s->n * sizeof *len);
            memcpy(w, s->w, s->n * sizeof *w);
            return s->n;
        }
        size_t k = 0;
        double before = 0, mass = 0, sum = 0;
        size_t bin = 0;
        for (size_t i = 0; i < s->n; i++) {
            size_t b = (size_t)floor(before * (double)cap + 1e-9);
            if (b >= cap)
                b = cap - 1;
            if (mass > 0 && b != bin) {
                len[k] = sum / mass;
                w[k++] = mass;
                mass = sum = 0;
            }
            bin = b;
            mass += s->w[i];
            sum += s->w[i] * s->len[i];
            before += s->w[i];
        }
        if (mass > 0) {
            len[k] = sum / mass;
            w[k++] = mass;
        }
        return k;
    }
    }
    return 0;
}

static void moments(const xlen_src *s, double *mean, double *mean_sq)
{
    switch (s->kind) {
    case XLEN_POINT:
        *mean = s->value;
        *mean_sq = s->value * s->value;
        return;
    case XLEN_UNIFORM: {
        double n = s->hi - s->lo + 1;
        *mean = 0.5 * (s->lo + s->hi);
        *mean_sq = (n * n - 1) / 12 + *mean * *mean;
        return;
    }
    case XLEN_NORMAL: {
        double a = (s->lo - s->mu) / s->sigma, b = (s->hi - s->mu) / s->sigma;
        double z = big_phi(b) - big_phi(a);
        double r = (phi(a) - phi(b)) / z;
        double var = s->sigma * s->sigma * (1 + (a * phi(a) - b * phi(b)) / z - r * r);
        *mean = s->mu + s->sigma * r;
        *mean_sq = var + *mean * *mean;
        return;
    }
    case XLEN_PAIRS: {
        double m = 0, m2 = 0;
        for (size_t i = 0; i < s->n; i++) {
            m += s->w[i] * s->len[i];
            m2 += s->w[i] * s->len[i] * s->len[i];
        }
        *mean = m;
        *mean_sq = m2;
        return;
    }
    }
}

void xlen_discretize(const xlen_src *s, xlendist *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = s->bins < 1 ? 1 : s->bins > XLEN_MAX_BINS ? XLEN_MAX_BINS : s->bins;
    out->n = discretize_into(s, cap, out->len, out->w);
    moments(s, &out->mean, &out->mean_sq);
    out->min = src_min(s);
    out->max = src_max(s);
    snprintf(out->desc, sizeof out->desc, "%s", s->desc);
}

static int is_discrete(const xlen_src *s)
{
    return s->kind == XLEN_POINT || s->kind == XLEN_PAIRS ||
           (s->kind == XLEN_UNIFORM && s->hi - s->lo < MAX_EXACT_UNIFORM);
}

double xlen_sum_quantile(const xlen_src *l, const xlen_src *g, double q)
{
    /* P(L + G <= x) = sum over the outer's points of w * F_inner(x - len):
     * exact when the outer is discrete, a 4000-point grid otherwise */
    const xlen_src *outer = l, *inner = g;
    if (!is_discrete(l) && is_discrete(g)) {
        outer = g;
        inner = l;
    }
    size_t cap = FINE_GRID;
    if (outer->kind == XLEN_PAIRS)
        cap = outer->n;
    else if (outer->kind == XLEN_UNIFORM && is_discrete(outer))
        cap = (size_t)(outer->hi - outer->lo + 1);
    double *len = malloc(2 * cap * sizeof *len);
    if (!len) /* no memory for the exact answer: the largest context bounds it */
        return ceil(src_max(l) + src_max(g));
    double *w = len + cap;
    size_t n = discretize_into(outer, cap, len, w);
    double lo = floor(src_min(l) + src_min(g)), hi = ceil(src_max(l) + src_max(g));
    if (q > 1)
        q = 1;
    /* smallest integer x in [lo, hi] with F(x) >= q */
    while (lo < hi) {
        double mid = floor(0.5 * (lo + hi));
        double f = 0;
        for (size_t i = 0; i < n; i++)
            f += w[i] * xlen_src_cdf(inner, mid - len[i]);
        if (f >= q - 1e-12)
            hi = mid;
        else
            lo = mid + 1;
    }
    free(len);
    return lo;
}
