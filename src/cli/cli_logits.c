/*
 * cli_logits.c — `accinf logits`: one forward pass over a prompt and the
 * logits of its last position, for checks against Hugging Face and for
 * scripts.  The prompt is tokenized with special tokens, as HF's
 * tokenizer(prompt) does, or given directly with --ids.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/engine.h"

#include <stdlib.h>
#include <string.h>

/* Indices of the k largest logits (descending, ties to the lower id). */
static void logits_top(const float *logits, int vocab, int k, int32_t *top)
{
    for (int i = 0; i < k; i++)
        top[i] = -1;
    for (int id = 0; id < vocab; id++) {
        float v = logits[id];
        if (v != v)
            continue;
        int pos = k;
        while (pos > 0 && (top[pos - 1] < 0 || logits[top[pos - 1]] < v))
            pos--;
        if (pos >= k)
            continue;
        memmove(top + pos + 1, top + pos, (size_t)(k - pos - 1) * sizeof *top);
        top[pos] = id;
    }
}

int cli_logits_main(int argc, char **argv)
{
    const char *prompt = NULL, *prompt_file = NULL, *ids_text = NULL;
    int threads = 0, json = 0, top_n = 10;
    const char *device = NULL;
    const char *weights = NULL;
    acc_weights_precision precision = ACC_WEIGHTS_STORED;
    const cli_option options[] = {
        {"prompt", 'p', CLI_STRING, &prompt, "TEXT", "prompt text (UTF-8)", NULL},
        {"prompt-file", 'f', CLI_STRING, &prompt_file, "PATH", "read the prompt from a file",
         NULL},
        {"ids", 0, CLI_STRING, &ids_text, "IDS",
         "comma-separated token ids instead of a prompt (no tokenizer involved)", NULL},
        {"top", 0, CLI_INT, &top_n, "N", "tokens shown in the human-readable output (10)", NULL},
        {"threads", 't', CLI_INT, &threads, "N", "CPU threads (0: all cores; default 0)", NULL},
        {"weights", 0, CLI_STRING, &weights, "TYPE", CLI_WEIGHTS_HELP, NULL},
        {"device", 0, CLI_STRING, &device, "NAME",
         "backend: cpu (default), or cuda / cuda-f32 when built with CUDA", NULL},
        {"json", 0, CLI_FLAG, &json, NULL,
         "print {\"ids\":[...],\"logits\":[...vocab floats...]} on stdout", NULL},
    };
    const cli_command cmd = {
        .verb = "logits",
        .usage = "MODEL (--prompt TEXT | --prompt-file PATH | --ids IDS) [options]",
        .summary = "Run the model over a prompt and print the logits of its last position\n"
                   "(fp32 CPU reference path). The prompt is tokenized with special tokens,\n"
                   "as Hugging Face's tokenizer(prompt) does.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Floats are printed with 9 significant digits (exact for f32).\n"
                 "Examples:\n"
                 "  accinf logits examples/demo-model --prompt 'Hello'\n"
                 "  accinf logits examples/demo-model --ids 0,412,318 --json\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_model *model = NULL;
    acc_engine *engine = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    char *owned = NULL;
    size_t n_ids = 0;
    int seq = -1;
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st == ACC_OK && !help)
        st = cli_weights_precision(weights, &precision, &err);
    if (st != ACC_OK || help)
        goto done;
    if (top_n < 1) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--top: %d must be >= 1", top_n);
        goto done;
    }
    if (threads < 0) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--threads: %d must be >= 0", threads);
        goto done;
    }
    const char *text = NULL;
    size_t text_size = 0;
    if (ids_text && (prompt || prompt_file)) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--ids: cannot be combined with --prompt");
        goto done;
    }
    if (!ids_text) {
        st = cli_text_argument(prompt, "prompt", prompt_file, "prompt-file", &text, &text_size,
                               &owned, &err);
        if (st != ACC_OK)
            goto done;
    }
    st = cli_open_model(path, &model, &err);
    if (st != ACC_OK)
        goto done;
    st = cli_prompt_ids(model, text, text_size, ids_text, &ids, &n_ids, &err);
    if (st != ACC_OK)
        goto done;
    const acc_hparams *hp = acc_model_hparams(model);
    if (n_ids == 0) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--prompt: tokenizes to no tokens");
        goto done;
    }
    if (n_ids > (size_t)hp->max_position) {
        st = acc_error_set(&err, ACC_ERR_INPUT,
                           "--prompt: %zu tokens exceed the model's context of %d tokens", n_ids,
                           hp->max_position);
        goto done;
    }
    acc_engine_options eo = {.weights_precision = precision,
                             .device = device,
                             .threads = threads, .max_context = (int)n_ids, .max_sequences = 1};
    st = acc_engine_create(model, &eo, &engine, &err);
    if (st != ACC_OK)
        goto done;
    st = acc_engine_seq_create(engine, &seq, &err);
    if (st != ACC_OK)
        goto done;
    logits = acc_malloc((size_t)hp->vocab_size * sizeof *logits, &err);
    if (!logits) {
        st = ACC_ERR_RUNTIME;
        goto done;
    }
    st = acc_engine_forward_one(engine, seq, ids, (int)n_ids, logits, &err);
    if (st != ACC_OK)
        goto done;

    if (json) {
        fputs("{\"ids\":", stdout);
        cli_json_ids(stdout, ids, n_ids);
        fputs(",\"logits\":", stdout);
        cli_json_floats(stdout, logits, (size_t)hp->vocab_size);
        fputs("}\n", stdout);
    } else {
        const acc_tokenizer *tok = acc_model_tokenizer(model);
        int k = top_n < hp->vocab_size ? top_n : hp->vocab_size;
        int32_t *top = acc_malloc((size_t)k * sizeof *top, &err);
        if (!top) {
            st = ACC_ERR_RUNTIME;
            goto done;
        }
        logits_top(logits, hp->vocab_size, k, top);
        printf("prompt: %zu tokens; logits of the last position (vocab %d)\n", n_ids,
               hp->vocab_size);
        printf("%4s  %8s  %14s  %s\n", "rank", "id", "logit", "token");
        for (int i = 0; i < k && top[i] >= 0; i++) {
            printf("%4d  %8d  %14.9g  ", i + 1, (int)top[i], (double)logits[top[i]]);
            if (tok)
                cli_print_token(stdout, tok, top[i]);
            fputc('\n', stdout);
        }
        free(top);
    }

done:
    if (engine && seq >= 0)
        acc_engine_seq_free(engine, seq);
    if (engine)
        acc_engine_destroy(engine);
    if (model)
        acc_model_close(model);
    free(ids);
    free(logits);
    free(owned);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
