/*
 * cpu_kernels.c — accinf-bench-cpu: prefill and decode speed of a model on
 * the CPU backend for each weight precision (f32, stored, q8_0, q4_0, q4_K,
 * q6_K quantized at load), llama-bench style: pp = one forward of N tokens
 * on a fresh sequence, tg = N single-token steps after a 1-token prompt.
 * Prints one JSON line per precision with the median and every sample.
 *
 *   accinf-bench-cpu MODEL [THREADS] [PP] [TG] [REPS] [PRECISION...]
 */
#include "accinf/engine.h"
#include "accinf/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const struct {
    const char *name;
    acc_weights_precision precision;
} precisions[] = {
    {"f32", ACC_WEIGHTS_F32},   {"stored", ACC_WEIGHTS_STORED}, {"q8_0", ACC_WEIGHTS_Q8_0},
    {"q4_0", ACC_WEIGHTS_Q4_0}, {"q4_K", ACC_WEIGHTS_Q4_K},     {"q6_K", ACC_WEIGHTS_Q6_K},
};

/* tokens/s of one pp or tg run; < 0 on failure (message printed). */
static double run_once(acc_engine *engine, int pp, int tg, int vocab, float *logits)
{
    acc_error err;
    int seq;
    if (acc_engine_seq_create(engine, &seq, &err) != ACC_OK) {
        fprintf(stderr, "accinf-bench-cpu: %s\n", err.message);
        return -1;
    }
    int n = pp > 0 ? pp : tg + 1;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids)
        return -1;
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)((i * 7919 + 13) % vocab);
    double rate = -1;
    acc_status st;
    if (pp > 0) {
        double t0 = now_seconds();
        st = acc_engine_forward_one(engine, seq, ids, pp, logits, &err);
        rate = pp / (now_seconds() - t0);
    } else {
        st = acc_engine_forward_one(engine, seq, ids, 1, logits, &err);
        double t0 = now_seconds();
        for (int i = 0; i < tg && st == ACC_OK; i++)
            st = acc_engine_forward_one(engine, seq, ids + 1 + i, 1, logits, &err);
        rate = tg / (now_seconds() - t0);
    }
    if (st != ACC_OK) {
        fprintf(stderr, "accinf-bench-cpu: %s\n", err.message);
        rate = -1;
    }
    acc_engine_seq_free(engine, seq);
    free(ids);
    return rate;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: accinf-bench-cpu MODEL [THREADS] [PP] [TG] [REPS] [PRECISION...]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, pp = argc > 3 ? atoi(argv[3]) : 512;
    int tg = argc > 4 ? atoi(argv[4]) : 128, reps = argc > 5 ? atoi(argv[5]) : 3;
    if (reps < 1 || reps > 100 || pp < 0 || tg < 0) {
        fprintf(stderr, "accinf-bench-cpu: bad PP, TG or REPS\n");
        return 2;
    }
    acc_error err;
    acc_model *model;
    if (acc_model_open(argv[1], &model, &err) != ACC_OK) {
        fprintf(stderr, "accinf-bench-cpu: %s\n", err.message);
        return 2;
    }
    int vocab = acc_model_hparams(model)->vocab_size;
    float *logits = malloc((size_t)vocab * sizeof *logits);
    double *pp_s = calloc((size_t)reps, sizeof *pp_s), *tg_s = calloc((size_t)reps, sizeof *tg_s);
    if (!logits || !pp_s || !tg_s)
        return 3;
    int status = 0;
    for (size_t p = 0; p < sizeof precisions / sizeof precisions[0]; p++) {
        int wanted = argc <= 6;
        for (int a = 6; a < argc; a++)
            wanted |= strcmp(argv[a], precisions[p].name) == 0;
        if (!wanted)
            continue;
        int context = (pp > tg + 1 ? pp : tg + 1);
        acc_engine_options options = {.threads = threads, .max_context = context,
                                      .weights_precision = precisions[p].precision};
        acc_engine *engine;
        if (acc_engine_create(model, &options, &engine, &err) != ACC_OK) {
            fprintf(stderr, "accinf-bench-cpu: %s: %s\n", precisions[p].name, err.message);
            status = 3;
            continue;
        }
        run_once(engine, pp > 0 ? 8 : 0, pp > 0 ? 0 : 4, vocab, logits); /* warm up */
        for (int r = 0; r < reps; r++) {
            pp_s[r] = pp > 0 ? run_once(engine, pp, 0, vocab, logits) : 0;
            tg_s[r] = tg > 0 ? run_once(engine, 0, tg, vocab, logits) : 0;
        }
        printf("{\"model\":\"%s\",\"weights\":\"%s\",\"threads\":%d,\"pp\":%d,\"tg\":%d,",
               argv[1], precisions[p].name, threads, pp, tg);
        printf("\"pp_samples\":[");
        for (int r = 0; r < reps; r++)
            printf("%s%.2f", r ? "," : "", pp_s[r]);
        printf("],\"tg_samples\":[");
        for (int r = 0; r < reps; r++)
            printf("%s%.2f", r ? "," : "", tg_s[r]);
        double pp_median = median(pp_s, reps), tg_median = median(tg_s, reps);
        printf("],\"pp_tok_s\":%.2f,\"tg_tok_s\":%.2f}\n", pp_median, tg_median);
        fflush(stdout);
        acc_engine_destroy(engine);
    }
    free(logits);
    free(pp_s);
    free(tg_s);
    acc_model_close(model);
    return status;
}
