/*
 * fuzz_dataset.c — libFuzzer target for validate's dataset parsers
 * (src/validate/dataset.c).  The first byte picks the format (even:
 * ShareGPT JSON, odd: RAG-factoid JSONL); the rest is the file.  A dataset
 * that parses has n >= 1 NUL-terminated prompts of the stated sizes; a
 * failure is ACC_ERR_INPUT with a message — never a crash, leak or UB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    acc_dataset_type type = data[0] & 1 ? ACC_DATASET_RAG_FACTOID : ACC_DATASET_SHAREGPT;
    acc_dataset d;
    acc_error err;
    err.message[0] = '\0';
    acc_status st = acc_dataset_parse(type, (const char *)data + 1, size - 1, "fuzz", &d, &err);
    if (st != ACC_OK) {
        if (st != ACC_ERR_INPUT || err.message[0] == '\0')
            abort();
        return 0;
    }
    if (d.n < 1)
        abort();
    for (int i = 0; i < d.n; i++)
        if (!d.prompts[i] || d.prompts[i][d.sizes[i]] != '\0' ||
            strlen(d.prompts[i]) > d.sizes[i])
            abort();
    acc_dataset_free(&d);
    return 0;
}
