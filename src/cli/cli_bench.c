/*
 * cli_bench.c — `accinf bench`: llama-bench-style micro benchmark.
 *   pp N: one forward pass of N tokens on a fresh sequence (prompt processing);
 *   tg N: N single-token decode steps after a short prompt (generation), at
 *   each --batch size B: B sequences advance one token per step together.
 * Token ids are random with a fixed seed, so runs compare like with like.
 * One untimed warm-up precedes the timed repetitions; the result is the
 * mean and sample standard deviation of tokens/s over the repetitions.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/engine.h"
#include "accinf/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_TG_PROMPT 4 /* tokens in the cache before the timed decode steps */
#define BENCH_MAX_BATCH 1024
#define BENCH_MAX_LIST 8

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

/* Seconds for n decode steps of `batch` sequences (one token each per
 * step, one acc_engine_forward per step) after a short untimed prompt.
 * With samplers, each step is acc_engine_forward_sample instead (the next
 * token of every sequence picked, on the device where the backend can);
 * the fed tokens stay the random ids either way. */
static acc_status bench_tg_once(acc_engine *engine, const int32_t *ids, int batch, int n,
                                float *logits, acc_sampler *const *samplers, int32_t *picked,
                                double *seconds, acc_error *err)
{
    int seqs[BENCH_MAX_BATCH], counts[BENCH_MAX_BATCH];
    const int32_t *toks[BENCH_MAX_BATCH];
    int made = 0;
    acc_status st = ACC_OK;
    *seconds = 0.0;
    for (; made < batch && st == ACC_OK; made++)
        st = acc_engine_seq_create(engine, &seqs[made], err);
    if (st != ACC_OK)
        made--;
    for (int b = 0; b < batch && st == ACC_OK; b++) {
        toks[b] = ids + b % 7; /* sequences differ a little */
        counts[b] = BENCH_TG_PROMPT;
    }
    acc_batch step = {.n_seqs = batch, .seq_ids = seqs, .tokens = toks, .n_tokens = counts};
    if (st == ACC_OK)
        st = acc_engine_forward(engine, &step, logits, err);
    double t0 = acc_now_seconds();
    for (int i = 0; i < n && st == ACC_OK; i++) {
        for (int b = 0; b < batch; b++) {
            toks[b] = ids + BENCH_TG_PROMPT + (i + b) % n;
            counts[b] = 1;
        }
        st = samplers ? acc_engine_forward_sample(engine, &step, samplers, picked, err)
                      : acc_engine_forward(engine, &step, logits, err);
    }
    *seconds = acc_now_seconds() - t0;
    for (int b = 0; b < made; b++)
        acc_engine_seq_free(engine, seqs[b]);
    return st;
}

/* Parses "N[,N...]" into at most max positive ints. */
static acc_status bench_parse_list(const char *what, const char *text, int min, int *out, int max,
                                   int *n, acc_error *err)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || v < min || v > (1 << 24) || (*end && *end != ','))
            return acc_error_set(err, ACC_ERR_INPUT, "%s: '%s' is not a list of integers >= %d",
                                 what, text, min);
        if (*n == max)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: more than %d values", what, max);
        out[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (*n == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: empty list", what);
    return ACC_OK;
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
    printf("| %-24.*s | %10s | %8.2f M | %-7s | %7d | %7s | %18s |\n", (int)strcspn(model, "/"),
           model, size, params_m, backend, threads, test, ts);
}

static void bench_json_stats(const char *key, int value, const bench_stats *s)
{
    printf("{\"%s\":%d,\"tok_s\":", key, value);
    cli_json_double(stdout, s->mean);
    fputs(",\"tok_s_stddev\":", stdout);
    cli_json_double(stdout, s->stddev);
    fputs(",\"samples\":[", stdout);
    for (int i = 0; i < s->n; i++) {
        if (i)
            fputc(',', stdout);
        cli_json_double(stdout, s->samples[i]);
    }
    fputs("]}", stdout);
}

int cli_bench_main(int argc, char **argv)
{
    int tg = 128, threads = 0, reps = 5, json = 0, ubatch = 0, sample = 0;
    const char *device = NULL, *pp_text = "512", *batch_text = "1";
    const char *weights = NULL;
    acc_weights_precision precision = ACC_WEIGHTS_STORED;
    const cli_option options[] = {
        {"pp", 0, CLI_STRING, &pp_text, "N[,N..]",
         "prompt-processing tests: one forward of N tokens each (512; 0 skips)", NULL},
        {"tg", 0, CLI_INT, &tg, "N", "generation test: N single-token decode steps (128; 0 skips)",
         NULL},
        {"batch", 'b', CLI_STRING, &batch_text, "B[,B..]",
         "generation test at each batch size: B sequences, one token each per step (1)", NULL},
        {"ubatch", 0, CLI_INT, &ubatch, "N",
         "tokens per backend step (0: the engine's default, min(context, 512))", NULL},
        {"threads", 't', CLI_INT, &threads, "N", "CPU threads (0: all cores; default 0)", NULL},
        {"weights", 0, CLI_STRING, &weights, "TYPE", CLI_WEIGHTS_HELP, NULL},
        {"device", 0, CLI_STRING, &device, "NAME",
         "backend: cpu (default), or cuda / cuda-f32 when built with CUDA", NULL},
        {"reps", 'r', CLI_INT, &reps, "R", "timed repetitions of each test (5)", NULL},
        {"sample", 0, CLI_FLAG, &sample, NULL,
         "generation steps also pick each sequence's next token (greedy sampler; on the GPU "
         "for cuda) instead of returning all logits to the host",
         NULL},
        {"json", 0, CLI_FLAG, &json, NULL, "print {\"pp_tok_s\":..,\"tg_tok_s\":.., ...} on stdout",
         NULL},
    };
    const cli_command cmd = {
        .verb = "bench",
        .usage =
            "MODEL [--pp N[,N..]] [--tg N] [--batch B[,B..]] [--threads T] [--reps R] [--json]",
        .summary = "Measure prompt processing (pp) and generation (tg) speed in tokens/s, like\n"
                   "llama-bench: random token ids (fixed seed), one untimed warm-up, then\n"
                   "R timed repetitions; mean and standard deviation are reported.  A batch\n"
                   "of B decodes B sequences per step and counts B tokens per step.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf bench examples/demo-model --pp 512 --tg 128 --threads 4\n"
                 "  accinf bench examples/demo-model --pp 64 --tg 16 --reps 3 --json\n"
                 "  accinf bench MODEL --device cuda --pp 512,2048 --ubatch 2048 --batch 1,8,32\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_engine *engine = NULL;
    int32_t *ids = NULL, *picked = NULL;
    float *logits = NULL;
    acc_sampler **samplers = NULL;
    int n_samplers = 0;
    int pps[BENCH_MAX_LIST], batches[BENCH_MAX_LIST], n_pp = 0, n_batch = 0;
    bench_stats pp_stats[BENCH_MAX_LIST] = {{0}}, tg_stats[BENCH_MAX_LIST] = {{0}};
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st == ACC_OK && !help)
        st = cli_weights_precision(weights, &precision, &err);
    if (st != ACC_OK || help)
        goto done;
    st = bench_parse_list("--pp", pp_text, 0, pps, BENCH_MAX_LIST, &n_pp, &err);
    if (st == ACC_OK)
        st = bench_parse_list("--batch", batch_text, 1, batches, BENCH_MAX_LIST, &n_batch, &err);
    if (st != ACC_OK)
        goto done;
    int pp_max = 0, batch_max = 1;
    for (int i = 0; i < n_pp; i++)
        pp_max = pps[i] > pp_max ? pps[i] : pp_max;
    for (int i = 0; i < n_batch; i++)
        batch_max = batches[i] > batch_max ? batches[i] : batch_max;
    if (tg < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--tg: %d must be >= 0", tg);
    else if (pp_max == 0 && tg == 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--pp/--tg: nothing to measure (both are 0)");
    else if (batch_max > BENCH_MAX_BATCH)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--batch: %d exceeds %d", batch_max,
                           BENCH_MAX_BATCH);
    else if (ubatch < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ubatch: %d must be >= 0", ubatch);
    else if (threads < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--threads: %d must be >= 0", threads);
    else if (reps < 1 || reps > 1000)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--reps: %d must be in [1, 1000]", reps);
    if (st != ACC_OK)
        goto done;
    if (tg == 0)
        n_batch = 0;

    st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    int tg_context = tg > 0 ? BENCH_TG_PROMPT + tg : 0;
    int context = pp_max > tg_context ? pp_max : tg_context;
    if (context > hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "%s: %d tokens exceed the model's context of %d",
                           pp_max >= tg_context ? "--pp" : "--tg", context, hp->max_position);
        goto done;
    }
    acc_engine_options eo = {.weights_precision = precision,
                             .device = device,
                             .threads = threads,
                             .max_context = context,
                             .max_sequences = n_batch ? batch_max : 1,
                             .max_batch_tokens = ubatch};
    st = acc_engine_create(model, &eo, &engine, &err);
    if (st != ACC_OK)
        goto done;
    ids = acc_malloc((size_t)(context + 8) * sizeof *ids, &err);
    logits = acc_malloc((size_t)hp->vocab_size * (size_t)(n_batch ? batch_max : 1) * sizeof *logits,
                        &err);
    for (int i = 0; i < BENCH_MAX_LIST && ids && logits; i++) {
        pp_stats[i].samples = acc_calloc((size_t)reps, sizeof(double), &err);
        tg_stats[i].samples = acc_calloc((size_t)reps, sizeof(double), &err);
        if (!pp_stats[i].samples || !tg_stats[i].samples)
            break;
    }
    if (!ids || !logits || !pp_stats[BENCH_MAX_LIST - 1].samples ||
        !tg_stats[BENCH_MAX_LIST - 1].samples) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    if (sample && n_batch) {
        samplers = acc_calloc((size_t)batch_max, sizeof *samplers, &err);
        picked = acc_calloc((size_t)batch_max, sizeof *picked, &err);
        if (!samplers || !picked) {
            st = ACC_ERR_RUNTIME;
            goto done;
        }
        acc_sampler_options so = {.temperature = 0.0f, .top_p = 1.0f, .seed = 1};
        for (; n_samplers < batch_max && st == ACC_OK; n_samplers++)
            st = acc_sampler_create(&so, hp->vocab_size, &samplers[n_samplers], &err);
        if (st != ACC_OK)
            n_samplers--;
        if (st != ACC_OK)
            goto done;
    }
    uint64_t rng = 1234;
    bench_random_ids(ids, context + 8, hp->vocab_size, &rng);

    double seconds = 0.0;
    for (int k = 0; k < n_pp && st == ACC_OK; k++) {
        int pp = pps[k];
        if (pp == 0)
            continue;
        st = bench_pp_once(engine, ids, pp, logits, &seconds, &err); /* warm-up */
        for (int r = 0; r < reps && st == ACC_OK; r++) {
            st = bench_pp_once(engine, ids, pp, logits, &seconds, &err);
            pp_stats[k].samples[pp_stats[k].n++] = seconds > 0 ? pp / seconds : 0.0;
        }
        bench_summarize(&pp_stats[k]);
    }
    for (int k = 0; k < n_batch && st == ACC_OK; k++) {
        int b = batches[k];
        st = bench_tg_once(engine, ids, b, tg < 4 ? tg : 4, logits, samplers, picked, &seconds,
                           &err); /* warm-up */
        for (int r = 0; r < reps && st == ACC_OK; r++) {
            st = bench_tg_once(engine, ids, b, tg, logits, samplers, picked, &seconds, &err);
            tg_stats[k].samples[tg_stats[k].n++] = seconds > 0 ? (double)b * tg / seconds : 0.0;
        }
        bench_summarize(&tg_stats[k]);
    }
    if (st != ACC_OK)
        goto done;

    int used_threads = cli_resolve_threads(threads);
    const char *backend = device ? device : "cpu";
    const char *name = bench_basename(acc_model_path(model));
    const char *arch = acc_arch_hf_name(hp->arch);
    int64_t params = acc_model_parameter_count(model);
    /* the classic keys: the first pp test, the batch-1 (else first) tg test */
    int pp0 = -1, tg0 = -1;
    for (int k = 0; k < n_pp && pp0 < 0; k++)
        if (pp_stats[k].n)
            pp0 = k;
    for (int k = n_batch - 1; k >= 0; k--)
        if (tg0 < 0 || batches[k] == 1)
            tg0 = k;
    if (json) {
        fputs("{\"model\":", stdout);
        cli_json_string(stdout, name, strcspn(name, "/"));
        fputs(",\"architecture\":", stdout);
        cli_json_string(stdout, arch, strlen(arch));
        printf(",\"parameters\":%lld,\"backend\":", (long long)params);
        cli_json_string(stdout, backend, strlen(backend));
        printf(",\"threads\":%d,\"reps\":%d,\"sample\":%s,\"pp\":%d,\"tg\":%d", used_threads,
               reps, samplers ? "true" : "false", pp0 >= 0 ? pps[pp0] : 0, tg);
        const bench_stats *all[2] = {pp0 >= 0 ? &pp_stats[pp0] : NULL,
                                     tg0 >= 0 ? &tg_stats[tg0] : NULL};
        const char *keys[2] = {"pp", "tg"};
        for (int k = 0; k < 2; k++) {
            if (!all[k] || all[k]->n == 0) {
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
        fputs(",\"pp_runs\":[", stdout);
        int first = 1;
        for (int k = 0; k < n_pp; k++) {
            if (!pp_stats[k].n)
                continue;
            if (!first)
                fputc(',', stdout);
            first = 0;
            bench_json_stats("pp", pps[k], &pp_stats[k]);
        }
        fputs("],\"tg_runs\":[", stdout);
        for (int k = 0; k < n_batch; k++) {
            if (k)
                fputc(',', stdout);
            bench_json_stats("batch", batches[k], &tg_stats[k]);
        }
        fputs("]}\n", stdout);
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
               "---------:", "---------:", "-------", "------:", "------:", "-----------------:");
        char test[48];
        for (int k = 0; k < n_pp; k++) {
            if (!pp_stats[k].n)
                continue;
            snprintf(test, sizeof test, "pp%d", pps[k]);
            bench_print_row(name, size, (double)params / 1e6, backend, used_threads, test,
                            &pp_stats[k]);
        }
        for (int k = 0; k < n_batch; k++) {
            if (batches[k] == 1)
                snprintf(test, sizeof test, "tg%d", tg);
            else
                snprintf(test, sizeof test, "tg%d b%d", tg, batches[k]);
            bench_print_row(name, size, (double)params / 1e6, backend, used_threads, test,
                            &tg_stats[k]);
        }
    }

done:
    if (engine)
        acc_engine_destroy(engine);
    if (model)
        acc_model_close(model);
    free(ids);
    free(logits);
    free(picked);
    for (int b = 0; b < n_samplers; b++)
        acc_sampler_destroy(samplers[b]);
    free(samplers);
    for (int i = 0; i < BENCH_MAX_LIST; i++) {
        free(pp_stats[i].samples);
        free(tg_stats[i].samples);
    }
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
