/*
 * cli_common.c — option parsing, help text, error reporting, JSON output
 * and argument loaders shared by the verbs (see cli_common.h).
 *
 * The parser is table driven so that `--help` always lists exactly the
 * options a verb accepts.  It takes "--name value", "--name=value", "-x
 * value" and a lone positional argument anywhere; "--" ends the options.
 */
#include "cli_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- option parsing ---- */

static const cli_option *cli_find_long(const cli_command *cmd, const char *name, size_t len)
{
    for (int i = 0; i < cmd->n_options; i++) {
        const char *n = cmd->options[i].name;
        if (strlen(n) == len && strncmp(n, name, len) == 0)
            return &cmd->options[i];
    }
    return NULL;
}

static const cli_option *cli_find_short(const cli_command *cmd, char c)
{
    for (int i = 0; i < cmd->n_options; i++)
        if (cmd->options[i].short_name == c)
            return &cmd->options[i];
    return NULL;
}

static acc_status cli_store_value(const cli_option *opt, const char *value, int argc,
                                  acc_error *err)
{
    char *end = NULL;
    errno = 0;
    switch (opt->type) {
    case CLI_FLAG:
        *(int *)opt->target = 1;
        break;
    case CLI_STRING:
        *(const char **)opt->target = value;
        break;
    case CLI_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || v < -2147483647L || v > 2147483647L)
            return acc_error_set(err, ACC_ERR_INPUT, "--%s: '%s' is not an integer", opt->name,
                                 value);
        *(int *)opt->target = (int)v;
        break;
    }
    case CLI_FLOAT: {
        float v = strtof(value, &end);
        if (end == value || *end != '\0' || !isfinite(v))
            return acc_error_set(err, ACC_ERR_INPUT, "--%s: '%s' is not a finite number",
                                 opt->name, value);
        *(float *)opt->target = v;
        break;
    }
    case CLI_U64: {
        const char *p = value;
        while (*p == ' ')
            p++;
        unsigned long long v = strtoull(value, &end, 0);
        if (*p == '-' || end == value || *end != '\0' || errno != 0)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "--%s: '%s' is not a non-negative integer", opt->name, value);
        *(uint64_t *)opt->target = (uint64_t)v;
        break;
    }
    case CLI_STRING_LIST: {
        cli_string_list *list = opt->target;
        if (!list->items) {
            list->items = acc_calloc((size_t)argc, sizeof *list->items, err);
            if (!list->items)
                return ACC_ERR_RUNTIME;
        }
        list->items[list->count++] = value;
        break;
    }
    }
    if (opt->seen)
        *opt->seen = 1;
    return ACC_OK;
}

acc_status cli_parse(const cli_command *cmd, int argc, char **argv, const char **positional,
                     int *help_shown, acc_error *err)
{
    *help_shown = 0;
    if (positional)
        *positional = NULL;
    int n_positional = 0;
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const cli_option *opt = NULL;
        const char *inline_value = NULL;
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            cli_print_help(cmd, stdout);
            *help_shown = 1;
            return ACC_OK;
        }
        if (!options_done && arg[0] == '-' && arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            opt = cli_find_long(cmd, name, len);
            if (!opt)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "%.*s: unknown option for '%s' (see 'accinf %s --help')",
                                     (int)(len + 2), arg, cmd->verb, cmd->verb);
            if (eq) {
                if (opt->type == CLI_FLAG)
                    return acc_error_set(err, ACC_ERR_INPUT, "--%s: takes no value",
                                         opt->name);
                inline_value = eq + 1;
            }
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            opt = cli_find_short(cmd, arg[1]);
            if (!opt)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "-%c: unknown option for '%s' (see 'accinf %s --help')",
                                     arg[1], cmd->verb, cmd->verb);
            if (arg[2] != '\0') {
                if (opt->type == CLI_FLAG)
                    return acc_error_set(err, ACC_ERR_INPUT, "%s: unknown option for '%s'", arg,
                                         cmd->verb);
                inline_value = arg + 2;
            }
        } else {
            if (!cmd->positional || n_positional >= 1)
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "%s: unexpected argument (see 'accinf %s --help')", arg,
                                     cmd->verb);
            if (positional)
                *positional = arg;
            n_positional++;
            continue;
        }
        const char *value = inline_value;
        if (opt->type != CLI_FLAG && !value) {
            if (i + 1 >= argc)
                return acc_error_set(err, ACC_ERR_INPUT, "--%s: needs a value (%s)", opt->name,
                                     opt->metavar ? opt->metavar : "VALUE");
            value = argv[++i];
        }
        acc_status st = cli_store_value(opt, value, argc, err);
        if (st != ACC_OK)
            return st;
    }
    if (cmd->positional && n_positional == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: missing %s (see 'accinf %s --help')",
                             cmd->verb, cmd->positional, cmd->verb);
    return ACC_OK;
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: accinf %s %s\n\n%s\n\noptions:\n", cmd->verb, cmd->usage, cmd->summary);
    for (int i = 0; i < cmd->n_options; i++) {
        const cli_option *o = &cmd->options[i];
        char left[64];
        int len;
        if (o->short_name)
            len = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name);
        else
            len = snprintf(left, sizeof left, "    --%s", o->name);
        if (o->type != CLI_FLAG && len > 0 && (size_t)len < sizeof left)
            snprintf(left + len, sizeof left - (size_t)len, " %s",
                     o->metavar ? o->metavar : "VALUE");
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this help and exit");
    if (cmd->notes)
        fprintf(out, "\n%s", cmd->notes);
}

void cli_string_list_free(cli_string_list *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

int cli_report(const acc_error *err)
{
    char line[sizeof err->message];
    size_t n = 0;
    for (const char *p = err->message; *p && n + 1 < sizeof line; p++)
        line[n++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    line[n] = '\0';
    fflush(stdout);
    fprintf(stderr, "accinf: error: %s\n", n ? line : "unknown failure");
    return err->status != ACC_OK ? (int)err->status : (int)ACC_ERR_RUNTIME;
}

/* ---- JSON ---- */

void cli_json_string(FILE *out, const char *text, size_t size)
{
    fputc('"', out);
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

void cli_json_ids(FILE *out, const int32_t *ids, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, i ? ",%d" : "%d", (int)ids[i]);
    fputc(']', out);
}

void cli_json_floats(FILE *out, const float *values, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        if (isfinite(values[i]))
            fprintf(out, "%.9g", (double)values[i]);
        else
            fputs("null", out);
    }
    fputc(']', out);
}

void cli_json_double(FILE *out, double value)
{
    if (isfinite(value))
        fprintf(out, "%.9g", value);
    else
        fputs("null", out);
}

void cli_print_quoted(FILE *out, const char *text)
{
    fputc('\'', out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p == '\r')
            fputs("\\r", out);
        else if (*p == '\\')
            fputs("\\\\", out);
        else if (*p == '\'')
            fputs("\\'", out);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('\'', out);
}

void cli_print_token(FILE *out, const acc_tokenizer *tok, int32_t id)
{
    const char *vocab = acc_tokenizer_token_text(tok, id);
    char *piece = NULL;
    size_t size = 0;
    acc_error err = {0};
    if (acc_tokenizer_decode(tok, &id, 1, 0, &piece, &size, &err) == ACC_OK && piece &&
        strlen(piece) == size) {
        cli_print_quoted(out, piece);
        if (vocab && strcmp(vocab, piece) != 0) {
            fputs("  ", out);
            fputs(vocab, out);
        }
    } else if (vocab) {
        cli_print_quoted(out, vocab);
    }
    free(piece);
}

/* ---- models, texts, ids ---- */

acc_status cli_check_model_path(const char *path, acc_error *err)
{
    if (!acc_path_exists(path))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: no such file or directory", path);
    if (acc_path_is_dir(path)) {
        char *config = acc_path_join(path, "config.json", err);
        if (!config)
            return ACC_ERR_RUNTIME;
        int exists = acc_path_exists(config);
        if (!exists)
            acc_error_set(err, ACC_ERR_INPUT,
                          "%s: missing (not a Hugging Face model directory)", config);
        free(config);
        if (!exists)
            return ACC_ERR_INPUT;
    }
    return ACC_OK;
}

acc_status cli_open_model(const char *path, acc_model **out, acc_error *err)
{
    *out = NULL;
    acc_status st = cli_check_model_path(path, err);
    if (st != ACC_OK)
        return st;
    return acc_model_open(path, out, err);
}

acc_status cli_check_utf8(const char *text, size_t size, const char *where, acc_error *err)
{
    size_t bad = 0;
    if (!acc_utf8_valid(text, size, &bad))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: invalid UTF-8 at byte offset %zu (0x%02x)",
                             where, bad, (unsigned char)text[bad]);
    return ACC_OK;
}

acc_status cli_text_argument(const char *text, const char *text_option, const char *file,
                             const char *file_option, const char **out, size_t *size,
                             char **owned, acc_error *err)
{
    *owned = NULL;
    *out = NULL;
    *size = 0;
    if (text && file)
        return acc_error_set(err, ACC_ERR_INPUT, "--%s: give either --%s or --%s, not both",
                             file_option, text_option, file_option);
    if (!text && !file)
        return acc_error_set(err, ACC_ERR_INPUT, "--%s: missing (or give --%s)", text_option,
                             file_option);
    if (text) {
        *out = text;
        *size = strlen(text);
        char where[64];
        snprintf(where, sizeof where, "--%s", text_option);
        return cli_check_utf8(text, *size, where, err);
    }
    acc_status st = acc_read_file(file, owned, size, err);
    if (st != ACC_OK)
        return st;
    *out = *owned;
    if (strlen(*owned) != *size)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: contains a NUL byte at offset %zu", file,
                             strlen(*owned));
    return cli_check_utf8(*owned, *size, file, err);
}

acc_status cli_parse_ids(const char *text, const char *where, int vocab, int32_t **ids,
                         size_t *n, acc_error *err)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    int32_t *out = acc_malloc(cap * sizeof *out, err);
    if (!out)
        return ACC_ERR_RUNTIME;
    const char *p = text;
    size_t count = 0;
    while (*p == ' ' || *p == '[')
        p++;
    while (*p && *p != ']') {
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno != 0 || v < 0 || v > 2147483647L || count >= cap) {
            free(out);
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: bad token id at character %zu (expected a list like 1,2,3)",
                                 where, (size_t)(p - text));
        }
        if (vocab > 0 && v >= vocab) {
            free(out);
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: token id %ld is outside the vocabulary [0, %d)", where, v,
                                 vocab);
        }
        out[count++] = (int32_t)v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            while (*p == ' ')
                p++;
        } else if (*p && *p != ']') {
            free(out);
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: unexpected '%c' at character %zu (expected a list like 1,2,3)",
                                 where, *p, (size_t)(p - text));
        }
    }
    if (count == 0) {
        free(out);
        return acc_error_set(err, ACC_ERR_INPUT, "%s: no token ids", where);
    }
    *ids = out;
    *n = count;
    return ACC_OK;
}

acc_status cli_prompt_ids(const acc_model *model, const char *prompt, size_t prompt_size,
                          const char *ids_text, int32_t **ids, size_t *n, acc_error *err)
{
    const acc_hparams *hp = acc_model_hparams(model);
    if (ids_text)
        return cli_parse_ids(ids_text, "--ids", hp->vocab_size, ids, n, err);
    const acc_tokenizer *tok = acc_model_tokenizer(model);
    if (!tok)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: no tokenizer.json, so --prompt cannot be tokenized (use --ids)",
                             acc_model_path(model));
    acc_status st = acc_tokenizer_encode(tok, prompt, prompt_size, 1, ids, n, err);
    if (st != ACC_OK)
        return acc_error_wrap(err, "--prompt");
    for (size_t i = 0; i < *n; i++) {
        if ((*ids)[i] < 0 || (*ids)[i] >= hp->vocab_size) {
            int32_t bad = (*ids)[i];
            free(*ids);
            *ids = NULL;
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "--prompt: token id %d from tokenizer.json is outside the "
                                 "model's vocabulary [0, %d)",
                                 (int)bad, hp->vocab_size);
        }
    }
    return ACC_OK;
}

int cli_resolve_threads(int threads)
{
    if (threads > 0)
        return threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

acc_status cli_weights_precision(const char *name, acc_weights_precision *out, acc_error *err)
{
    static const struct {
        const char *name;
        acc_weights_precision value;
    } table[] = {
        {"stored", ACC_WEIGHTS_STORED}, {"f32", ACC_WEIGHTS_F32},   {"q8_0", ACC_WEIGHTS_Q8_0},
        {"q4_0", ACC_WEIGHTS_Q4_0},     {"q4_K", ACC_WEIGHTS_Q4_K}, {"q6_K", ACC_WEIGHTS_Q6_K},
    };
    *out = ACC_WEIGHTS_STORED;
    if (!name)
        return ACC_OK;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(name, table[i].name) == 0) {
            *out = table[i].value;
            return ACC_OK;
        }
    return acc_error_set(err, ACC_ERR_INPUT,
                         "--weights: '%.64s' is not one of stored, f32, q8_0, q4_0, q4_K, q6_K",
                         name);
}
