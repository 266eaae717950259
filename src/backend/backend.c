/*
 * backend.c — the table of compiled-in backends, looked up by name.
 * A CUDA backend adds its ops here (behind its build option).
 */
#include "backend/backend.h"

#include "accinf/quant.h"

#include <string.h>
#include <strings.h>

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

static const struct {
    const char *name;
    int64_t block;  /* elements per block */
    size_t bytes;   /* bytes per block */
} weight_types[ACC_WEIGHT_TYPE_COUNT] = {
    [ACC_WEIGHT_F32] = {"f32", 1, 4},
    [ACC_WEIGHT_F16] = {"f16", 1, 2},
    [ACC_WEIGHT_BF16] = {"bf16", 1, 2},
    [ACC_WEIGHT_Q8_0] = {"q8_0", ACC_QK8_0, sizeof(acc_block_q8_0)},
    [ACC_WEIGHT_Q4_0] = {"q4_0", ACC_QK4_0, sizeof(acc_block_q4_0)},
    [ACC_WEIGHT_Q4_K] = {"q4_K", ACC_QK_K, sizeof(acc_block_q4_K)},
    [ACC_WEIGHT_Q6_K] = {"q6_K", ACC_QK_K, sizeof(acc_block_q6_K)},
    [ACC_WEIGHT_Q5_K] = {"q5_K", ACC_QK_K, sizeof(acc_block_q5_K)},
};

size_t acc_weight_type_size(acc_weight_type type)
{
    return (unsigned)type < ACC_WEIGHT_TYPE_COUNT && weight_types[type].block == 1
               ? weight_types[type].bytes
               : 0;
}

size_t acc_weight_row_bytes(acc_weight_type type, int64_t cols)
{
    if ((unsigned)type >= ACC_WEIGHT_TYPE_COUNT || cols < 0 || cols % weight_types[type].block)
        return 0;
    return (size_t)(cols / weight_types[type].block) * weight_types[type].bytes;
}

int64_t acc_weight_type_block(acc_weight_type type)
{
    return (unsigned)type < ACC_WEIGHT_TYPE_COUNT ? weight_types[type].block : 0;
}

int acc_weight_type_is_quantized(acc_weight_type type)
{
    return acc_weight_type_block(type) > 1;
}

const char *acc_weight_type_name(acc_weight_type type)
{
    return (unsigned)type < ACC_WEIGHT_TYPE_COUNT ? weight_types[type].name : "?";
}

int acc_weight_type_from_name(const char *name, acc_weight_type *out)
{
    for (int i = 0; i < ACC_WEIGHT_TYPE_COUNT; i++) {
        if (strcasecmp(name, weight_types[i].name) == 0) {
            *out = (acc_weight_type)i;
            return 0;
        }
    }
    return -1;
}

const char *acc_backend_names(void)
{
    return "cpu" ACC_CUDA_BACKEND_NAMES;
}
