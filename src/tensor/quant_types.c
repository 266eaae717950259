/*
 * quant_types.c — the table of ggml tensor types (name, elements per block,
 * bytes per block) and the type-generic quantize/dequantize entry points.
 *
 * The GGUF reader sizes every tensor from this table, so it must agree with
 * ggml's type_traits for every id a file may contain, including the types we
 * cannot compute with (iq*, tq*): a file holding them must still parse.
 */
#include "accinf/quant.h"

#include <ctype.h>
#include <string.h>

#include "accinf/tensor.h"

_Static_assert(sizeof(acc_block_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(acc_block_q4_1) == 20, "q4_1 block size");
_Static_assert(sizeof(acc_block_q5_0) == 22, "q5_0 block size");
_Static_assert(sizeof(acc_block_q5_1) == 24, "q5_1 block size");
_Static_assert(sizeof(acc_block_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(acc_block_q2_K) == 84, "q2_K block size");
_Static_assert(sizeof(acc_block_q3_K) == 110, "q3_K block size");
_Static_assert(sizeof(acc_block_q4_K) == 144, "q4_K block size");
_Static_assert(sizeof(acc_block_q5_K) == 176, "q5_K block size");
_Static_assert(sizeof(acc_block_q6_K) == 210, "q6_K block size");
_Static_assert(sizeof(acc_block_q8_K) == 292, "q8_K block size");

typedef struct type_traits {
    const char *name; /* NULL: the id is not a valid type */
    int64_t block_size;
    size_t type_size;
} type_traits;

static const type_traits traits[ACC_GGML_TYPE_COUNT] = {
    [ACC_GGML_F32] = {"f32", 1, 4},
    [ACC_GGML_F16] = {"f16", 1, 2},
    [ACC_GGML_Q4_0] = {"q4_0", 32, 18},
    [ACC_GGML_Q4_1] = {"q4_1", 32, 20},
    [ACC_GGML_Q5_0] = {"q5_0", 32, 22},
    [ACC_GGML_Q5_1] = {"q5_1", 32, 24},
    [ACC_GGML_Q8_0] = {"q8_0", 32, 34},
    [ACC_GGML_Q8_1] = {"q8_1", 32, 36},
    [ACC_GGML_Q2_K] = {"q2_K", 256, 84},
    [ACC_GGML_Q3_K] = {"q3_K", 256, 110},
    [ACC_GGML_Q4_K] = {"q4_K", 256, 144},
    [ACC_GGML_Q5_K] = {"q5_K", 256, 176},
    [ACC_GGML_Q6_K] = {"q6_K", 256, 210},
    [ACC_GGML_Q8_K] = {"q8_K", 256, 292},
    [ACC_GGML_IQ2_XXS] = {"iq2_xxs", 256, 66},
    [ACC_GGML_IQ2_XS] = {"iq2_xs", 256, 74},
    [ACC_GGML_IQ3_XXS] = {"iq3_xxs", 256, 98},
    [ACC_GGML_IQ1_S] = {"iq1_s", 256, 50},
    [ACC_GGML_IQ4_NL] = {"iq4_nl", 32, 18},
    [ACC_GGML_IQ3_S] = {"iq3_s", 256, 110},
    [ACC_GGML_IQ2_S] = {"iq2_s", 256, 82},
    [ACC_GGML_IQ4_XS] = {"iq4_xs", 256, 136},
    [ACC_GGML_I8] = {"i8", 1, 1},
    [ACC_GGML_I16] = {"i16", 1, 2},
    [ACC_GGML_I32] = {"i32", 1, 4},
    [ACC_GGML_I64] = {"i64", 1, 8},
    [ACC_GGML_F64] = {"f64", 1, 8},
    [ACC_GGML_IQ1_M] = {"iq1_m", 256, 56},
    [ACC_GGML_BF16] = {"bf16", 1, 2},
    [ACC_GGML_TQ1_0] = {"tq1_0", 256, 54},
    [ACC_GGML_TQ2_0] = {"tq2_0", 256, 66},
};

int acc_ggml_type_valid(uint32_t id)
{
    return id < ACC_GGML_TYPE_COUNT && traits[id].name != NULL;
}

const char *acc_ggml_type_name(acc_ggml_type type)
{
    return acc_ggml_type_valid((uint32_t)type) ? traits[type].name : "?";
}

int acc_ggml_type_from_name(const char *name, acc_ggml_type *out)
{
    for (uint32_t id = 0; id < ACC_GGML_TYPE_COUNT; id++) {
        if (!traits[id].name)
            continue;
        const char *a = traits[id].name, *b = name;
        while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b))
            a++, b++;
        if (*a == '\0' && *b == '\0') {
            *out = (acc_ggml_type)id;
            return 0;
        }
    }
    return -1;
}

int64_t acc_ggml_block_size(acc_ggml_type type)
{
    return acc_ggml_type_valid((uint32_t)type) ? traits[type].block_size : 0;
}

size_t acc_ggml_type_size(acc_ggml_type type)
{
    return acc_ggml_type_valid((uint32_t)type) ? traits[type].type_size : 0;
}

int acc_ggml_row_bytes(acc_ggml_type type, int64_t n, uint64_t *out)
{
    int64_t block = acc_ggml_block_size(type);
    if (block == 0 || n < 0 || n % block != 0)
        return -1;
    return acc_mul_overflow_u64((uint64_t)(n / block), traits[type].type_size, out) ? -1 : 0;
}

int acc_ggml_type_quantizable(acc_ggml_type type)
{
    switch (type) {
    case ACC_GGML_F32: case ACC_GGML_F16: case ACC_GGML_BF16:
    case ACC_GGML_Q4_0: case ACC_GGML_Q4_1: case ACC_GGML_Q5_0: case ACC_GGML_Q5_1:
    case ACC_GGML_Q8_0: case ACC_GGML_Q2_K: case ACC_GGML_Q3_K: case ACC_GGML_Q4_K:
    case ACC_GGML_Q5_K: case ACC_GGML_Q6_K: case ACC_GGML_Q8_K: case ACC_GGML_IQ4_NL:
        return 1;
    default:
        return 0;
    }
}

static acc_status check_count(acc_ggml_type type, int64_t n, acc_error *err)
{
    if (!acc_ggml_type_quantizable(type))
        return acc_error_set(err, ACC_ERR_INPUT, "type %s: quantization not supported",
                             acc_ggml_type_name(type));
    int64_t block = acc_ggml_block_size(type);
    if (n < 0 || n % block != 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "type %s: %lld elements is not a multiple of the block size %lld",
                             acc_ggml_type_name(type), (long long)n, (long long)block);
    return ACC_OK;
}

acc_status acc_quantize(acc_ggml_type type, const float *src, void *dst, int64_t n, acc_error *err)
{
    acc_status status = check_count(type, n, err);
    if (status != ACC_OK)
        return status;
    switch (type) {
    case ACC_GGML_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case ACC_GGML_F16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = acc_f32_to_f16(src[i]);
        break;
    case ACC_GGML_BF16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = acc_f32_to_bf16(src[i]);
        break;
    case ACC_GGML_Q4_0: acc_quantize_row_q4_0(src, dst, n); break;
    case ACC_GGML_Q4_1: acc_quantize_row_q4_1(src, dst, n); break;
    case ACC_GGML_Q5_0: acc_quantize_row_q5_0(src, dst, n); break;
    case ACC_GGML_Q5_1: acc_quantize_row_q5_1(src, dst, n); break;
    case ACC_GGML_Q8_0: acc_quantize_row_q8_0(src, dst, n); break;
    case ACC_GGML_Q2_K: acc_quantize_row_q2_K(src, dst, n); break;
    case ACC_GGML_Q3_K: acc_quantize_row_q3_K(src, dst, n); break;
    case ACC_GGML_Q4_K: acc_quantize_row_q4_K(src, dst, n); break;
    case ACC_GGML_Q5_K: acc_quantize_row_q5_K(src, dst, n); break;
    case ACC_GGML_Q6_K: acc_quantize_row_q6_K(src, dst, n); break;
    case ACC_GGML_Q8_K: acc_quantize_row_q8_K(src, dst, n); break;
    case ACC_GGML_IQ4_NL: acc_quantize_row_iq4_nl(src, dst, n); break;
    default: break; /* excluded by check_count */
    }
    return ACC_OK;
}

acc_status acc_dequantize(acc_ggml_type type, const void *src, float *dst, int64_t n,
                          acc_error *err)
{
    acc_status status = check_count(type, n, err);
    if (status != ACC_OK)
        return status;
    switch (type) {
    case ACC_GGML_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case ACC_GGML_F16:
        acc_convert_to_f32(ACC_DTYPE_F16, src, dst, (size_t)n);
        break;
    case ACC_GGML_BF16:
        acc_convert_to_f32(ACC_DTYPE_BF16, src, dst, (size_t)n);
        break;
    case ACC_GGML_Q4_0: acc_dequantize_row_q4_0(src, dst, n); break;
    case ACC_GGML_Q4_1: acc_dequantize_row_q4_1(src, dst, n); break;
    case ACC_GGML_Q5_0: acc_dequantize_row_q5_0(src, dst, n); break;
    case ACC_GGML_Q5_1: acc_dequantize_row_q5_1(src, dst, n); break;
    case ACC_GGML_Q8_0: acc_dequantize_row_q8_0(src, dst, n); break;
    case ACC_GGML_Q2_K: acc_dequantize_row_q2_K(src, dst, n); break;
    case ACC_GGML_Q3_K: acc_dequantize_row_q3_K(src, dst, n); break;
    case ACC_GGML_Q4_K: acc_dequantize_row_q4_K(src, dst, n); break;
    case ACC_GGML_Q5_K: acc_dequantize_row_q5_K(src, dst, n); break;
    case ACC_GGML_Q6_K: acc_dequantize_row_q6_K(src, dst, n); break;
    case ACC_GGML_Q8_K: acc_dequantize_row_q8_K(src, dst, n); break;
    case ACC_GGML_IQ4_NL: acc_dequantize_row_iq4_nl(src, dst, n); break;
    default: break;
    }
    return ACC_OK;
}
