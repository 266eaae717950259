/*
 * cli_perplexity.c — `accinf perplexity`: perplexity of a text file with
 * llama-perplexity's definition, so the two tools' numbers compare.
 *
 * The text is tokenized once (with BOS when the tokenizer adds one) and cut
 * into non-overlapping windows of --ctx tokens (a trailing partial window is
 * dropped); each window starts fresh, its first token replaced by BOS when
 * the tokenizer adds one, and only the second half is scored: the
 * log-probability of token j+1 given tokens 0..j for j in [ctx/2, ctx-1).
 * PPL = exp(mean NLL), reported ± exp(mean)·sqrt(var(NLL)/(count-1)) as
 * llama.cpp does (running estimates go to stderr on a terminal).  --argmax-out/--argmax-ref record and compare the
 * argmax at every scored position (top-1 agreement between two models).
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -log p(tok) from one row of logits, as llama-perplexity's log_softmax. */
static double row_nll(const float *logits, int n_vocab, int32_t tok, int32_t *argmax)
{
    float max_logit = logits[0];
    int32_t best = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > max_logit) {
            max_logit = logits[i];
            best = i;
        }
    double sum_exp = 0.0;
    for (int i = 0; i < n_vocab; i++)
        sum_exp += expf(logits[i] - max_logit);
    *argmax = best;
    return -((double)(logits[tok] - max_logit) - log(sum_exp));
}

static acc_status read_argmax_ref(const char *path, int32_t **ids, size_t *n, acc_error *err)
{
    char *text = NULL;
    size_t size = 0;
    acc_status st = acc_read_file(path, &text, &size, err);
    if (st != ACC_OK)
        return st;
    while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == ' ' || text[size - 1] == '\r'))
        text[--size] = '\0'; /* as --argmax-out writes it: one line */
    st = cli_parse_ids(text, path, 0, ids, n, err);
    free(text);
    return st;
}

int cli_perplexity_main(int argc, char **argv)
{
    const char *file = NULL, *argmax_out = NULL, *argmax_ref = NULL;
    int ctx = 512, batch = 0, threads = 0, chunks = -1, json = 0;
    const char *weights = NULL;
    acc_weights_precision precision = ACC_WEIGHTS_STORED;
    const cli_option options[] = {
        {"file", 'f', CLI_STRING, &file, "TEXT", "UTF-8 text file to score", NULL},
        {"ctx", 'c', CLI_INT, &ctx, "N", "window length in tokens (default 512)", NULL},
        {"batch", 'b', CLI_INT, &batch, "N", "tokens per forward step (default: --ctx)", NULL},
        {"chunks", 0, CLI_INT, &chunks, "N", "score at most N windows (default: all)", NULL},
        {"threads", 0, CLI_INT, &threads, "N", "CPU threads (default: online cores)", NULL},
        {"weights", 0, CLI_STRING, &weights, "TYPE", CLI_WEIGHTS_HELP, NULL},
        {"argmax-out", 0, CLI_STRING, &argmax_out, "PATH",
         "write the argmax token id at every scored position (comma-separated)", NULL},
        {"argmax-ref", 0, CLI_STRING, &argmax_ref, "PATH",
         "report the share of scored positions whose argmax equals this file's", NULL},
        {"json", 0, CLI_FLAG, &json, NULL, "print one JSON object on stdout", NULL},
    };
    const cli_command cmd = {
        .verb = "perplexity",
        .usage = "MODEL --file TEXT [--ctx N] [--batch N] [options]",
        .summary = "Perplexity of a text with llama-perplexity's definition: non-overlapping\n"
                   "windows of --ctx tokens, the second half of each window scored.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Output: 'Final estimate: PPL = P +/- E' (E: standard error, as llama.cpp).\n"
                 "Examples:\n"
                 "  accinf perplexity examples/demo-model --file examples/demo-model/heldout.txt "
                 "--ctx 128\n"
                 "  accinf perplexity demo-q4_0.gguf -f heldout.txt -c 128 --argmax-ref f32.ids\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_engine *engine = NULL;
    char *text = NULL;
    size_t text_size = 0;
    int32_t *ids = NULL, *plain = NULL, *argmax = NULL, *ref = NULL;
    size_t n_ids = 0, n_plain = 0, n_ref = 0;
    float *logits = NULL;
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st == ACC_OK && !help)
        st = cli_weights_precision(weights, &precision, &err);
    if (st != ACC_OK || help)
        goto done;
    if (!path) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "MODEL: missing (see 'accinf perplexity --help')");
        goto done;
    }
    if (!file) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--file: missing");
        goto done;
    }
    if (ctx < 4) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ctx: must be at least 4");
        goto done;
    }
    if (batch == 0)
        batch = ctx;
    if (batch < 1) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--batch: must be positive");
        goto done;
    }
    if (batch > ctx)
        batch = ctx;
    st = acc_read_file(file, &text, &text_size, &err);
    if (st == ACC_OK)
        st = cli_check_utf8(text, text_size, file, &err);
    if (st == ACC_OK)
        st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    if (!tok) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "%s: the model has no tokenizer", path);
        goto done;
    }
    if (ctx > hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ctx: %d exceeds the model's context of %d",
                           ctx, hp->max_position);
        goto done;
    }
    st = acc_tokenizer_encode(tok, text, text_size, 1, &ids, &n_ids, &err);
    if (st == ACC_OK)
        st = acc_tokenizer_encode(tok, text, text_size, 0, &plain, &n_plain, &err);
    if (st != ACC_OK)
        goto done;
    /* llama.cpp puts BOS at the start of every window when the vocabulary adds it */
    int32_t bos = acc_tokenizer_bos_id(tok);
    int add_bos = bos >= 0 && n_ids > n_plain && ids[0] == bos;
    if (n_ids < 2 * (size_t)ctx) {
        st = acc_error_set(&err, ACC_ERR_INPUT,
                           "%s: %zu tokens; at least %d are needed for --ctx %d", file, n_ids,
                           2 * ctx, ctx);
        goto done;
    }
    int n_chunk = (int)(n_ids / (size_t)ctx);
    if (chunks >= 0 && chunks < n_chunk)
        n_chunk = chunks;
    int first = ctx / 2, per_chunk = ctx - 1 - first;
    acc_engine_options eo = {.weights_precision = precision,
                             .threads = threads, .max_context = ctx, .max_sequences = 1,
                             .max_batch_tokens = batch};
    st = acc_engine_create(model, &eo, &engine, &err);
    if (st != ACC_OK)
        goto done;
    int vocab = hp->vocab_size;
    logits = acc_malloc((size_t)batch * (size_t)vocab * sizeof *logits, &err);
    argmax = acc_calloc((size_t)n_chunk * (size_t)per_chunk + 1, sizeof *argmax, &err);
    if (!logits || !argmax) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    /* running estimates as llama-perplexity prints them, on a terminal only */
    int progress = !json && isatty(STDERR_FILENO);
    double nll = 0.0, nll2 = 0.0, t0 = acc_now_seconds();
    int count = 0;
    for (int c = 0; c < n_chunk && st == ACC_OK; c++) {
        int32_t *window = ids + (size_t)c * (size_t)ctx;
        int32_t saved = window[0];
        if (add_bos)
            window[0] = bos;
        int seq = -1;
        st = acc_engine_seq_create(engine, &seq, &err);
        for (int b = 0; b < ctx && st == ACC_OK; b += batch) {
            int n = ctx - b < batch ? ctx - b : batch;
            const int32_t *toks = window + b;
            acc_batch step = {.n_seqs = 1, .seq_ids = &seq, .tokens = &toks, .n_tokens = &n,
                              .all_logits = 1};
            st = acc_engine_forward(engine, &step, logits, &err);
            for (int k = 0; k < n && st == ACC_OK; k++) {
                int j = b + k;
                if (j < first || j >= ctx - 1)
                    continue;
                int32_t best;
                double v = row_nll(logits + (size_t)k * (size_t)vocab, vocab, window[j + 1],
                                   &best);
                nll += v;
                nll2 += v * v;
                argmax[count++] = best;
            }
        }
        if (seq >= 0)
            acc_engine_seq_free(engine, seq);
        window[0] = saved;
        if (progress && st == ACC_OK) {
            fprintf(stderr, "[%d]%.4f,", c + 1, exp(nll / count));
            fflush(stderr);
        }
    }
    if (st != ACC_OK)
        goto done;
    if (progress)
        fputc('\n', stderr);
    double mean = nll / count, var = nll2 / count - mean * mean;
    double ppl = exp(mean);
    double se = var > 0 && count > 1 ? sqrt(var / (count - 1)) * ppl : 0.0;
    double agreement = -1.0;
    if (argmax_ref) {
        st = read_argmax_ref(argmax_ref, &ref, &n_ref, &err);
        if (st != ACC_OK)
            goto done;
        if (n_ref != (size_t)count) {
            st = acc_error_set(&err, ACC_ERR_INPUT,
                               "--argmax-ref: %s holds %zu positions, this run scored %d",
                               argmax_ref, n_ref, count);
            goto done;
        }
        int same = 0;
        for (int i = 0; i < count; i++)
            same += ref[i] == argmax[i];
        agreement = (double)same / count;
    }
    if (argmax_out) {
        FILE *out = fopen(argmax_out, "w");
        if (!out) {
            st = acc_error_set(&err, ACC_ERR_INPUT, "%s: cannot write", argmax_out);
            goto done;
        }
        for (int i = 0; i < count; i++)
            fprintf(out, "%s%d", i ? "," : "", (int)argmax[i]);
        fputc('\n', out);
        if (fclose(out) != 0) {
            st = acc_error_set(&err, ACC_ERR_RUNTIME, "%s: write failed", argmax_out);
            goto done;
        }
    }
    double seconds = acc_now_seconds() - t0;
    if (json) {
        printf("{\"ppl\":");
        cli_json_double(stdout, ppl);
        printf(",\"stderr\":");
        cli_json_double(stdout, se);
        printf(",\"ctx\":%d,\"chunks\":%d,\"tokens\":%zu,\"scored\":%d,\"seconds\":", ctx,
               n_chunk, n_ids, count);
        cli_json_double(stdout, seconds);
        if (agreement >= 0) {
            printf(",\"top1_agreement\":");
            cli_json_double(stdout, agreement);
        }
        printf("}\n");
    } else {
        printf("%s: %zu tokens, %d windows of %d, %d positions scored, %.1f s\n", file, n_ids,
               n_chunk, ctx, count, seconds);
        if (agreement >= 0)
            printf("top-1 agreement with %s: %.4f\n", argmax_ref, agreement);
        printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, se);
    }
done:
    if (engine)
        acc_engine_destroy(engine);
    if (model)
        acc_model_close(model);
    free(text);
    free(ids);
    free(plain);
    free(argmax);
    free(ref);
    free(logits);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
