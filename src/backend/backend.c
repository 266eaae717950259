/*
 * backend.c — the table of compiled-in backends, looked up by name.
 * A CUDA backend adds its ops here (behind its build option).
 */
#include "backend/backend.h"

#include <string.h>

#ifdef ACCINF_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#else
#define ACC_CUDA_BACKENDS
#define ACC_CUDA_BACKEND_NAMES ""
#endif

static const acc_backend_ops *const backend_table[] = {
    &acc_backend_cpu_ops,
    ACC_CUDA_BACKENDS /* "cuda", "cuda-f32" when built with the CUDA backend */
};

const acc_backend_ops *acc_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof backend_table / sizeof backend_table[0]; i++)
        if (strcmp(backend_table[i]->name, name) == 0)
            return backend_table[i];
    return NULL;
}

const char *acc_backend_names(void)
{
    return "cpu" ACC_CUDA_BACKEND_NAMES;
}
