/*
 * backend.c — the table of compiled-in backends, looked up by name.
 * A CUDA backend adds its ops here (behind its build option).
 */
#include "backend/backend.h"

#include <string.h>

static const acc_backend_ops *const backend_table[] = {
    &acc_backend_cpu_ops,
};

const acc_backend_ops *acc_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof backend_table / sizeof backend_table[0]; i++)
        if (strcmp(backend_table[i]->name, name) == 0)
            return backend_table[i];
    return NULL;
}

size_t acc_weight_type_size(acc_weight_type type)
{
    switch (type) {
    case ACC_WEIGHT_F32:
        return 4;
    case ACC_WEIGHT_F16:
    case ACC_WEIGHT_BF16:
        return 2;
    default:
        return 0;
    }
}

const char *acc_weight_type_name(acc_weight_type type)
{
    switch (type) {
    case ACC_WEIGHT_F32:
        return "f32";
    case ACC_WEIGHT_F16:
        return "f16";
    case ACC_WEIGHT_BF16:
        return "bf16";
    default:
        return "?";
    }
}

const char *acc_backend_names(void)
{
    return "cpu";
}
