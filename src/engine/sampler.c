/*
 * sampler.c — next-token choice from a row of logits.
 *
 * Greedy (temperature 0) is argmax with ties to the lowest id.  Otherwise
 * the filters run in Hugging Face's order — temperature, top-k, top-p,
 * min-p — over candidates kept in a total order (logit descending, id
 * ascending) so results never depend on sort stability, and one number
 * from a seeded xoshiro256** generator picks the token.  Only as many
 * candidates as the filters need are sorted (partial quickselect), so a
 * 128k vocabulary costs little per token.  acc_sampler_device_params hands
 * the settings and the same draws to a backend that samples on the device.
 */
#include "accinf/sampler.h"
#include "engine/sampler_device.h"

#include <math.h>
#include <stdlib.h>

typedef struct sampler_candidate {
    float logit; /* already divided by the temperature */
    int32_t id;
} sampler_candidate;

struct acc_sampler {
    acc_sampler_options options;
    int vocab_size;
    uint64_t state[4]; /* xoshiro256** */
    sampler_candidate *candidates;
    double *weights;
};

/* ---- seeded generator: splitmix64 expands the seed, xoshiro256** draws ---- */

static uint64_t sampler_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t sampler_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t sampler_next_u64(acc_sampler *s)
{
    uint64_t *st = s->state;
    uint64_t result = sampler_rotl(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = sampler_rotl(st[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double sampler_next_unit(acc_sampler *s)
{
    return (double)(sampler_next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- candidate ordering ---- */

/* a before b: larger logit first, then lower id. */
static int sampler_candidate_before(const sampler_candidate *a, const sampler_candidate *b)
{
    if (a->logit != b->logit)
        return a->logit > b->logit;
    return a->id < b->id;
}

static int sampler_candidate_compare(const void *pa, const void *pb)
{
    const sampler_candidate *a = pa, *b = pb;
    if (sampler_candidate_before(a, b))
        return -1;
    if (sampler_candidate_before(b, a))
        return 1;
    return 0;
}

static void sampler_swap(sampler_candidate *a, sampler_candidate *b)
{
    sampler_candidate t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges c[0..n) so that its first k entries are the k best, sorted. */
static void sampler_sort_top(sampler_candidate *c, size_t n, size_t k)
{
    if (k > n)
        k = n;
    size_t lo = 0, hi = n; /* the k-th boundary lies in [lo, hi) */
    while (hi - lo > 16 && k > lo && k < hi) {
        /* median of three as pivot, Lomuto partition */
        size_t mid = lo + (hi - lo) / 2;
        if (sampler_candidate_before(&c[mid], &c[lo]))
            sampler_swap(&c[mid], &c[lo]);
        if (sampler_candidate_before(&c[hi - 1], &c[lo]))
            sampler_swap(&c[hi - 1], &c[lo]);
        if (sampler_candidate_before(&c[hi - 1], &c[mid]))
            sampler_swap(&c[hi - 1], &c[mid]);
        sampler_swap(&c[mid], &c[hi - 1]);
        sampler_candidate pivot = c[hi - 1];
        size_t store = lo;
        for (size_t i = lo; i + 1 < hi; i++) {
            if (sampler_candidate_before(&c[i], &pivot))
                sampler_swap(&c[i], &c[store++]);
        }
        sampler_swap(&c[store], &c[hi - 1]);
        if (store + 1 == k || store == k)
            break;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
    /* a small range still straddling the boundary: settle it by sorting */
    if (lo < k && k < hi)
        qsort(c + lo, hi - lo, sizeof *c, sampler_candidate_compare);
    qsort(c, k, sizeof *c, sampler_candidate_compare);
}

/* ---- public API ---- */

acc_status acc_sampler_create(const acc_sampler_options *options, int vocab_size,
                              acc_sampler **out, acc_error *err)
{
    *out = NULL;
    if (vocab_size <= 0)
        return acc_error_set(err, ACC_ERR_INPUT, "sampler: vocabulary size %d must be positive",
                             vocab_size);
    if (!(options->temperature >= 0.0f) || isinf(options->temperature))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "temperature: %g must be a finite number >= 0",
                             (double)options->temperature);
    if (options->top_k < 0)
        return acc_error_set(err, ACC_ERR_INPUT, "top_k: %d must be >= 0 (0 turns it off)",
                             options->top_k);
    if (!(options->top_p > 0.0f && options->top_p <= 1.0f))
        return acc_error_set(err, ACC_ERR_INPUT, "top_p: %g must be in (0, 1] (1 turns it off)",
                             (double)options->top_p);
    if (!(options->min_p >= 0.0f && options->min_p <= 1.0f))
        return acc_error_set(err, ACC_ERR_INPUT, "min_p: %g must be in [0, 1] (0 turns it off)",
                             (double)options->min_p);

    acc_sampler *s = acc_calloc(1, sizeof *s, err);
    if (!s)
        return ACC_ERR_RUNTIME;
    s->options = *options;
    s->vocab_size = vocab_size;
    s->candidates = acc_malloc((size_t)vocab_size * sizeof *s->candidates, err);
    s->weights = acc_malloc((size_t)vocab_size * sizeof *s->weights, err);
    if (!s->candidates || !s->weights) {
        acc_sampler_destroy(s);
        return ACC_ERR_RUNTIME;
    }
    uint64_t x = options->seed;
    for (int i = 0; i < 4; i++)
        s->state[i] = sampler_splitmix64(&x);
    *out = s;
    return ACC_OK;
}

void acc_sampler_destroy(acc_sampler *sampler)
{
    if (!sampler)
        return;
    free(sampler->candidates);
    free(sampler->weights);
    free(sampler);
}

/* argmax; NaN never wins; ties go to the lowest id. */
static int32_t sampler_argmax(const float *logits, int n)
{
    int32_t best = 0;
    float best_value = -INFINITY;
    int found = 0;
    for (int i = 0; i < n; i++) {
        float v = logits[i];
        if (isnan(v))
            continue;
        if (!found || v > best_value) {
            best = i;
            best_value = v;
            found = 1;
        }
    }
    return best;
}

int32_t acc_sampler_sample(acc_sampler *sampler, const float *logits)
{
    const acc_sampler_options *o = &sampler->options;
    int n_vocab = sampler->vocab_size;
    if (o->temperature == 0.0f)
        return sampler_argmax(logits, n_vocab);

    /* Candidates: every non-NaN, non -inf logit, scaled by 1/temperature. */
    sampler_candidate *c = sampler->candidates;
    size_t n = 0;
    for (int i = 0; i < n_vocab; i++) {
        float v = logits[i];
        if (isnan(v) || v == -INFINITY)
            continue;
        c[n].logit = v / o->temperature;
        c[n].id = i;
        n++;
    }
    if (n == 0)
        return sampler_argmax(logits, n_vocab);

    /* top-k keeps exactly k in the total order, so top_k == 1 is greedy. */
    size_t sorted = 0; /* c[0..sorted) are the best, in order */
    if (o->top_k > 0 && (size_t)o->top_k < n) {
        size_t n_all = n;
        n = (size_t)o->top_k;
        sampler_sort_top(c, n_all, n);
        sorted = n;
    }

    float max_logit = c[0].logit;
    for (size_t i = 1; i < n; i++)
        if (c[i].logit > max_logit)
            max_logit = c[i].logit;
    if (isinf(max_logit)) {
        /* +inf outweighs everything: the lowest such id wins. */
        int32_t best = INT32_MAX;
        for (size_t i = 0; i < n; i++)
            if (isinf(c[i].logit) && c[i].id < best)
                best = c[i].id;
        return best;
    }

    /* top-p: keep rank r while the mass of the ranks before it is < top_p.
     * Sort only a head of the candidates and grow it until the nucleus
     * ends inside it. */
    if (o->top_p < 1.0f) {
        double total = 0.0;
        for (size_t i = 0; i < n; i++)
            total += exp((double)c[i].logit - (double)max_logit);
        if (sorted < n) {
            sorted = n < 256 ? n : 256;
            sampler_sort_top(c, n, sorted);
        }
        double head = 0.0;
        size_t cut = 0;
        for (;;) {
            while (cut < sorted && head / total < (double)o->top_p) {
                head += exp((double)c[cut].logit - (double)max_logit);
                cut++;
            }
            if (cut < sorted || sorted == n)
                break;
            size_t grow = sorted * 4 < n ? sorted * 4 : n;
            sampler_sort_top(c + sorted, n - sorted, grow - sorted);
            sorted = grow;
        }
        n = cut;
    }

    /* min-p: drop candidates below min_p * p(max); p_i / p_max equals
     * exp(l_i - l_max) whatever the normalisation, and the max survives. */
    if (o->min_p > 0.0f) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (exp((double)c[i].logit - (double)max_logit) >= (double)o->min_p)
                c[kept++] = c[i];
        n = kept;
    }

    /* One draw over what is left. */
    double *w = sampler->weights;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        w[i] = exp((double)c[i].logit - (double)max_logit);
        sum += w[i];
    }
    double target = sampler_next_unit(sampler) * sum;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += w[i];
        if (target < acc)
            return c[i].id;
    }
    return c[n - 1].id;
}

void acc_sampler_device_params(acc_sampler *sampler, acc_backend_sampling *out)
{
    const acc_sampler_options *o = &sampler->options;
    *out = (acc_backend_sampling){.temperature = o->temperature,
                                  .top_k = o->top_k,
                                  .top_p = o->top_p,
                                  .min_p = o->min_p,
                                  .u = o->temperature == 0.0f ? 0.0 : sampler_next_unit(sampler)};
}
