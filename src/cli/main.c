/*
 * main.c — the accinf command line: dispatches to one verb per file.
 * (Placeholder dispatcher; the verbs are filled in by the front-end work.)
 */
#include "accinf/base.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("accinf %s\n", ACC_VERSION);
        return 0;
    }
    fprintf(stderr, "accinf: error: usage: accinf VERB ... (see --help)\n");
    return 2;
}
