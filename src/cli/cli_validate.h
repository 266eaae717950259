/*
 * cli_validate.h — `accinf validate`: a candidate inference path against
 * the fp32 CPU reference, program by program (see cli_validate.c).
 */
#ifndef ACCINF_CLI_VALIDATE_H
#define ACCINF_CLI_VALIDATE_H

int cli_validate(int argc, char **argv);

#endif
