/*
 * tensor.h — element types of stored weights and their conversion to f32.
 *
 * The fp32 CPU path is the numerical reference, so every stored type has an
 * exact (f16, bf16) or ggml-defined (block formats, a later issue) decode.
 */
#ifndef ACCINF_TENSOR_H
#define ACCINF_TENSOR_H

#include <stddef.h>
#include <stdint.h>

typedef enum acc_dtype {
    ACC_DTYPE_F32 = 0,
    ACC_DTYPE_F16,
    ACC_DTYPE_BF16,
    /* ggml block formats the CPU kernels compute with directly (GGUF input;
     * accinf/quant.h has the layouts).  No element size: a row of n
     * elements is n / block blocks. */
    ACC_DTYPE_Q8_0,
    ACC_DTYPE_Q4_0,
    ACC_DTYPE_Q4_K,
    ACC_DTYPE_Q6_K,
    ACC_DTYPE_Q5_K,
    ACC_DTYPE_COUNT
} acc_dtype;

/* "F32", "F16", "BF16" (safetensors spelling); "Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q5_K". */
const char *acc_dtype_name(acc_dtype dtype);
/* Parses the safetensors spelling of a plain type (block types are never
 * accepted: safetensors cannot hold them); returns 0 on success, -1 if unknown. */
int acc_dtype_from_name(const char *name, acc_dtype *out);
/* Bytes per element of a plain type; 0 for block types. */
size_t acc_dtype_size(acc_dtype dtype);
/* 1 for the ggml block types. */
int acc_dtype_is_block(acc_dtype dtype);

float acc_f16_to_f32(uint16_t half);
uint16_t acc_f32_to_f16(float value);         /* round to nearest even */
float acc_bf16_to_f32(uint16_t bf16);
uint16_t acc_f32_to_bf16(float value);        /* round to nearest even */

/* Converts n elements of src (of a plain dtype) to f32. */
void acc_convert_to_f32(acc_dtype dtype, const void *src, float *dst, size_t n);

#define ACC_MAX_DIMS 4

/* A read-only view of one stored tensor (usually inside an mmapped file). */
typedef struct acc_tensor_view {
    const char *name;
    const char *file; /* the file it lives in, for error messages */
    acc_dtype dtype;
    int n_dims;
    int64_t shape[ACC_MAX_DIMS]; /* outermost first, as safetensors stores it */
    const void *data;
    uint64_t nbytes;
    /* Block types only: 1 when data holds the transpose of shape (a GGUF
     * tensor whose HF layout is transposed, GPT-2's Conv1D weights), as
     * shape[1] rows of shape[0] elements; 0 when it holds shape[0] rows of
     * shape[1] elements. */
    int transposed;
} acc_tensor_view;

/* Number of elements (product of shape; 1 for a scalar). */
int64_t acc_tensor_view_elements(const acc_tensor_view *view);

#endif
