/*
 * cli_common.h — what every verb of the accinf CLI shares: a table-driven
 * option parser that also writes `--help`, the one-line error report,
 * small JSON writers for stdout, and the checks and loaders for MODEL
 * paths, prompts and id lists.
 */
#ifndef ACCINF_CLI_COMMON_H
#define ACCINF_CLI_COMMON_H

#include "accinf/base.h"
#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/tokenizer.h"

#include <stdio.h>

typedef enum cli_option_type {
    CLI_FLAG,        /* int *: set to 1 */
    CLI_STRING,      /* const char **: the argument itself */
    CLI_INT,         /* int * */
    CLI_FLOAT,       /* float * */
    CLI_U64,         /* uint64_t * */
    CLI_STRING_LIST, /* cli_string_list *: repeatable */
} cli_option_type;

typedef struct cli_string_list {
    const char **items;
    int count;
} cli_string_list;

typedef struct cli_option {
    const char *name;   /* long name, without "--" */
    char short_name;    /* 0: none */
    cli_option_type type;
    void *target;
    const char *metavar;
    const char *help;
    int *seen;          /* optional: set to 1 when given */
} cli_option;

typedef struct cli_command {
    const char *verb;
    const char *usage;      /* after "accinf VERB " */
    const char *summary;    /* one paragraph */
    const char *positional; /* name of the one positional argument (NULL: none) */
    const cli_option *options;
    int n_options;
    const char *notes;      /* printed after the option list; may be NULL */
} cli_command;

/* Parses argv[0..argc) (argv[0] is the verb).  On success *positional
 * holds the positional argument.  If --help was given the usage has been
 * printed to stdout and *help_shown is 1.  String lists are allocated;
 * free them with cli_string_list_free. */
acc_status cli_parse(const cli_command *cmd, int argc, char **argv, const char **positional,
                     int *help_shown, acc_error *err);
void cli_print_help(const cli_command *cmd, FILE *out);
void cli_string_list_free(cli_string_list *list);

/* Prints "accinf: error: <message>" as one line to stderr; returns the exit code. */
int cli_report(const acc_error *err);

/* JSON writers (stdout-style FILE *).  Floats use %.9g, which round-trips
 * f32; non-finite values become null. */
void cli_json_string(FILE *out, const char *text, size_t size);
void cli_json_ids(FILE *out, const int32_t *ids, size_t n);
void cli_json_floats(FILE *out, const float *values, size_t n);
void cli_json_double(FILE *out, double value);

/* Token text for humans: quoted, with control characters escaped. */
void cli_print_quoted(FILE *out, const char *text);
/* One token for humans: its decoded text quoted, then the vocabulary
 * string when that differs (byte-level 'Ġthe', SentencePiece '▁the'). */
void cli_print_token(FILE *out, const acc_tokenizer *tok, int32_t id);

/* MODEL must exist; a directory must hold config.json. */
acc_status cli_check_model_path(const char *path, acc_error *err);
acc_status cli_open_model(const char *path, acc_model **out, acc_error *err);

/* Text options: valid UTF-8, errors name the option and byte offset. */
acc_status cli_check_utf8(const char *text, size_t size, const char *where, acc_error *err);
/* The text of --OPT or of --OPT-file (exactly one must be given).
 * *owned is set when the text was read from a file (caller frees). */
acc_status cli_text_argument(const char *text, const char *text_option, const char *file,
                             const char *file_option, const char **out, size_t *size,
                             char **owned, acc_error *err);

/* "1,2,3" (spaces and surrounding [] allowed) -> malloc'ed ids, each
 * checked to be in [0, vocab) when vocab > 0. */
acc_status cli_parse_ids(const char *text, const char *where, int vocab, int32_t **ids,
                         size_t *n, acc_error *err);

/* Prompt ids from --prompt text (through the model's tokenizer, with
 * special tokens as HF's tokenizer(prompt) does) or from --ids. */
acc_status cli_prompt_ids(const acc_model *model, const char *prompt, size_t prompt_size,
                          const char *ids_text, int32_t **ids, size_t *n, acc_error *err);

/* --weights NAME (f32, stored, q8_0, q4_0, q4_K, q6_K; any case; NULL:
 * stored) -> the engine's weights_precision. */
acc_status cli_weights_precision(const char *name, acc_weights_precision *out, acc_error *err);
#define CLI_WEIGHTS_HELP                                                                  \
    "weight precision: stored (default: as the model stores them), f32, or quantized at " \
    "load to q8_0, q4_0, q4_K, q6_K"

/* Online CPU count when threads == 0. */
int cli_resolve_threads(int threads);

#endif
