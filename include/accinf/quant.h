/*
 * quant.h — ggml's tensor types and quantized block formats, bit-compatible
 * with ggml (llama.cpp): the same type ids, block structs, reference
 * quantizers (quantize_row_*_ref without an importance matrix, which is what
 * llama-quantize uses), dequantizers, and scalar dot products of quantized
 * weights with int8-quantized activations (q8_0 for the 32-element formats,
 * q8_K for the 256-element k-quants).  docs/GGUF.md describes every layout.
 */
#ifndef ACCINF_QUANT_H
#define ACCINF_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "accinf/base.h"

/* ggml's type ids as they appear in GGUF tensor infos.  Gaps (4, 5, 31..33,
 * 36..38) are ids ggml retired; they are invalid in files. */
typedef enum acc_ggml_type {
    ACC_GGML_F32 = 0,
    ACC_GGML_F16 = 1,
    ACC_GGML_Q4_0 = 2,
    ACC_GGML_Q4_1 = 3,
    ACC_GGML_Q5_0 = 6,
    ACC_GGML_Q5_1 = 7,
    ACC_GGML_Q8_0 = 8,
    ACC_GGML_Q8_1 = 9,
    ACC_GGML_Q2_K = 10,
    ACC_GGML_Q3_K = 11,
    ACC_GGML_Q4_K = 12,
    ACC_GGML_Q5_K = 13,
    ACC_GGML_Q6_K = 14,
    ACC_GGML_Q8_K = 15,
    ACC_GGML_IQ2_XXS = 16,
    ACC_GGML_IQ2_XS = 17,
    ACC_GGML_IQ3_XXS = 18,
    ACC_GGML_IQ1_S = 19,
    ACC_GGML_IQ4_NL = 20,
    ACC_GGML_IQ3_S = 21,
    ACC_GGML_IQ2_S = 22,
    ACC_GGML_IQ4_XS = 23,
    ACC_GGML_I8 = 24,
    ACC_GGML_I16 = 25,
    ACC_GGML_I32 = 26,
    ACC_GGML_I64 = 27,
    ACC_GGML_F64 = 28,
    ACC_GGML_IQ1_M = 29,
    ACC_GGML_BF16 = 30,
    ACC_GGML_TQ1_0 = 34,
    ACC_GGML_TQ2_0 = 35,
    ACC_GGML_TYPE_COUNT = 39,
} acc_ggml_type;

/* 1 if id names a type ggml defines (so a file may contain it), else 0. */
int acc_ggml_type_valid(uint32_t id);
/* ggml's lower-case name ("q4_K", "f16", "bf16"); "?" for an invalid id. */
const char *acc_ggml_type_name(acc_ggml_type type);
/* Parses a name case-insensitively ("Q4_K" or "q4_k"); 0 on success, -1 if unknown. */
int acc_ggml_type_from_name(const char *name, acc_ggml_type *out);
/* Elements per block (1 for plain types, 32 or 256 for block formats) and
 * bytes per block; 0 for an invalid id. */
int64_t acc_ggml_block_size(acc_ggml_type type);
size_t acc_ggml_type_size(acc_ggml_type type);
/* Bytes of n elements of type.  Fails (returns -1) if n is negative, not a
 * multiple of the block size, or the size overflows; else 0. */
int acc_ggml_row_bytes(acc_ggml_type type, int64_t n, uint64_t *out);
/* 1 if this library can quantize f32 to type and dequantize it back. */
int acc_ggml_type_quantizable(acc_ggml_type type);

/* ---- block structs (ggml-common.h layouts; halves are raw f16 bits) ---- */

#define ACC_QK4_0 32
#define ACC_QK4_1 32
#define ACC_QK5_0 32
#define ACC_QK5_1 32
#define ACC_QK8_0 32
#define ACC_QK_K 256
#define ACC_K_SCALE_SIZE 12

typedef struct acc_block_q4_0 {
    uint16_t d;              /* scale */
    uint8_t qs[ACC_QK4_0 / 2]; /* element j in the low nibble of qs[j], j+16 in the high */
} acc_block_q4_0;

typedef struct acc_block_q4_1 {
    uint16_t d, m; /* scale and minimum */
    uint8_t qs[ACC_QK4_1 / 2];
} acc_block_q4_1;

typedef struct acc_block_q5_0 {
    uint16_t d;
    uint8_t qh[4]; /* fifth bits, bit j of the little-endian u32 = element j */
    uint8_t qs[ACC_QK5_0 / 2];
} acc_block_q5_0;

typedef struct acc_block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[ACC_QK5_1 / 2];
} acc_block_q5_1;

typedef struct acc_block_q8_0 {
    uint16_t d;
    int8_t qs[ACC_QK8_0];
} acc_block_q8_0;

typedef struct acc_block_q2_K {
    uint8_t scales[ACC_QK_K / 16]; /* low nibble scale, high nibble min, per 16 elements */
    uint8_t qs[ACC_QK_K / 4];
    uint16_t d, dmin;
} acc_block_q2_K;

typedef struct acc_block_q3_K {
    uint8_t hmask[ACC_QK_K / 8];
    uint8_t qs[ACC_QK_K / 4];
    uint8_t scales[12]; /* 16 six-bit scales */
    uint16_t d;
} acc_block_q3_K;

typedef struct acc_block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[ACC_K_SCALE_SIZE]; /* 8 six-bit scales and 8 six-bit mins */
    uint8_t qs[ACC_QK_K / 2];
} acc_block_q4_K;

typedef struct acc_block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[ACC_K_SCALE_SIZE];
    uint8_t qh[ACC_QK_K / 8];
    uint8_t qs[ACC_QK_K / 2];
} acc_block_q5_K;

typedef struct acc_block_q6_K {
    uint8_t ql[ACC_QK_K / 2];
    uint8_t qh[ACC_QK_K / 4];
    int8_t scales[ACC_QK_K / 16];
    uint16_t d;
} acc_block_q6_K;

/* IQ4_NL: 4-bit indices into a fixed non-linear table of 16 int8 levels.
 * llama-quantize's fallback for q2_K/q3_K rows that are not a multiple of 256. */
#define ACC_QK4_NL 32
typedef struct acc_block_iq4_nl {
    uint16_t d;
    uint8_t qs[ACC_QK4_NL / 2]; /* element j low nibble of qs[j], j+16 high */
} acc_block_iq4_nl;

/* Activations for the k-quant dot products (never stored in files). */
typedef struct acc_block_q8_K {
    float d;
    int8_t qs[ACC_QK_K];
    int16_t bsums[ACC_QK_K / 16]; /* sums of qs in groups of 16 */
} acc_block_q8_K;

/* ---- reference quantization / dequantization of one row --------------
 * k is the number of elements and must be a multiple of the block size;
 * y receives k / block_size blocks.  Results are bit-identical to ggml's
 * quantize_row_<type>_ref for finite input; NaN/Inf give defined (but
 * meaningless) blocks, never undefined behaviour. */
void acc_quantize_row_q4_0(const float *x, acc_block_q4_0 *y, int64_t k);
void acc_quantize_row_q4_1(const float *x, acc_block_q4_1 *y, int64_t k);
void acc_quantize_row_q5_0(const float *x, acc_block_q5_0 *y, int64_t k);
void acc_quantize_row_q5_1(const float *x, acc_block_q5_1 *y, int64_t k);
void acc_quantize_row_q8_0(const float *x, acc_block_q8_0 *y, int64_t k);
void acc_quantize_row_q2_K(const float *x, acc_block_q2_K *y, int64_t k);
void acc_quantize_row_q3_K(const float *x, acc_block_q3_K *y, int64_t k);
void acc_quantize_row_q4_K(const float *x, acc_block_q4_K *y, int64_t k);
void acc_quantize_row_q5_K(const float *x, acc_block_q5_K *y, int64_t k);
void acc_quantize_row_q6_K(const float *x, acc_block_q6_K *y, int64_t k);
void acc_quantize_row_q8_K(const float *x, acc_block_q8_K *y, int64_t k);
/* ggml's quantize_iq4_nl without an importance matrix (what llama-quantize
 * runs; ggml's quantize_row_iq4_nl_ref searches no scales and differs). */
void acc_quantize_row_iq4_nl(const float *x, acc_block_iq4_nl *y, int64_t k);

void acc_dequantize_row_q4_0(const acc_block_q4_0 *x, float *y, int64_t k);
void acc_dequantize_row_q4_1(const acc_block_q4_1 *x, float *y, int64_t k);
void acc_dequantize_row_q5_0(const acc_block_q5_0 *x, float *y, int64_t k);
void acc_dequantize_row_q5_1(const acc_block_q5_1 *x, float *y, int64_t k);
void acc_dequantize_row_q8_0(const acc_block_q8_0 *x, float *y, int64_t k);
void acc_dequantize_row_q2_K(const acc_block_q2_K *x, float *y, int64_t k);
void acc_dequantize_row_q3_K(const acc_block_q3_K *x, float *y, int64_t k);
void acc_dequantize_row_q4_K(const acc_block_q4_K *x, float *y, int64_t k);
void acc_dequantize_row_q5_K(const acc_block_q5_K *x, float *y, int64_t k);
void acc_dequantize_row_q6_K(const acc_block_q6_K *x, float *y, int64_t k);
void acc_dequantize_row_q8_K(const acc_block_q8_K *x, float *y, int64_t k);
void acc_dequantize_row_iq4_nl(const acc_block_iq4_nl *x, float *y, int64_t k);

/* Type-generic forms over n elements (one or more whole rows), for f32, f16,
 * bf16 and every quantizable type.  ACC_ERR_INPUT when the type is not
 * supported or n is not a multiple of its block size. */
acc_status acc_quantize(acc_ggml_type type, const float *src, void *dst, int64_t n, acc_error *err);
acc_status acc_dequantize(acc_ggml_type type, const void *src, float *dst, int64_t n,
                          acc_error *err);

/* ---- scalar dot products: sum_i w[i] * a[i] over n elements ------------
 * n is a multiple of 32 (q8_0 family) or 256 (k-quants).  Integer products
 * accumulate exactly within a block; per-block scales are applied in f32. */
float acc_vec_dot_q4_0_q8(int64_t n, const acc_block_q4_0 *w, const acc_block_q8_0 *a);
float acc_vec_dot_q4_1_q8(int64_t n, const acc_block_q4_1 *w, const acc_block_q8_0 *a);
float acc_vec_dot_q5_0_q8(int64_t n, const acc_block_q5_0 *w, const acc_block_q8_0 *a);
float acc_vec_dot_q5_1_q8(int64_t n, const acc_block_q5_1 *w, const acc_block_q8_0 *a);
float acc_vec_dot_q8_0_q8(int64_t n, const acc_block_q8_0 *w, const acc_block_q8_0 *a);
float acc_vec_dot_q2_K_q8(int64_t n, const acc_block_q2_K *w, const acc_block_q8_K *a);
float acc_vec_dot_q3_K_q8(int64_t n, const acc_block_q3_K *w, const acc_block_q8_K *a);
float acc_vec_dot_q4_K_q8(int64_t n, const acc_block_q4_K *w, const acc_block_q8_K *a);
float acc_vec_dot_q5_K_q8(int64_t n, const acc_block_q5_K *w, const acc_block_q8_K *a);
float acc_vec_dot_q6_K_q8(int64_t n, const acc_block_q6_K *w, const acc_block_q8_K *a);

#endif
