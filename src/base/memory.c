/*
 * memory.c — allocation that reports failure through acc_error, and
 * overflow-checked size arithmetic for parsers of untrusted files.
 */
#include "accinf/base.h"

#include <stdlib.h>
#include <string.h>

void *acc_malloc(size_t size, acc_error *err)
{
    void *block = malloc(size ? size : 1);
    if (!block)
        acc_error_set(err, ACC_ERR_RUNTIME, "out of memory allocating %zu bytes", size);
    return block;
}

void *acc_calloc(size_t count, size_t size, acc_error *err)
{
    void *block = calloc(count ? count : 1, size ? size : 1);
    if (!block)
        acc_error_set(err, ACC_ERR_RUNTIME, "out of memory allocating %zu x %zu bytes", count,
                      size);
    return block;
}

char *acc_strdup(const char *text, acc_error *err)
{
    size_t size = strlen(text) + 1;
    char *copy = acc_malloc(size, err);
    if (copy)
        memcpy(copy, text, size);
    return copy;
}

int acc_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

int acc_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
