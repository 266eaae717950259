/*
 * dtype.c — names, sizes and exact f16/bf16 <-> f32 conversion of the
 * stored element types.
 */
#include "accinf/tensor.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[ACC_DTYPE_COUNT] = {
    [ACC_DTYPE_F32] = {"F32", 4},
    [ACC_DTYPE_F16] = {"F16", 2},
    [ACC_DTYPE_BF16] = {"BF16", 2},
    [ACC_DTYPE_Q8_0] = {"Q8_0", 0},
    [ACC_DTYPE_Q4_0] = {"Q4_0", 0},
    [ACC_DTYPE_Q4_K] = {"Q4_K", 0},
    [ACC_DTYPE_Q6_K] = {"Q6_K", 0},
    [ACC_DTYPE_Q5_K] = {"Q5_K", 0},
};

const char *acc_dtype_name(acc_dtype dtype)
{
    return (unsigned)dtype < ACC_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

int acc_dtype_from_name(const char *name, acc_dtype *out)
{
    for (int i = 0; i < ACC_DTYPE_COUNT; i++) {
        if (dtype_table[i].size != 0 && strcmp(name, dtype_table[i].name) == 0) {
            *out = (acc_dtype)i;
            return 0;
        }
    }
    return -1;
}

size_t acc_dtype_size(acc_dtype dtype)
{
    return (unsigned)dtype < ACC_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

int acc_dtype_is_block(acc_dtype dtype)
{
    return (unsigned)dtype < ACC_DTYPE_COUNT && dtype_table[dtype].size == 0;
}

static float bits_to_f32(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static uint32_t f32_to_bits(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

float acc_f16_to_f32(uint16_t half)
{
    uint32_t sign = (uint32_t)(half & 0x8000) << 16;
    uint32_t exponent = (half >> 10) & 0x1F;
    uint32_t mantissa = half & 0x3FF;
    if (exponent == 0x1F) /* inf / nan */
        return bits_to_f32(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        if (mantissa == 0)
            return bits_to_f32(sign);
        /* subnormal: value = mantissa * 2^-24 */
        float value = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -value : value;
    }
    return bits_to_f32(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t acc_f32_to_f16(float value)
{
    uint32_t bits = f32_to_bits(value);
    uint32_t sign = (bits >> 16) & 0x8000;
    uint32_t magnitude = bits & 0x7FFFFFFF;
    if (magnitude > 0x7F800000) /* nan: keep it a quiet nan */
        return (uint16_t)(sign | 0x7E00);
    if (magnitude >= 0x477FF000) /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7C00);
    if (magnitude < 0x38800000) { /* below the smallest normal half */
        /* the float + magic trick rounds to nearest even in the FPU */
        float scaled = bits_to_f32(magnitude) + 0.5f;
        return (uint16_t)(sign | (f32_to_bits(scaled) - 0x3F000000u));
    }
    uint32_t mantissa_odd = (magnitude >> 13) & 1;
    magnitude += 0xC8000FFFu + mantissa_odd; /* rebias exponent and round */
    return (uint16_t)(sign | (magnitude >> 13));
}

float acc_bf16_to_f32(uint16_t bf16)
{
    return bits_to_f32((uint32_t)bf16 << 16);
}

uint16_t acc_f32_to_bf16(float value)
{
    uint32_t bits = f32_to_bits(value);
    if ((bits & 0x7FFFFFFF) > 0x7F800000)
        return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

void acc_convert_to_f32(acc_dtype dtype, const void *src, float *dst, size_t n)
{
    switch (dtype) {
    case ACC_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case ACC_DTYPE_F16: {
        const uint8_t *bytes = src; /* may be unaligned inside a file */
        for (size_t i = 0; i < n; i++) {
            uint16_t half;
            memcpy(&half, bytes + 2 * i, 2);
            dst[i] = acc_f16_to_f32(half);
        }
        break;
    }
    case ACC_DTYPE_BF16: {
        const uint8_t *bytes = src;
        for (size_t i = 0; i < n; i++) {
            uint16_t half;
            memcpy(&half, bytes + 2 * i, 2);
            dst[i] = acc_bf16_to_f32(half);
        }
        break;
    }
    default:
        break;
    }
}

int64_t acc_tensor_view_elements(const acc_tensor_view *view)
{
    int64_t count = 1;
    for (int i = 0; i < view->n_dims; i++)
        count *= view->shape[i];
    return count;
}
