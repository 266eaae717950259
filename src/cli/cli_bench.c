/*
 * cli_bench.c — `accinf bench`: llama-bench-style micro benchmark.
 *   pp N: one forward pass of N tokens on a fresh sequence (prompt processing);
 *   tg N: N single-token decode steps after a short prompt (generation).
 * Token ids are random with a fixed seed, so runs compare like with like.
 * One untimed warm-up precedes the timed repetitions; the result is the
 * mean and sample standard deviation of tokens/s over the repetitions.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_TG_PROMPT 4 /* tokens in the cache before the timed decode steps */

typedef struct bench_stats {
    double mean, stddev;
    double *samples;
    int n;
} bench_stats;

static uint64_t bench_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void bench_random_ids(int32_t *ids, int n, int vocab, uint64_t *state)
{
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)(bench_next(state) % (uint64_t)vocab);
}

static void bench_summarize(bench_stats *s)
{
    double sum = 0.0;
    for (int i = 0; i < s->n; i++)
        sum += s->samples[i];
    s->mean = s->n ? sum / s->n : 0.0;
    double var = 0.0;
    for (int i = 0; i < s->n; i++)
        var += (s->samples[i] - s->mean) * (s->samples[i] - s->mean);
    s->stddev = s->n > 1 ? sqrt(var / (s->n - 1)) : 0.0;
}

/* Seconds for one forward of n tokens on a fresh sequence. */
static acc_status bench_pp_once(acc_engine *engine, const int32_t *ids, int n, float *logits,
                                double *seconds, acc_error *err)
{
    int seq = -1;
    acc_status st = acc_engine_seq_create(engine, &seq, err);
    if (st != ACC_OK)
        return st;
    double t0 = acc_now_seconds();
    st = acc_engine_forward_one(engine, seq, ids, n, logits, err);
    *seconds = acc_now_seconds() - t0;
    acc_engine_seq_free(engine, seq);
    return st;
}

/* Seconds for n single-token steps after a short untimed prompt. */
static acc_status bench_tg_once(acc_engine *engine, const int32_t *ids, int n, float *logits,
                                double *seconds, acc_error *err)
{
    int seq = -1;
    acc_status st = acc_engine_seq_create(engine, &seq, err);
    if (st != ACC_OK)
        return st;
    st = acc_engine_forward_one(engine, seq, ids, BENCH_TG_PROMPT, logits, err);
    double t0 = acc_now_seconds();
    for (int i = 0; i < n && st == ACC_OK; i++)
        st = acc_engine_forward_one(engine, seq, ids + BENCH_TG_PROMPT + i, 1, logits, err);
    *seconds = acc_now_seconds() - t0;
    acc_engine_seq_free(engine, seq);
    return st;
}

static const char *bench_basename(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    const char *slash = NULL;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/' && i + 1 < len)
            slash = path + i;
    return slash ? slash + 1 : path;
}

static void bench_print_row(const char *model, const char *size, double params_m,
                            const char *backend, int threads, const char *test,
                            const bench_stats *s)
{
    char ts[64];
    snprintf(ts, sizeof ts, "%.2f ± %.2f", s->mean, s->stddev);
    printf("| %-24.*s | %10s | %8.2f M | %-7s | %7d | %7s | %18s |\n",
           (int)strcspn(model, "/"), model, size, params_m, backend, threads, test, ts);
}

int cli_bench_main(int argc, char **argv)
{
    int pp = 512, tg = 128, threads = 0, reps = 5, json = 0;
    const char *device = NULL;
    const char *weights = NULL;
    acc_weights_precision precision = ACC_WEIGHTS_STORED;
    const cli_option options[] = {
        {"pp", 0, CLI_INT, &pp, "N", "prompt-processing test: one forward of N tokens (512; 0 skips)",
         NULL},
        {"tg", 0, CLI_INT, &tg, "N", "generation test: N single-token decode steps (128; 0 skips)",
         NULL},
        {"threads", 't', CLI_INT, &threads, "N", "CPU threads (0: all cores; default 0)", NULL},
        {"weights", 0, CLI_STRING, &weights, "TYPE", CLI_WEIGHTS_HELP, NULL},
        {"device", 0, CLI_STRING, &device, "NAME",
         "backend: cpu (default), or cuda / cuda-f32 when built with CUDA", NULL},
        {"reps", 'r', CLI_INT, &reps, "R", "timed repetitions of each test (5)", NULL},
        {"json", 0, CLI_FLAG, &json, NULL,
         "print {\"pp_tok_s\":..,\"tg_tok_s\":.., ...} on stdout", NULL},
    };
    const cli_command cmd = {
        .verb = "bench",
        .usage = "MODEL [--pp N] [--tg N] [--threads T] [--reps R] [--json]",
        .summary = "Measure prompt processing (pp) and generation (tg) speed in tokens/s, like\n"
                   "llama-bench: random token ids (fixed seed), one untimed warm-up, then\n"
                   "R timed repetitions; mean and standard deviation are reported.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf bench examples/demo-model --pp 512 --tg 128 --threads 4\n"
                 "  accinf bench examples/demo-model --pp 64 --tg 16 --reps 3 --json\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_engine *engine = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    bench_stats pp_stats = {0}, tg_stats = {0};
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st == ACC_OK && !help)
        st = cli_weights_precision(weights, &precision, &err);
    if (st != ACC_OK || help)
        goto done;
    if (pp < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--pp: %d must be >= 0", pp);
    else if (tg < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--tg: %d must be >= 0", tg);
    else if (pp == 0 && tg == 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--pp/--tg: nothing to measure (both are 0)");
    else if (threads < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--threads: %d must be >= 0", threads);
    else if (reps < 1 || reps > 1000)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--reps: %d must be in [1, 1000]", reps);
    if (st != ACC_OK)
        goto done;

    st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    int tg_context = tg > 0 ? BENCH_TG_PROMPT + tg : 0;
    int context = pp > tg_context ? pp : tg_context;
    if (context > hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "%s: %d tokens exceed the model's context of %d",
                           pp >= tg_context ? "--pp" : "--tg", context, hp->max_position);
        goto done;
    }
    acc_engine_options eo = {.weights_precision = precision,
                             .device = device,
                             .threads = threads, .max_context = context, .max_sequences = 1};
    st = acc_engine_create(model, &eo, &engine, &err);
    if (st != ACC_OK)
        goto done;
    ids = acc_malloc((size_t)context * sizeof *ids, &err);
    logits = acc_malloc((size_t)hp->vocab_size * sizeof *logits, &err);
    pp_stats.samples = acc_calloc((size_t)reps, sizeof(double), &err);
    tg_stats.samples = acc_calloc((size_t)reps, sizeof(double), &err);
    if (!ids || !logits || !pp_stats.samples || !tg_stats.samples) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    uint64_t rng = 1234;
    bench_random_ids(ids, context, hp->vocab_size, &rng);

    double seconds = 0.0;
    if (pp > 0) {
        st = bench_pp_once(engine, ids, pp, logits, &seconds, &err); /* warm-up */
        for (int r = 0; r < reps && st == ACC_OK; r++) {
            st = bench_pp_once(engine, ids, pp, logits, &seconds, &err);
            pp_stats.samples[pp_stats.n++] = seconds > 0 ? pp / seconds : 0.0;
        }
        if (st != ACC_OK)
            goto done;
        bench_summarize(&pp_stats);
    }
    if (tg > 0) {
        st = bench_tg_once(engine, ids, tg < 4 ? tg : 4, logits, &seconds, &err); /* warm-up */
        for (int r = 0; r < reps && st == ACC_OK; r++) {
            st = bench_tg_once(engine, ids, tg, logits, &seconds, &err);
            tg_stats.samples[tg_stats.n++] = seconds > 0 ? tg / seconds : 0.0;
        }
        if (st != ACC_OK)
            goto done;
        bench_summarize(&tg_stats);
    }

    int used_threads = cli_resolve_threads(threads);
    const char *backend = device ? device : "cpu";
    const char *name = bench_basename(acc_model_path(model));
    const char *arch = acc_arch_hf_name(hp->arch);
    int64_t params = acc_model_parameter_count(model);
    if (json) {
        fputs("{\"model\":", stdout);
        cli_json_string(stdout, name, strcspn(name, "/"));
        fputs(",\"architecture\":", stdout);
        cli_json_string(stdout, arch, strlen(arch));
        printf(",\"parameters\":%lld,\"backend\":", (long long)params);
        cli_json_string(stdout, backend, strlen(backend));
        printf(",\"threads\":%d,\"reps\":%d,\"pp\":%d,\"tg\":%d", used_threads, reps, pp, tg);
        const bench_stats *all[2] = {&pp_stats, &tg_stats};
        const char *keys[2] = {"pp", "tg"};
        for (int k = 0; k < 2; k++) {
            if (all[k]->n == 0) {
                printf(",\"%s_tok_s\":null,\"%s_tok_s_stddev\":null,\"%s_samples\":[]", keys[k],
                       keys[k], keys[k]);
                continue;
            }
            printf(",\"%s_tok_s\":", keys[k]);
            cli_json_double(stdout, all[k]->mean);
            printf(",\"%s_tok_s_stddev\":", keys[k]);
            cli_json_double(stdout, all[k]->stddev);
            printf(",\"%s_samples\":[", keys[k]);
            for (int i = 0; i < all[k]->n; i++) {
                if (i)
                    fputc(',', stdout);
                cli_json_double(stdout, all[k]->samples[i]);
            }
            fputc(']', stdout);
        }
        fputs("}\n", stdout);
    } else {
        uint64_t stored = 0;
        const acc_weight_set *w = acc_model_weights(model);
        for (size_t i = 0; i < acc_weight_set_count(w); i++)
            stored += acc_weight_set_at(w, i)->nbytes;
        char size[32];
        double v = (double)stored;
        if (v >= 1024.0 * 1024.0 * 1024.0)
            snprintf(size, sizeof size, "%.2f GiB", v / (1024.0 * 1024.0 * 1024.0));
        else
            snprintf(size, sizeof size, "%.2f MiB", v / (1024.0 * 1024.0));
        printf("| %-24s | %10s | %10s | %-7s | %7s | %7s | %18s |\n", "model", "size", "params",
               "backend", "threads", "test", "t/s");
        printf("| %s | %s | %s | %s | %s | %s | %s |\n", "------------------------",
               "---------:", "---------:", "-------", "------:", "------:",
               "-----------------:");
        char test[32];
        if (pp_stats.n) {
            snprintf(test, sizeof test, "pp%d", pp);
            bench_print_row(name, size, (double)params / 1e6, backend, used_threads, test,
                            &pp_stats);
        }
        if (tg_stats.n) {
            snprintf(test, sizeof test, "tg%d", tg);
            bench_print_row(name, size, (double)params / 1e6, backend, used_threads, test,
                            &tg_stats);
        }
    }

done:
    if (engine)
        acc_engine_destroy(engine);
    if (model)
        acc_model_close(model);
    free(ids);
    free(logits);
    free(pp_stats.samples);
    free(tg_stats.samples);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
