/*
 * cli_tokenize.c — `accinf tokenize`: text to token ids (and ids back to
 * text with --decode) through a tokenizer.json, exactly as HF tokenizers.
 * MODEL may be a model directory, a directory holding only tokenizer.json,
 * the tokenizer.json file itself, or a GGUF file (its tokenizer.ggml.*
 * metadata); the weights are never read.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/gguf.h"

#include <stdlib.h>
#include <string.h>

static acc_status tokenize_load(const char *path, acc_tokenizer **tok, acc_error *err)
{
    if (!acc_path_exists(path))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: no such file or directory", path);
    if (!acc_path_is_dir(path)) {
        /* a GGUF model file carries its tokenizer in tokenizer.ggml.* */
        FILE *f = fopen(path, "rb");
        char magic[4] = {0};
        int is_gguf = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "GGUF", 4) == 0;
        if (f)
            fclose(f);
        if (!is_gguf)
            return acc_tokenizer_load(path, tok, err);
        acc_gguf *gguf = NULL;
        acc_status st = acc_gguf_open(path, &gguf, err);
        if (st == ACC_OK)
            st = acc_tokenizer_load_gguf(gguf, tok, err);
        if (st == ACC_OK && !*tok)
            st = acc_error_set(err, ACC_ERR_INPUT, "%s: no tokenizer.ggml.* metadata", path);
        acc_gguf_close(gguf);
        return st;
    }
    char *file = acc_path_join(path, "tokenizer.json", err);
    if (!file)
        return ACC_ERR_RUNTIME;
    acc_status st;
    if (!acc_path_exists(file))
        st = acc_error_set(err, ACC_ERR_INPUT, "%s: missing (the directory has no tokenizer)",
                           file);
    else
        st = acc_tokenizer_load(file, tok, err);
    free(file);
    return st;
}

int cli_tokenize_main(int argc, char **argv)
{
    const char *text = NULL, *file = NULL, *decode = NULL;
    int no_special = 0, skip_special = 0, json = 0;
    const cli_option options[] = {
        {"text", 't', CLI_STRING, &text, "TEXT", "text to encode (UTF-8)", NULL},
        {"file", 'f', CLI_STRING, &file, "PATH", "encode the contents of a file instead", NULL},
        {"no-special", 0, CLI_FLAG, &no_special, NULL,
         "do not add special tokens (BOS/EOS templates): add_special_tokens=False", NULL},
        {"decode", 'd', CLI_STRING, &decode, "IDS",
         "decode comma-separated ids to text instead of encoding", NULL},
        {"skip-special", 0, CLI_FLAG, &skip_special, NULL,
         "with --decode: drop special tokens (skip_special_tokens=True)", NULL},
        {"json", 0, CLI_FLAG, &json, NULL,
         "print {\"ids\":[...]} (or {\"text\":\"...\"} with --decode) on stdout", NULL},
    };
    const cli_command cmd = {
        .verb = "tokenize",
        .usage = "MODEL (--text TEXT | --file PATH | --decode IDS) [options]",
        .summary = "Encode text to token ids, or decode ids to text, with the model's\n"
                   "tokenizer.json exactly as Hugging Face tokenizers does. MODEL is a model\n"
                   "directory, a directory with a tokenizer.json, a tokenizer.json file, or a\n"
                   "GGUF file.",
        .positional = "MODEL",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Output: one line per token (id, decoded text, vocabulary string when it\n"
                 "differs), then the count;\n"
                 "with --json: {\"ids\":[...]}.\n"
                 "Examples:\n"
                 "  accinf tokenize examples/demo-model --text 'Hello world'\n"
                 "  accinf tokenize tokenizer.json --text 'Hello' --no-special --json\n"
                 "  accinf tokenize examples/demo-model --decode 412,318,1290\n",
    };
    acc_error err = {0};
    const char *path = NULL;
    int help = 0;
    acc_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    char *owned = NULL, *decoded = NULL;
    size_t n_ids = 0;
    acc_status st = cli_parse(&cmd, argc, argv, &path, &help, &err);
    if (st != ACC_OK || help)
        goto done;
    if (decode && (text || file)) {
        st = acc_error_set(&err, ACC_ERR_INPUT, "--decode: cannot be combined with --text/--file");
        goto done;
    }
    const char *input = NULL;
    size_t input_size = 0;
    if (!decode) {
        st = cli_text_argument(text, "text", file, "file", &input, &input_size, &owned, &err);
        if (st != ACC_OK)
            goto done;
    }
    st = tokenize_load(path, &tok, &err);
    if (st != ACC_OK)
        goto done;

    if (decode) {
        st = cli_parse_ids(decode, "--decode", acc_tokenizer_vocab_size(tok), &ids, &n_ids, &err);
        if (st != ACC_OK)
            goto done;
        size_t size = 0;
        st = acc_tokenizer_decode(tok, ids, n_ids, skip_special, &decoded, &size, &err);
        if (st != ACC_OK)
            goto done;
        if (json) {
            fputs("{\"text\":", stdout);
            cli_json_string(stdout, decoded, size);
            fputs("}\n", stdout);
        } else {
            fwrite(decoded, 1, size, stdout);
            fputc('\n', stdout);
        }
        goto done;
    }

    st = acc_tokenizer_encode(tok, input, input_size, !no_special, &ids, &n_ids, &err);
    if (st != ACC_OK) {
        acc_error_wrap(&err, "%s", text ? "--text" : file);
        goto done;
    }
    if (json) {
        fputs("{\"ids\":", stdout);
        cli_json_ids(stdout, ids, n_ids);
        fputs("}\n", stdout);
    } else {
        for (size_t i = 0; i < n_ids; i++) {
            printf("%8d  ", (int)ids[i]);
            cli_print_token(stdout, tok, ids[i]);
            if (acc_tokenizer_is_special(tok, ids[i]))
                fputs("  (special)", stdout);
            fputc('\n', stdout);
        }
        printf("%zu token%s\n", n_ids, n_ids == 1 ? "" : "s");
    }

done:
    free(ids);
    free(owned);
    free(decoded);
    if (tok)
        acc_tokenizer_free(tok);
    if (st != ACC_OK)
        return cli_report(&err);
    return 0;
}
