/*
 * cli_convert.c — `accinf convert`: an HF model directory (or a GGUF file,
 * to requantize) to a GGUF file llama.cpp loads, with llama-quantize's
 * per-tensor type choices.  A progress bar goes to stderr only when stderr
 * is a terminal; the output file appears atomically when complete.
 */
#include "cli_common.h"
#include "cli_verbs.h"

#include "accinf/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void convert_progress(void *user, int done, int total, const char *tensor)
{
    (void)user;
    int width = 30, filled = total ? done * width / total : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d %-40.40s", filled, "##############################",
            width - filled, "", done, total, tensor);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

int cli_convert_main(int argc, char **argv)
{
    const char *output = NULL, *type = NULL;
    int pure = 0, quiet = 0, list = 0;
    const cli_option options[] = {
        {"output", 'o', CLI_STRING, &output, "OUT.gguf", "output file (written atomically)", NULL},
        {"type", 't', CLI_STRING, &type, "TYPE", "target type (see --list-types)", NULL},
        {"pure", 0, CLI_FLAG, &pure, NULL,
         "no mixture: every quantized tensor gets TYPE's base type (width fallbacks still apply)",
         NULL},
        {"quiet", 'q', CLI_FLAG, &quiet, NULL, "no progress bar and no summary", NULL},
        {"list-types", 0, CLI_FLAG, &list, NULL, "print the known types and exit", NULL},
    };
    const cli_command cmd = {
        .verb = "convert",
        .usage = "INPUT -o OUT.gguf --type TYPE [options]",
        .summary = "Convert a Hugging Face model directory to GGUF, or requantize a GGUF file.\n"
                   "Tensor names, layouts and metadata follow llama.cpp, and each tensor gets\n"
                   "the type llama-quantize would give it for TYPE.",
        .positional = "INPUT",
        .options = options,
        .n_options = (int)(sizeof options / sizeof options[0]),
        .notes = "Types: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K\n"
                 "q3_K_S q3_K_M q3_K_L q4_K_S q4_K_M q5_K_S q5_K_M (q3_K, q4_K, q5_K are\n"
                 "llama-quantize's aliases of the _M mixtures).\n"
                 "Examples:\n"
                 "  accinf convert examples/demo-model -o demo-q4_K_M.gguf --type q4_K_M\n"
                 "  accinf convert demo-f32.gguf -o demo-q8_0.gguf --type q8_0\n",
    };
    acc_error err = {0};
    const char *input = NULL;
    int help = 0;
    acc_status st = ACC_OK;
    if (argc >= 2 && strcmp(argv[1], "--list-types") == 0) {
        int n;
        const acc_convert_type *types = acc_convert_types(&n);
        for (int i = 0; i < n; i++)
            printf("%-8s %s\n", types[i].name, types[i].summary);
        return 0;
    }
    st = cli_parse(&cmd, argc, argv, &input, &help, &err);
    if (st != ACC_OK || help)
        return st == ACC_OK ? 0 : cli_report(&err);
    if (list) {
        int n;
        const acc_convert_type *types = acc_convert_types(&n);
        for (int i = 0; i < n; i++)
            printf("%-8s %s\n", types[i].name, types[i].summary);
        return 0;
    }
    if (!input)
        st = acc_error_set(&err, ACC_ERR_INPUT, "INPUT: missing (see 'accinf convert --help')");
    else if (!output)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--output: missing");
    else if (!type)
        st = acc_error_set(&err, ACC_ERR_INPUT, "--type: missing (see --list-types)");
    else if (!acc_convert_type_find(type))
        st = acc_error_set(&err, ACC_ERR_INPUT, "--type: '%s' is not a known type (see --list-types)",
                           type);
    if (st != ACC_OK)
        return cli_report(&err);
    acc_convert_options opt = {.type = type, .pure = pure};
    if (!quiet && isatty(STDERR_FILENO))
        opt.progress = convert_progress;
    acc_convert_stats stats;
    double t0 = acc_now_seconds();
    st = acc_convert(input, output, &opt, &stats, &err);
    if (st != ACC_OK)
        return cli_report(&err);
    if (!quiet) {
        printf("%s: %d tensors, %.2f MiB -> %.2f MiB in %.1f s (", output, stats.n_tensors,
               (double)stats.bytes_in / 1048576.0, (double)stats.bytes_out / 1048576.0,
               acc_now_seconds() - t0);
        int first = 1;
        for (int t = 0; t < ACC_GGML_TYPE_COUNT; t++)
            if (stats.n_by_type[t]) {
                printf("%s%s: %d", first ? "" : ", ", acc_ggml_type_name((acc_ggml_type)t),
                       stats.n_by_type[t]);
                first = 0;
            }
        printf(")\n");
    }
    return 0;
}
