/*
 * quant_internal.h — helpers shared by the quantizers (not a public
 * interface): ggml's rounding trick, f16 scale conversion and the settings
 * that keep our float arithmetic bit-identical to ggml's reference build.
 *
 * ggml's reference quantizers live in ggml-base, which is compiled for the
 * baseline ISA, so it never fuses a*b+c into an FMA.  A fused multiply-add
 * rounds once instead of twice and would change quantized bytes, so every
 * quantizer file includes this header first to forbid contraction.
 */
#ifndef ACCINF_QUANT_INTERNAL_H
#define ACCINF_QUANT_INTERNAL_H

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accinf/quant.h"
#include "accinf/tensor.h"

/* Round to nearest (ties to even) by adding 1.5 * 2^23: the integer lands in
 * the low mantissa bits.  Exact for |f| < 2^22; like ggml, larger or NaN
 * inputs give garbage but never undefined behaviour. */
static inline int quant_nearest_int(float f)
{
    float shifted = f + 12582912.f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

/* (int)v for v inside int's range (truncation, as C's cast), 0 for NaN or
 * out-of-range values where the cast would be undefined behaviour. */
static inline int quant_trunc_int(float v)
{
    return (v > -2147483520.0f && v < 2147483520.0f) ? (int)v : 0;
}

static inline int quant_min_int(int a, int b) { return a < b ? a : b; }
static inline int quant_max_int(int a, int b) { return a > b ? a : b; }

static inline uint16_t quant_fp16(float v) { return acc_f32_to_f16(v); }
static inline float quant_fp32(uint16_t h) { return acc_f16_to_f32(h); }

/* ggml's GROUP_MAX_EPS: groups whose largest magnitude is below it are zero. */
#define QUANT_GROUP_MAX_EPS 1e-15f

/* The k-quant scale searches (quant_kscale.c); see docs/GGUF.md. */
float quant_make_qx_quants_rmse1(int n, int nmax, const float *x, int8_t *levels);
float quant_make_q3_quants_rmse(int n, int nmax, const float *x, int8_t *levels);
float quant_make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                             uint8_t *levels, float *the_min, uint8_t *scratch, float rmin,
                             float rdelta, int nstep, int use_mad);
/* Unpacks scale and min j (0..7) of a q4_K/q5_K 12-byte scale array. */
void quant_scale_min_k4(int j, const uint8_t *packed, uint8_t *scale, uint8_t *min);
/* Packs 8 six-bit scales and mins the way quant_scale_min_k4 reads them. */
void quant_pack_scale_min_k4(const uint8_t *scales, const uint8_t *mins, uint8_t *packed);

#endif
