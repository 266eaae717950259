/*
 * cli_compile.h — `accinf compile`: programs for a model, from a criteria
 * file or derived limits and composed presets, cached by content hash.
 */
#ifndef ACCINF_CLI_COMPILE_H
#define ACCINF_CLI_COMPILE_H

int cli_compile(int argc, char **argv);

#endif
