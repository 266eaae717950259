/*
 * main.c — the accinf command line: `accinf VERB ...`.  Dispatches to one
 * verb per file (cli_VERB.c), answers --help and --version, and turns an
 * unknown verb into the one-line usage error with exit code 2.
 */
#include "accinf/base.h"
#include "cli_verbs.h"
#include "cli_compile.h"
#include "cli_validate.h"

#include <stdio.h>
#include <string.h>

typedef struct cli_verb {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} cli_verb;

static const cli_verb cli_verbs[] = {
    {"info", cli_info_main, "architecture, parameters, tensors and memory needs of a model"},
    {"tokenize", cli_tokenize_main, "text -> token ids (and back) exactly as HF tokenizers"},
    {"logits", cli_logits_main, "last-position logits of a prompt"},
    {"run", cli_run_main, "generate text from a prompt"},
    {"bench", cli_bench_main, "prompt-processing and generation speed (llama-bench style)"},
    {"convert", cli_convert_main, "HF directory or GGUF -> GGUF (f32, f16, bf16, ggml quantization)"},
    {"perplexity", cli_perplexity_main, "perplexity of a text, as llama-perplexity computes it"},
    {"explore", cli_explore_main, "analytical performance and TCO of LLM inference on described hardware"},
    {"compile", cli_compile, "shape-bucketed programs with memory plans, cached by content hash"},
    {"validate", cli_validate, "validate a path program by program against the fp32 reference"},
};

static void cli_print_main_help(FILE *out)
{
    fprintf(out,
            "usage: accinf VERB [options]\n"
            "       accinf VERB --help\n"
            "       accinf --version\n\n"
            "accinf %s: LLM inference from a Hugging Face checkpoint.\n"
            "MODEL is a Hugging Face model directory (config.json, *.safetensors,\n"
            "tokenizer.json) or a GGUF file.\n\nverbs:\n",
            ACC_VERSION);
    for (size_t i = 0; i < sizeof cli_verbs / sizeof cli_verbs[0]; i++)
        fprintf(out, "  %-10s %s\n", cli_verbs[i].name, cli_verbs[i].summary);
    fprintf(out, "\nExit codes: 0 ok, 1 checks failed, 2 bad input or usage, 3 runtime failure.\n"
                 "Errors are one line on stderr: accinf: error: <where>: <what>\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "accinf: error: missing VERB (see 'accinf --help')\n");
        return ACC_ERR_INPUT;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        if (strcmp(verb, "help") == 0 && argc > 2) {
            for (size_t i = 0; i < sizeof cli_verbs / sizeof cli_verbs[0]; i++) {
                if (strcmp(argv[2], cli_verbs[i].name) == 0) {
                    char *help_argv[] = {argv[2], (char *)"--help", NULL};
                    return cli_verbs[i].main(2, help_argv);
                }
            }
            fprintf(stderr, "accinf: error: %s: unknown verb (see 'accinf --help')\n", argv[2]);
            return ACC_ERR_INPUT;
        }
        cli_print_main_help(stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0 ||
        strcmp(verb, "version") == 0) {
        printf("accinf %s\n", ACC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cli_verbs / sizeof cli_verbs[0]; i++)
        if (strcmp(verb, cli_verbs[i].name) == 0)
            return cli_verbs[i].main(argc - 1, argv + 1);
    if (verb[0] == '-')
        fprintf(stderr, "accinf: error: %s: unknown option (expected a VERB; see 'accinf --help')\n",
                verb);
    else
        fprintf(stderr, "accinf: error: %s: unknown verb (see 'accinf --help')\n", verb);
    return ACC_ERR_INPUT;
}
