/*
 * test_cuda_sample.c — sampling on the GPU (cuda_sample.cu) against the
 * host sampler (src/engine/sampler.c): greedy equals the host's argmax on
 * the same rows (ties, NaN, -inf, 128k vocabularies); for temperature /
 * top-k / top-p / min-p every drawn token is the one the filtered
 * distribution's id-order CDF gives for that u, and 40,000 seeded draws
 * match the distribution (and the host sampler's own frequencies) within
 * 5 standard deviations; through the engine, acc_engine_forward_sample on
 * "cuda" picks the host argmax of the same step's logits.  Needs a GPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/sampler.h"
#include "backend/cuda/cuda_sample.h"

static uint64_t test_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double test_unit(uint64_t *s)
{
    return (double)(test_rng(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Runs the kernel on rows x vocab host logits with params; returns ids. */
static void gpu_sample(const float *logits, int rows, int vocab,
                       const acc_cuda_sample_params *params, int32_t *tokens)
{
    float *d_logits = NULL;
    acc_cuda_sample_params *d_params = NULL;
    int32_t *d_tokens = NULL;
    size_t n = (size_t)rows * (size_t)vocab;
    assert_int_equal(cudaMalloc((void **)&d_logits, n * sizeof(float)), cudaSuccess);
    assert_int_equal(cudaMalloc((void **)&d_params, (size_t)rows * sizeof *d_params), cudaSuccess);
    assert_int_equal(cudaMalloc((void **)&d_tokens, (size_t)rows * sizeof *d_tokens), cudaSuccess);
    assert_int_equal(cudaMemcpy(d_logits, logits, n * sizeof(float), cudaMemcpyHostToDevice),
                     cudaSuccess);
    assert_int_equal(cudaMemcpy(d_params, params, (size_t)rows * sizeof *d_params,
                                cudaMemcpyHostToDevice),
                     cudaSuccess);
    assert_int_equal(acc_cuda_sample(d_logits, rows, vocab, d_params, d_tokens, NULL), 0);
    assert_int_equal(cudaMemcpy(tokens, d_tokens, (size_t)rows * sizeof *tokens,
                                cudaMemcpyDeviceToHost),
                     cudaSuccess);
    cudaFree(d_logits);
    cudaFree(d_params);
    cudaFree(d_tokens);
}

static int32_t host_sample(const float *row, int vocab, const acc_sampler_options *o)
{
    acc_sampler *s;
    acc_error err;
    assert_int_equal(acc_sampler_create(o, vocab, &s, &err), ACC_OK);
    int32_t id = acc_sampler_sample(s, row);
    acc_sampler_destroy(s);
    return id;
}

/* Greedy: the host's argmax on rows with ties, NaN, -inf and +inf. */
static void test_greedy_equals_host(void **state)
{
    (void)state;
    const int vocabs[] = {1, 7, 1000, 128256};
    uint64_t seed = 1;
    for (size_t v = 0; v < sizeof vocabs / sizeof *vocabs; v++) {
        int vocab = vocabs[v], rows = 12;
        float *logits = malloc((size_t)rows * (size_t)vocab * sizeof(float));
        acc_cuda_sample_params *params = calloc((size_t)rows, sizeof *params);
        int32_t *tokens = malloc((size_t)rows * sizeof *tokens);
        assert_non_null(logits);
        assert_non_null(params);
        assert_non_null(tokens);
        for (int r = 0; r < rows; r++) {
            float *row = logits + (size_t)r * (size_t)vocab;
            for (int i = 0; i < vocab; i++)
                row[i] = (float)(test_unit(&seed) * 20.0 - 10.0);
            switch (r) {
            case 1: /* coarse values: many ties at the top */
                for (int i = 0; i < vocab; i++)
                    row[i] = floorf(row[i] / 5.0f);
                break;
            case 2: /* NaN never wins */
                for (int i = 0; i < vocab; i += 3)
                    row[i] = NAN;
                break;
            case 3: /* all NaN: 0 */
                for (int i = 0; i < vocab; i++)
                    row[i] = NAN;
                break;
            case 4: /* all -inf: the lowest id */
                for (int i = 0; i < vocab; i++)
                    row[i] = -INFINITY;
                break;
            case 5: /* +inf twice: the lower id */
                row[vocab / 2] = INFINITY;
                row[vocab - 1] = INFINITY;
                break;
            case 6: /* all equal */
                for (int i = 0; i < vocab; i++)
                    row[i] = 0.5f;
                break;
            case 7: /* -0 and +0 are ties */
                for (int i = 0; i < vocab; i++)
                    row[i] = i % 2 ? 0.0f : -0.0f;
                break;
            default:
                break;
            }
        }
        gpu_sample(logits, rows, vocab, params, tokens);
        acc_sampler_options greedy = {.temperature = 0, .top_p = 1};
        for (int r = 0; r < rows; r++) {
            int32_t want = host_sample(logits + (size_t)r * (size_t)vocab, vocab, &greedy);
            if (tokens[r] != want)
                fail_msg("vocab %d row %d: gpu %d, host argmax %d", vocab, r, tokens[r], want);
        }
        free(logits);
        free(params);
        free(tokens);
    }
}

typedef struct ranked {
    float s;
    int id;
} ranked;

static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The host sampler's filtered distribution over ids (0 = not kept),
 * written out directly from its definition. */
static void expected_probs(const float *row, int vocab, const acc_sampler_options *o, double *p)
{
    ranked *r = malloc((size_t)vocab * sizeof *r);
    assert_non_null(r);
    int n = 0;
    for (int i = 0; i < vocab; i++)
        if (!isnan(row[i]) && row[i] != -INFINITY)
            r[n++] = (ranked){row[i] / o->temperature, i};
    qsort(r, (size_t)n, sizeof *r, ranked_cmp);
    if (o->top_k > 0 && o->top_k < n)
        n = o->top_k;
    double max = r[0].s, total = 0;
    for (int i = 0; i < n; i++)
        total += exp(r[i].s - max);
    if (o->top_p < 1.0f) {
        double head = 0;
        int cut = 0;
        while (cut < n && head / total < o->top_p)
            head += exp(r[cut++].s - max);
        n = cut;
    }
    memset(p, 0, (size_t)vocab * sizeof *p);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double w = exp(r[i].s - max);
        if (o->min_p > 0 && w < o->min_p)
            continue;
        p[r[i].id] = w;
        sum += w;
    }
    for (int i = 0; i < vocab; i++)
        p[i] /= sum;
    free(r);
}

static void check_distribution(const char *what, int vocab, const float *row,
                               const acc_sampler_options *o)
{
    const int draws = 40000;
    double *p = malloc((size_t)vocab * sizeof *p);
    double *cdf = malloc((size_t)vocab * sizeof *cdf);
    int *gpu_count = calloc((size_t)vocab, sizeof *gpu_count);
    int *host_count = calloc((size_t)vocab, sizeof *host_count);
    float *logits = malloc((size_t)draws * (size_t)vocab * sizeof(float));
    acc_cuda_sample_params *params = malloc((size_t)draws * sizeof *params);
    int32_t *tokens = malloc((size_t)draws * sizeof *tokens);
    assert_true(p && cdf && gpu_count && host_count && logits && params && tokens);
    expected_probs(row, vocab, o, p);
    double acc = 0;
    for (int i = 0; i < vocab; i++)
        cdf[i] = (acc += p[i]);
    uint64_t seed = 42;
    for (int d = 0; d < draws; d++) {
        memcpy(logits + (size_t)d * (size_t)vocab, row, (size_t)vocab * sizeof(float));
        params[d] = (acc_cuda_sample_params){.temperature = o->temperature, .top_k = o->top_k,
                                             .top_p = o->top_p, .min_p = o->min_p,
                                             .u = test_unit(&seed)};
    }
    gpu_sample(logits, draws, vocab, params, tokens);
    int exact = 0;
    for (int d = 0; d < draws; d++) {
        int t = tokens[d];
        if (t < 0 || t >= vocab || p[t] == 0)
            fail_msg("%s: draw %d gave %d, which the filters drop", what, d, t);
        gpu_count[t]++;
        /* the id-order CDF picks the same token unless u sits on an edge */
        double u = params[d].u, lo = t > 0 ? cdf[t - 1] : 0;
        if (u >= lo - 1e-9 && u < cdf[t] + 1e-9)
            exact++;
    }
    if (exact != draws)
        fail_msg("%s: %d of %d draws differ from the id-order CDF", what, draws - exact, draws);
    acc_sampler *s;
    acc_error err;
    acc_sampler_options seeded = *o;
    seeded.seed = 7;
    assert_int_equal(acc_sampler_create(&seeded, vocab, &s, &err), ACC_OK);
    for (int d = 0; d < draws; d++)
        host_count[acc_sampler_sample(s, row)]++;
    acc_sampler_destroy(s);
    int kept = 0;
    for (int i = 0; i < vocab; i++) {
        double sd = sqrt(p[i] * (1 - p[i]) / draws) + 1e-4;
        double g = (double)gpu_count[i] / draws, h = (double)host_count[i] / draws;
        kept += p[i] > 0;
        if (fabs(g - p[i]) > 5 * sd || fabs(h - p[i]) > 5 * sd)
            fail_msg("%s: token %d: p %.4f, gpu %.4f, host %.4f", what, i, p[i], g, h);
    }
    printf("ok: %s: %d tokens kept, %d draws on the id-order CDF, frequencies within 5 sd\n", what,
           kept, draws);
    free(p);
    free(cdf);
    free(gpu_count);
    free(host_count);
    free(logits);
    free(params);
    free(tokens);
}

static void test_sampling_distribution(void **state)
{
    (void)state;
    enum { V = 64 };
    float row[V];
    uint64_t seed = 3;
    for (int i = 0; i < V; i++)
        row[i] = (float)(test_unit(&seed) * 6.0);
    row[5] = row[9]; /* a tie */
    row[11] = NAN;
    row[12] = -INFINITY;
    const struct {
        const char *what;
        acc_sampler_options o;
    } cases[] = {
        {"temperature 1", {.temperature = 1.0f, .top_p = 1.0f}},
        {"temperature 0.7, top-k 10", {.temperature = 0.7f, .top_k = 10, .top_p = 1.0f}},
        {"top-p 0.8", {.temperature = 1.0f, .top_p = 0.8f}},
        {"top-k 20, top-p 0.9, min-p 0.05",
         {.temperature = 1.3f, .top_k = 20, .top_p = 0.9f, .min_p = 0.05f}},
        {"top-k 1 (greedy)", {.temperature = 1.0f, .top_k = 1, .top_p = 1.0f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        check_distribution(cases[c].what, V, row, &cases[c].o);
}

/* Through the engine on a fixture model: the token forward_sample picks on
 * "cuda" is the host argmax of the logits the same step gives. */
static void test_engine_forward_sample(void **state)
{
    (void)state;
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(ACCINF_FIXTURES "/models/llama-tiny", &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    acc_engine_options options = {.device = "cuda", .max_sequences = 4};
    acc_engine *engine;
    if (acc_engine_create(model, &options, &engine, &err) != ACC_OK)
        fail_msg("engine: %s", err.message);
    acc_sampler_options greedy = {.temperature = 0, .top_p = 1};
    acc_sampler *samplers[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(acc_sampler_create(&greedy, vocab, &samplers[i], &err), ACC_OK);
    int a, b, c, d;
    assert_int_equal(acc_engine_seq_create(engine, &a, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_create(engine, &b, &err), ACC_OK);
    int32_t prompt[2][5] = {{1, 5, 9, 2, 7}, {3, 3, 8, 1, 4}};
    const int32_t *lists[2] = {prompt[0], prompt[1]};
    int n[2] = {5, 5}, ids[2] = {a, b};
    acc_batch batch = {.n_seqs = 2, .seq_ids = ids, .tokens = lists, .n_tokens = n};
    int32_t next[2];
    assert_int_equal(acc_engine_forward(engine, &batch, NULL, &err), ACC_OK);
    /* the same two contexts twice: forked, one path gives logits, the other ids */
    assert_int_equal(acc_engine_seq_fork(engine, a, &c, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_fork(engine, b, &d, &err), ACC_OK);
    float *logits = malloc(2 * (size_t)vocab * sizeof(float));
    assert_non_null(logits);
    int32_t step_tokens[2] = {6, 2};
    for (int step = 0; step < 8; step++) {
        const int32_t *one[2] = {&step_tokens[0], &step_tokens[1]};
        int ones[2] = {1, 1}, host_ids[2] = {a, b}, dev_ids[2] = {c, d};
        acc_batch hb = {.n_seqs = 2, .seq_ids = host_ids, .tokens = one, .n_tokens = ones};
        acc_batch db = {.n_seqs = 2, .seq_ids = dev_ids, .tokens = one, .n_tokens = ones};
        assert_int_equal(acc_engine_forward(engine, &hb, logits, &err), ACC_OK);
        assert_int_equal(acc_engine_forward_sample(engine, &db, samplers, next, &err), ACC_OK);
        for (int s = 0; s < 2; s++) {
            int32_t want = host_sample(logits + (size_t)s * (size_t)vocab, vocab, &greedy);
            if (next[s] != want)
                fail_msg("step %d seq %d: gpu %d, host argmax %d", step, s, next[s], want);
            step_tokens[s] = next[s];
        }
    }
    printf("ok: engine forward_sample on cuda: 16 greedy tokens equal the host argmax\n");
    free(logits);
    for (int i = 0; i < 2; i++)
        acc_sampler_destroy(samplers[i]);
    acc_engine_destroy(engine);
    acc_model_close(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_equals_host),
        cmocka_unit_test(test_sampling_distribution),
        cmocka_unit_test(test_engine_forward_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
