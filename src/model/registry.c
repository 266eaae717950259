/*
 * registry.c — maps each supported architecture to its builder family,
 * and the small helpers builders share for tensor-shape checks.
 */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

const acc_arch_builder *acc_arch_builder_find(acc_arch arch)
{
    switch (arch) {
    case ACC_ARCH_GPT2:
        return &acc_arch_gpt2;
    case ACC_ARCH_LLAMA:
    case ACC_ARCH_MISTRAL:
    case ACC_ARCH_QWEN2:
    case ACC_ARCH_GRANITE:
        return &acc_arch_llama;
    default:
        return NULL;
    }
}

static void shape_format(char *out, size_t size, int n_dims, const int64_t *shape)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < n_dims && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

acc_status acc_arch_shape_error(const acc_tensor_view *view, int n_dims, const int64_t *shape,
                                acc_error *err)
{
    char want[96], got[96];
    shape_format(want, sizeof want, n_dims, shape);
    shape_format(got, sizeof got, view->n_dims, view->shape);
    return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': expected shape %s, got %s",
                         view->file ? view->file : "?", view->name, want, got);
}

int acc_arch_shape_is(const acc_tensor_view *view, int n_dims, const int64_t *shape)
{
    if (view->n_dims != n_dims)
        return 0;
    for (int i = 0; i < n_dims; i++)
        if (view->shape[i] != shape[i])
            return 0;
    return 1;
}

int acc_arch_name_ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}
