/*
 * cli_verbs.h — entry points of the CLI verbs, one per cli_VERB.c file.
 * Each takes argv starting at the verb name and returns the exit code.
 */
#ifndef ACCINF_CLI_VERBS_H
#define ACCINF_CLI_VERBS_H

int cli_info_main(int argc, char **argv);
int cli_tokenize_main(int argc, char **argv);
int cli_logits_main(int argc, char **argv);
int cli_run_main(int argc, char **argv);
int cli_bench_main(int argc, char **argv);
int cli_explore_main(int argc, char **argv);
int cli_convert_main(int argc, char **argv);
int cli_perplexity_main(int argc, char **argv);

#endif
