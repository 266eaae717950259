/*
 * cli_run.c — `accinf run`: generate text from a prompt.  Streams the
 * text to stdout as it is produced (flushed per piece, only complete
 * UTF-8), or prints one JSON object with --json; statistics go to stderr.
 * Everything that can be wrong with the input (options, prompt encoding,
 * prompt length against the context) is reported before generating.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/engine.h"
#include "accinf/sampler.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void run_stream_text(void *user, const char *text, size_t size)
{
    FILE *out = user;
    fwrite(text, 1, size, out);
    fflush(out);
}

static uint64_t run_random_seed(void)
{
    uint64_t seed = 0;
    if (getentropy(&seed, sizeof seed) != 0)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    return seed;
}

static void run_print_stats(size_t n_prompt, const acc_generate_result *r, uint64_t seed,
                            int sampled)
{
    double pp = r->prefill_seconds > 0 ? (double)n_prompt / r->prefill_seconds : 0.0;
    size_t n_decode = r->n_ids > 0 ? r->n_ids - 1 : 0;
    double tg = r->decode_seconds > 0 ? (double)n_decode / r->decode_seconds : 0.0;
    fprintf(stderr, "accinf: prompt: %zu tokens, prefill %.3f s (%.2f tok/s)\n", n_prompt,
            r->prefill_seconds, pp);
    fprintf(stderr,
            "accinf: generated: %zu tokens, decode %.3f s for %zu steps (%.2f tok/s), "
            "stop: %s",
            r->n_ids, r->decode_seconds, n_decode, tg, r->stop_reason ? r->stop_reason : "-");
    if (sampled)
        fprintf(stderr, ", seed %llu", (unsigned long long)seed);
    fputc('\n', stderr);
}

int cli_run_main(int argc, char **argv)
{
    const char *prompt = NULL, *prompt_file = NULL, *ids_text = NULL;
    int max_new = 128, top_k = 40, ignore_eos = 0, threads = 0, ctx = 0, stats = 0, json = 0;
    int seed_given = 0;
    float temperature = 0.8f, top_p = 0.95f, min_p = 0.05f;
    uint64_t seed = 0;
    cli_string_list stops = {0};
    const char *device = NULL;
    const char *weights = NULL;
    acc_weights_precision precision = ACC_WEIGHTS_STORED;
    const cli_option options[] = {
        {"prompt", 'p', CLI_STRING, &prompt, "TEXT", "prompt text (UTF-8)", NULL},
        {"prompt-file", 'f', CLI_STRING, &prompt_file, "PATH", "read the prompt from a file",
         NULL},
        {"ids", 0, CLI_STRING, &ids_text, "IDS", "comma-separated prompt token ids instead",
         NULL},
        {"max-new-tokens", 'n', CLI_INT, &max_new, "N", "tokens to generate at most (128)",
         NULL},
        {"temperature", 0, CLI_FLOAT, &temperature, "T", "sampling temperature; 0 is greedy (0.8)",
         NULL},
        {"top-k", 0, CLI_INT, &top_k, "K", "keep the K likeliest tokens; 0 off (40)", NULL},
        {"top-p", 0, CLI_FLOAT, &top_p, "P", "nucleus: smallest set with mass >= P; 1 off (0.95)",
         NULL},
        {"min-p", 0, CLI_FLOAT, &min_p, "P",
         "drop tokens below P x the top probability; 0 off (0.05)", NULL},
        {"seed", 's', CLI_U64, &seed, "N", "random seed (default: a random one, shown by --stats)",
         &seed_given},
        {"stop", 0, CLI_STRING_LIST, &stops, "STR",
         "stop when the text contains STR (not printed); repeatable", NULL},
        {"ignore-eos", 0, CLI_FLAG, &ignore_eos, NULL, "keep generating after end-of-sequence",
         NULL},
        {"threads", 't', CLI_INT, &threads, "N", "CPU threads (0: all cores; default 0)", NULL},
        {"weights", 0, CLI_STRING, &weights, "TYPE", CLI_WEIGHTS_HELP, NULL},
        {"device", 0, CLI_STRING, &device, "NAME",
         "backend: cpu (default), or cuda / cuda-f32 when built with CUDA", NULL},
        {"ctx", 'c', CLI_INT, &ctx, "N",
         "context size in tokens, prompt included (default: the model's maximum)", NULL},
        {"stats", 0, CLI_FLAG, &stats, NULL,
         "print token counts and prefill/decode tokens per second to stderr", NULL},
        {"json", 0, CLI_FLAG, &json, NULL,
         "print {\"prompt_ids\",\"ids\",\"text\",\"stop_reason\"} on stdout at the end", NULL},
    };
    const cli_command cmd = {
        .verb = "run",
        .usage = "MODEL (--prompt TEXT | --prompt-file PATH | --ids IDS) [options]",
        .summary = "Generate text from a prompt. Sampling applies temperature, top-k, top-p\n"
                   "and min-p in that order (as Hugging Face does); --temperature 0 is greedy.\n"
                   "Text streams to stdout as it is generated; when stdout is a terminal\n"
                   "the prompt is shown first.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Examples:\n"
                 "  accinf run examples/demo-model --prompt 'Once upon a time' -n 64\n"
                 "  accinf run examples/demo-model --prompt 'Hi' -n 16 --temperature 0 --json\n"
                 "  accinf run examples/demo-model --prompt 'Q: 2+2?' --stop $'\\n' --stats\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_engine *engine = NULL;
    int32_t *ids = NULL;
    char *owned = NULL;
    size_t n_ids = 0;
    acc_generate_result result = {0};
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st == ACC_OK && !help)
        st = cli_weights_precision(weights, &precision, &err);
    if (st != ACC_OK || help)
        goto done;

    /* Options first, so that usage mistakes never wait for a model load. */
    if (max_new < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--max-new-tokens: %d must be >= 0", max_new);
    else if (threads < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--threads: %d must be >= 0", threads);
    else if (ctx < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ctx: %d must be >= 1 (or 0 for the model's)",
                           ctx);
    else if (temperature < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--temperature: %g must be >= 0",
                           (double)temperature);
    else if (top_k < 0)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--top-k: %d must be >= 0", top_k);
    else if (!(top_p > 0 && top_p <= 1))
        st = acc_error_set(&err, ACC_ERR_INPUT, "--top-p: %g must be in (0, 1]", (double)top_p);
    else if (!(min_p >= 0 && min_p <= 1))
        st = acc_error_set(&err, ACC_ERR_INPUT, "--min-p: %g must be in [0, 1]", (double)min_p);
    else if (ids_text && (prompt || prompt_file))
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ids: cannot be combined with --prompt");
    if (st != ACC_OK)
        goto done;
    for (int i = 0; i < stops.count; i++) {
        if (stops.items[i][0] == '\0') {
            st = acc_error_set(&err, ACC_ERR_INPUT, "--stop: must not be empty");
            goto done;
        }
        st = cli_check_utf8(stops.items[i], strlen(stops.items[i]), "--stop", &err);
        if (st != ACC_OK)
            goto done;
    }
    const char *text = NULL;
    size_t text_size = 0;
    if (!ids_text) {
        st = cli_text_argument(prompt, "prompt", prompt_file, "prompt-file", &text, &text_size,
                               &owned, &err);
        if (st != ACC_OK)
            goto done;
    }

    st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    if (ctx > hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ctx: %d exceeds the model's context of %d tokens",
                           ctx, hp->max_position);
        goto done;
    }
    int context = ctx > 0 ? ctx : hp->max_position;
    st = cli_prompt_ids(model, text, text_size, ids_text, &ids, &n_ids, &err);
    if (st != ACC_OK)
        goto done;
    if (n_ids == 0) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--prompt: tokenizes to no tokens");
        goto done;
    }
    if (n_ids > (size_t)context) {
        st = acc_error_set(&err, ACC_ERR_INPUT,
                           "--prompt: %zu tokens do not fit the context of %d tokens%s", n_ids,
                           context, ctx > 0 ? " (--ctx)" : "");
        goto done;
    }
    if (!acc_model_tokenizer(model) && stops.count > 0) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--stop: needs a tokenizer.json in %s", path);
        goto done;
    }

    acc_engine_options eo = {.weights_precision = precision,
                             .device = device,
                             .threads = threads, .max_context = context, .max_sequences = 1};
    st = acc_engine_create(model, &eo, &engine, &err);
    if (st != ACC_OK)
        goto done;

    if (!seed_given)
        seed = run_random_seed();
    int streaming = !json && acc_model_tokenizer(model) != NULL;
    int terminal = streaming && isatty(STDOUT_FILENO);
    if (terminal && text) {
        fwrite(text, 1, text_size, stdout);
        fflush(stdout);
    }
    acc_generate_options go = {
        .max_new_tokens = max_new,
        .stop_strings = stops.items,
        .n_stop_strings = stops.count,
        .ignore_eos = ignore_eos,
        .sampling = {.temperature = temperature, .top_k = top_k, .top_p = top_p,
                     .min_p = min_p, .seed = seed},
        .on_text = streaming ? run_stream_text : NULL,
        .user = stdout,
    };
    st = acc_generate(engine, ids, n_ids, &go, &result, &err);
    if (st != ACC_OK) {
        if (terminal)
            fputc('\n', stdout);
        goto done;
    }
    if (json) {
        fputs("{\"prompt_ids\":", stdout);
        cli_json_ids(stdout, ids, n_ids);
        fputs(",\"ids\":", stdout);
        cli_json_ids(stdout, result.ids, result.n_ids);
        fputs(",\"text\":", stdout);
        cli_json_string(stdout, result.text, result.text_size);
        fputs(",\"stop_reason\":", stdout);
        cli_json_string(stdout, result.stop_reason, strlen(result.stop_reason));
        fputs("}\n", stdout);
    } else if (!streaming) {
        /* No tokenizer: the ids are all there is to show. */
        for (size_t i = 0; i < result.n_ids; i++)
            printf(i ? ",%d" : "%d", (int)result.ids[i]);
        fputc('\n', stdout);
    } else if (terminal) {
        fputc('\n', stdout);
    }
    fflush(stdout);
    if (stats)
        run_print_stats(n_ids, &result, seed, temperature > 0);

done:
    acc_generate_result_free(&result);
    if (engine)
        acc_engine_destroy(engine);
    if (model)
        acc_model_close(model);
    cli_string_list_free(&stops);
    free(ids);
    free(owned);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
