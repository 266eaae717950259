/*
 * cli_explore.h — the `accinf explore` verb (src/cli/main.c dispatches to it).
 */
#ifndef ACCINF_CLI_EXPLORE_H
#define ACCINF_CLI_EXPLORE_H

/* argv[0] is "explore"; returns the process exit code (0, 2 bad input, 3 runtime). */
int cli_explore(int argc, char **argv);

#endif
