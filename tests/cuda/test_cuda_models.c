/*
 * test_cuda_models.c — the CUDA backends against the fp32 CPU reference on
 * every fixture model and the demo model: all-position prefill logits
 * (chunked and not), 24 greedy decode steps, a mixed two-sequence batch, a
 * fork with copy-on-write; "cuda-f32" within 1e-4 x max(1, max|logit|) as
 * the CPU path is held to transformers, "cuda" (16-bit weights) within a
 * bf16-calibrated bound with equal greedy tokens wherever the CPU's choice
 * is clear.  A 700-token prompt and decode after it cover the tiled
 * prefill attention and split-K decode.  Then out-of-device-memory is
 * ACC_ERR_RUNTIME.  Needs a GPU:
 * registered with ctest only under ACCINF_CUDA_TESTS (label "cuda").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/engine.h"
#include "accinf/model.h"

#define PROMPT_TOKENS 37 /* crosses two 16-token KV blocks */
#define GREEDY_STEPS 24

/* How close a device must stay to the CPU: logits within rel_tol x
 * max(1, max|cpu logit|) per row; the argmax must agree wherever the
 * CPU's top-1 minus top-2 exceeds margin x that scale. */
typedef struct device_case {
    const char *device;
    double rel_tol, margin;
    int max_batch_tokens; /* 0: default; small values force chunked prefill */
} device_case;

static const device_case DEVICES[] = {
    {"cuda-f32", 1e-4, 2e-4, 0},
    {"cuda-f32", 1e-4, 2e-4, 16},
    {"cuda", 6e-2, 1e-1, 0},
};

typedef struct row_stats {
    double worst;     /* max over rows of max|diff| / scale */
    int argmax_equal; /* rows whose argmax agrees */
    int rows;
} row_stats;

static int argmax_of(const float *row, int n, float *margin)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    float second = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != best && row[i] > second)
            second = row[i];
    if (margin)
        *margin = row[best] - second;
    return best;
}

static void compare_rows(const char *what, const device_case *dc, const float *ref,
                         const float *got, int rows, int vocab, row_stats *stats)
{
    for (int r = 0; r < rows; r++) {
        const float *a = ref + (size_t)r * (size_t)vocab, *b = got + (size_t)r * (size_t)vocab;
        double scale = 1.0, diff = 0.0;
        for (int i = 0; i < vocab; i++) {
            scale = fmax(scale, fabs(a[i]));
            if (!isfinite(b[i]))
                fail_msg("%s [%s] row %d: logit %d is not finite", what, dc->device, r, i);
            diff = fmax(diff, fabs((double)a[i] - b[i]));
        }
        stats->worst = fmax(stats->worst, diff / scale);
        if (diff > dc->rel_tol * scale)
            fail_msg("%s [%s] row %d: logits differ by %g (tolerance %g)", what, dc->device, r,
                     diff, dc->rel_tol * scale);
        float margin;
        int want = argmax_of(a, vocab, &margin), have = argmax_of(b, vocab, NULL);
        stats->rows++;
        stats->argmax_equal += want == have;
        if (want != have && margin > dc->margin * scale)
            fail_msg("%s [%s] row %d: argmax %d, cpu %d (cpu margin %g)", what, dc->device, r, have,
                     want, margin);
    }
}

static acc_engine *engine_new(const acc_model *model, const char *device, int max_batch_tokens)
{
    acc_engine_options options = {
        .device = device, .max_sequences = 4, .max_batch_tokens = max_batch_tokens};
    acc_engine *engine;
    acc_error err;
    if (acc_engine_create(model, &options, &engine, &err) != ACC_OK)
        fail_msg("engine %s: %s", device, err.message);
    return engine;
}

/* Runs the same batch on both engines (fresh sequence ids match because
 * both engines see the same calls) and compares every output row. */
static void forward_both(acc_engine *cpu, acc_engine *dev, const acc_batch *batch, int vocab,
                         const char *what, const device_case *dc, row_stats *stats, float *cpu_out,
                         float *dev_out)
{
    acc_error err;
    if (acc_engine_forward(cpu, batch, cpu_out, &err) != ACC_OK)
        fail_msg("%s: cpu forward: %s", what, err.message);
    if (acc_engine_forward(dev, batch, dev_out, &err) != ACC_OK)
        fail_msg("%s: %s forward: %s", what, dc->device, err.message);
    int rows = 0;
    for (int i = 0; i < batch->n_seqs; i++)
        rows += batch->all_logits ? batch->n_tokens[i] : 1;
    compare_rows(what, dc, cpu_out, dev_out, rows, vocab, stats);
}

static int seq_new(acc_engine *cpu, acc_engine *dev)
{
    acc_error err;
    int a, b;
    assert_int_equal(acc_engine_seq_create(cpu, &a, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_create(dev, &b, &err), ACC_OK);
    assert_int_equal(a, b);
    return a;
}

static void check_device(const acc_model *model, acc_engine *cpu, const char *name,
                         const device_case *dc)
{
    int vocab = acc_model_hparams(model)->vocab_size;
    acc_engine *dev = engine_new(model, dc->device, dc->max_batch_tokens);
    size_t cap = (size_t)(PROMPT_TOKENS + 8) * (size_t)vocab;
    float *cpu_out = malloc(cap * sizeof(float)), *dev_out = malloc(cap * sizeof(float));
    assert_non_null(cpu_out);
    assert_non_null(dev_out);
    int32_t ids[PROMPT_TOKENS];
    uint64_t state = 0x9e3779b97f4a7c15ull ^ (uint64_t)vocab;
    for (int i = 0; i < PROMPT_TOKENS; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((state >> 33) % (uint64_t)vocab);
    }
    row_stats prefill = {0}, decode = {0}, batched = {0};

    /* prefill, every position's logits */
    int seq = seq_new(cpu, dev), n = PROMPT_TOKENS;
    const int32_t *lists[2] = {ids, NULL};
    acc_batch batch = {
        .n_seqs = 1, .seq_ids = &seq, .tokens = lists, .n_tokens = &n, .all_logits = 1};
    forward_both(cpu, dev, &batch, vocab, name, dc, &prefill, cpu_out, dev_out);

    /* greedy decode: both are fed the CPU's choice, so every step compares */
    int one = 1, greedy_equal = 0;
    batch.all_logits = 0;
    batch.n_tokens = &one;
    const float *last_cpu = cpu_out + (size_t)(PROMPT_TOKENS - 1) * (size_t)vocab;
    const float *last_dev = dev_out + (size_t)(PROMPT_TOKENS - 1) * (size_t)vocab;
    float *row_cpu = malloc((size_t)vocab * sizeof(float));
    float *row_dev = malloc((size_t)vocab * sizeof(float));
    assert_non_null(row_cpu);
    assert_non_null(row_dev);
    memcpy(row_cpu, last_cpu, (size_t)vocab * sizeof(float));
    memcpy(row_dev, last_dev, (size_t)vocab * sizeof(float));
    for (int step = 0; step < GREEDY_STEPS; step++) {
        int32_t next = (int32_t)argmax_of(row_cpu, vocab, NULL);
        greedy_equal += argmax_of(row_dev, vocab, NULL) == next;
        lists[0] = &next;
        forward_both(cpu, dev, &batch, vocab, name, dc, &decode, row_cpu, row_dev);
    }

    /* a mixed batch: a new sequence's 5-token prefill beside one decode
     * token of the first, then a fork whose first write copies a block */
    int fresh = seq_new(cpu, dev);
    int seq_ids[2] = {seq, fresh}, counts[2] = {1, 5};
    lists[0] = &ids[3];
    lists[1] = &ids[10];
    acc_batch mixed = {
        .n_seqs = 2, .seq_ids = seq_ids, .tokens = lists, .n_tokens = counts, .all_logits = 1};
    forward_both(cpu, dev, &mixed, vocab, name, dc, &batched, cpu_out, dev_out);
    acc_error err;
    int fork_cpu, fork_dev;
    assert_int_equal(acc_engine_seq_fork(cpu, seq, &fork_cpu, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_fork(dev, seq, &fork_dev, &err), ACC_OK);
    assert_int_equal(fork_cpu, fork_dev);
    int forked[3] = {seq, fork_cpu, fresh}, ones[3] = {1, 2, 1};
    const int32_t *three[3] = {&ids[20], &ids[30], &ids[0]};
    acc_batch split = {
        .n_seqs = 3, .seq_ids = forked, .tokens = three, .n_tokens = ones, .all_logits = 1};
    forward_both(cpu, dev, &split, vocab, name, dc, &batched, cpu_out, dev_out);

    print_message("%-14s %-9s chunk %-3d prefill worst %.2e, decode worst %.2e, batch worst "
                  "%.2e (of max|logit|; tolerance %.0e); argmax equal %d/%d, greedy %d/%d\n",
                  name, dc->device, dc->max_batch_tokens, prefill.worst, decode.worst,
                  batched.worst, dc->rel_tol, prefill.argmax_equal + decode.argmax_equal,
                  prefill.rows + decode.rows, greedy_equal, GREEDY_STEPS);
    free(row_cpu);
    free(row_dev);
    free(cpu_out);
    free(dev_out);
    acc_engine_destroy(dev);
}

static void check_model_dir(const char *dir, const char *name)
{
    acc_model *model;
    acc_error err;
    if (acc_model_open(dir, &model, &err) != ACC_OK)
        fail_msg("%s: open: %s", name, err.message);
    for (size_t d = 0; d < sizeof DEVICES / sizeof DEVICES[0]; d++) {
        acc_engine *cpu = engine_new(model, "cpu", 0);
        check_device(model, cpu, name, &DEVICES[d]);
        acc_engine_destroy(cpu);
    }
    acc_model_close(model);
}

static void test_fixture_models(void **state)
{
    (void)state;
    DIR *d = opendir(ACCINF_FIXTURES "/models");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s", ACCINF_FIXTURES, e->d_name);
        check_model_dir(path, e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= 6);
}

static void test_demo_model(void **state)
{
    (void)state;
    check_model_dir(ACCINF_EXAMPLES "/demo-model", "demo-model");
}

/* A long prompt (two chunks, many attention tiles of the tiled prefill)
 * and decode steps at a context long enough for split-K attention, every
 * row against the CPU. */
#define LONG_PROMPT 700
#define LONG_STEPS 6

static void test_long_context(void **state)
{
    (void)state;
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(ACCINF_EXAMPLES "/demo-model", &model, &err), ACC_OK);
    int vocab = acc_model_hparams(model)->vocab_size;
    const device_case cases[2] = {DEVICES[0], DEVICES[2]};
    float *cpu_out = malloc((size_t)LONG_PROMPT * (size_t)vocab * sizeof(float));
    float *dev_out = malloc((size_t)LONG_PROMPT * (size_t)vocab * sizeof(float));
    int32_t *ids = malloc(LONG_PROMPT * sizeof *ids);
    assert_non_null(cpu_out);
    assert_non_null(dev_out);
    assert_non_null(ids);
    uint64_t state64 = 12345;
    for (int i = 0; i < LONG_PROMPT; i++) {
        state64 = state64 * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((state64 >> 33) % (uint64_t)vocab);
    }
    for (int c = 0; c < 2; c++) {
        acc_engine *cpu = engine_new(model, "cpu", 0), *dev = engine_new(model, cases[c].device, 0);
        row_stats prefill = {0}, decode = {0};
        int seq = seq_new(cpu, dev), n = LONG_PROMPT, one = 1;
        const int32_t *lists[1] = {ids};
        acc_batch batch = {
            .n_seqs = 1, .seq_ids = &seq, .tokens = lists, .n_tokens = &n, .all_logits = 1};
        forward_both(cpu, dev, &batch, vocab, "long prompt", &cases[c], &prefill, cpu_out, dev_out);
        int32_t next = (int32_t)argmax_of(cpu_out + (size_t)(LONG_PROMPT - 1) * vocab, vocab, NULL);
        batch.all_logits = 0;
        batch.n_tokens = &one;
        for (int step = 0; step < LONG_STEPS; step++) {
            lists[0] = &next;
            forward_both(cpu, dev, &batch, vocab, "long decode", &cases[c], &decode, cpu_out,
                         dev_out);
            next = (int32_t)argmax_of(cpu_out, vocab, NULL);
        }
        print_message("demo-model long %-9s prefill %d worst %.2e, decode at %d worst %.2e\n",
                      cases[c].device, LONG_PROMPT, prefill.worst, LONG_PROMPT + LONG_STEPS,
                      decode.worst);
        acc_engine_destroy(dev);
        acc_engine_destroy(cpu);
    }
    free(ids);
    free(cpu_out);
    free(dev_out);
    acc_model_close(model);
}

/* A KV cache far beyond any GPU's memory: a clear ACC_ERR_RUNTIME. */
static void test_out_of_memory(void **state)
{
    (void)state;
    acc_model *model;
    acc_error err;
    assert_int_equal(acc_model_open(ACCINF_EXAMPLES "/demo-model", &model, &err), ACC_OK);
    const char *devices[2] = {"cuda", "cuda-f32"};
    for (int i = 0; i < 2; i++) {
        acc_engine_options options = {.device = devices[i], .max_sequences = 65536};
        acc_engine *engine = NULL;
        acc_status st = acc_engine_create(model, &options, &engine, &err);
        assert_int_equal(st, ACC_ERR_RUNTIME);
        assert_null(engine);
        assert_non_null(strstr(err.message, "out of device memory"));
        print_message("%s: %s\n", devices[i], err.message);
    }
    /* the device is still usable afterwards */
    acc_engine_options options = {.device = "cuda"};
    acc_engine *engine;
    assert_int_equal(acc_engine_create(model, &options, &engine, &err), ACC_OK);
    int seq;
    int32_t ids[3] = {0, 5, 9};
    assert_int_equal(acc_engine_seq_create(engine, &seq, &err), ACC_OK);
    assert_int_equal(acc_engine_forward_one(engine, seq, ids, 3, NULL, &err), ACC_OK);
    acc_engine_destroy(engine);
    acc_model_close(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_models),
        cmocka_unit_test(test_demo_model),
        cmocka_unit_test(test_long_context),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
