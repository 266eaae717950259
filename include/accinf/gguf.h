/*
 * gguf.h — reader and writer of GGUF (versions 2 and 3, little-endian), the
 * file format of llama.cpp/ggml.
 *
 * Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, the
 * metadata key/value pairs, the tensor infos (name, n_dims, dims innermost
 * first, ggml type id, offset), padding to general.alignment (default 32),
 * then the data section.  The reader validates every field of an untrusted
 * file and names the byte offset, key or tensor in its errors; tensor data
 * and string values stay in the caller's buffer (normally an mmap).  The
 * writer emits files llama.cpp loads, atomically (temp file + rename).
 */
#ifndef ACCINF_GGUF_H
#define ACCINF_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "accinf/base.h"
#include "accinf/quant.h"
#include "accinf/tensor.h"

#define ACC_GGUF_DEFAULT_ALIGNMENT 32
/* Nested arrays deeper than this are refused (ggml itself allows none). */
#define ACC_GGUF_MAX_ARRAY_DEPTH 8
/* llama.cpp refuses tensor names of 64 bytes or more; the writer does too. */
#define ACC_GGUF_MAX_TENSOR_NAME 63

/* Metadata value types (the u32 type tags of the file). */
typedef enum acc_gguf_type {
    ACC_GGUF_U8 = 0,
    ACC_GGUF_I8 = 1,
    ACC_GGUF_U16 = 2,
    ACC_GGUF_I16 = 3,
    ACC_GGUF_U32 = 4,
    ACC_GGUF_I32 = 5,
    ACC_GGUF_F32 = 6,
    ACC_GGUF_BOOL = 7,
    ACC_GGUF_STRING = 8,
    ACC_GGUF_ARRAY = 9,
    ACC_GGUF_U64 = 10,
    ACC_GGUF_I64 = 11,
    ACC_GGUF_F64 = 12,
    ACC_GGUF_TYPE_COUNT
} acc_gguf_type;

/* "u8", "string", "array", ...; "?" when out of range. */
const char *acc_gguf_type_name(acc_gguf_type type);
/* Bytes of one element of a fixed-size type; 0 for string and array. */
size_t acc_gguf_type_size(acc_gguf_type type);

/* A string value: size bytes at data, not NUL-terminated, not validated as
 * UTF-8 (GGUF strings are UTF-8 by specification; callers that need it check). */
typedef struct acc_gguf_string {
    const char *data;
    uint64_t size;
} acc_gguf_string;

typedef struct acc_gguf_value acc_gguf_value;

/* An array: count elements of elem_type.  Fixed-size elements lie packed,
 * little-endian, at raw (inside the file buffer, possibly unaligned: read
 * them with memcpy or acc_gguf_array_get).  String and array elements are
 * parsed into items. */
typedef struct acc_gguf_array {
    acc_gguf_type elem_type;
    uint64_t count;
    const uint8_t *raw;    /* fixed-size element types, else NULL */
    acc_gguf_value *items; /* string/array element types, else NULL */
} acc_gguf_array;

struct acc_gguf_value {
    acc_gguf_type type;
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        float f32;
        bool b;
        uint64_t u64;
        int64_t i64;
        double f64;
        acc_gguf_string str;
        acc_gguf_array arr;
    } as;
};

/* Element `index` of an array as a value (scalars copied, strings and nested
 * arrays pointing into the file).  ACC_ERR_INPUT when out of range. */
acc_status acc_gguf_array_get(const acc_gguf_array *array, uint64_t index, acc_gguf_value *out,
                              acc_error *err);

/* One tensor.  ne[] is ggml's order: ne[0] is the innermost (contiguous,
 * row) dimension; unused dims are 1.  data points into the file buffer. */
typedef struct acc_gguf_tensor {
    const char *name;
    acc_ggml_type type;
    int n_dims;
    int64_t ne[ACC_MAX_DIMS];
    uint64_t offset; /* relative to the start of the data section */
    uint64_t nbytes;
    const void *data;
} acc_gguf_tensor;

/* Elements of a tensor (product of ne). */
int64_t acc_gguf_tensor_elements(const acc_gguf_tensor *tensor);
/* An acc_tensor_view (shape outermost first, as safetensors) of an f32, f16
 * or bf16 tensor; ACC_ERR_INPUT naming the tensor for other types. */
acc_status acc_gguf_tensor_view(const acc_gguf_tensor *tensor, const char *file,
                                acc_tensor_view *out, acc_error *err);

/* ---- reader ------------------------------------------------------------ */

typedef struct acc_gguf acc_gguf;

/* Maps and parses a file. */
acc_status acc_gguf_open(const char *path, acc_gguf **out, acc_error *err);
/* Parses a file image in memory; data must outlive the result.  `name`
 * labels errors. */
acc_status acc_gguf_parse(const uint8_t *data, size_t size, const char *name, acc_gguf **out,
                          acc_error *err);
void acc_gguf_close(acc_gguf *gguf);

uint32_t acc_gguf_version(const acc_gguf *gguf);
uint32_t acc_gguf_alignment(const acc_gguf *gguf);
/* Byte offset of the data section in the file. */
uint64_t acc_gguf_data_offset(const acc_gguf *gguf);
const char *acc_gguf_name(const acc_gguf *gguf);

uint64_t acc_gguf_kv_count(const acc_gguf *gguf);
const char *acc_gguf_kv_key(const acc_gguf *gguf, uint64_t index);
const acc_gguf_value *acc_gguf_kv_value(const acc_gguf *gguf, uint64_t index);
/* NULL when absent. */
const acc_gguf_value *acc_gguf_find(const acc_gguf *gguf, const char *key);

/* Typed getters.  Absent keys give ACC_ERR_INPUT "<file>: <key>: missing";
 * a value of another type, or out of the target's range, also ACC_ERR_INPUT.
 * Integer getters accept any integer type whose value fits; get_f32 accepts
 * f32 and f64; the string getter returns a pointer into the file. */
acc_status acc_gguf_get_u32(const acc_gguf *gguf, const char *key, uint32_t *out, acc_error *err);
acc_status acc_gguf_get_i32(const acc_gguf *gguf, const char *key, int32_t *out, acc_error *err);
acc_status acc_gguf_get_u64(const acc_gguf *gguf, const char *key, uint64_t *out, acc_error *err);
acc_status acc_gguf_get_f32(const acc_gguf *gguf, const char *key, float *out, acc_error *err);
acc_status acc_gguf_get_bool(const acc_gguf *gguf, const char *key, bool *out, acc_error *err);
acc_status acc_gguf_get_string(const acc_gguf *gguf, const char *key, acc_gguf_string *out,
                               acc_error *err);
/* A NUL-terminated heap copy of a string value (refused if it holds a NUL). */
acc_status acc_gguf_get_string_dup(const acc_gguf *gguf, const char *key, char **out,
                                   acc_error *err);
/* An array value; elem_type ACC_GGUF_TYPE_COUNT accepts any element type. */
acc_status acc_gguf_get_array(const acc_gguf *gguf, const char *key, acc_gguf_type elem_type,
                              const acc_gguf_array **out, acc_error *err);

uint64_t acc_gguf_tensor_count(const acc_gguf *gguf);
const acc_gguf_tensor *acc_gguf_tensor_at(const acc_gguf *gguf, uint64_t index);
/* NULL when absent. */
const acc_gguf_tensor *acc_gguf_find_tensor(const acc_gguf *gguf, const char *name);

/* ---- writer ------------------------------------------------------------
 * Metadata keys keep the order of their first set; setting a key again
 * replaces its value.  Tensors are laid out in the order added, each padded
 * to the alignment (general.alignment if set as u32, else 32). */

typedef struct acc_gguf_writer acc_gguf_writer;

/* Produces a tensor's bytes on demand, so a converter need not hold every
 * quantized tensor in memory: fill exactly nbytes at dst. */
typedef acc_status (*acc_gguf_fill_fn)(void *user, const char *name, void *dst, uint64_t nbytes,
                                       acc_error *err);

acc_status acc_gguf_writer_create(acc_gguf_writer **out, acc_error *err);
void acc_gguf_writer_destroy(acc_gguf_writer *writer);

acc_status acc_gguf_writer_set_u8(acc_gguf_writer *w, const char *key, uint8_t v, acc_error *err);
acc_status acc_gguf_writer_set_i8(acc_gguf_writer *w, const char *key, int8_t v, acc_error *err);
acc_status acc_gguf_writer_set_u16(acc_gguf_writer *w, const char *key, uint16_t v, acc_error *err);
acc_status acc_gguf_writer_set_i16(acc_gguf_writer *w, const char *key, int16_t v, acc_error *err);
acc_status acc_gguf_writer_set_u32(acc_gguf_writer *w, const char *key, uint32_t v, acc_error *err);
acc_status acc_gguf_writer_set_i32(acc_gguf_writer *w, const char *key, int32_t v, acc_error *err);
acc_status acc_gguf_writer_set_u64(acc_gguf_writer *w, const char *key, uint64_t v, acc_error *err);
acc_status acc_gguf_writer_set_i64(acc_gguf_writer *w, const char *key, int64_t v, acc_error *err);
acc_status acc_gguf_writer_set_f32(acc_gguf_writer *w, const char *key, float v, acc_error *err);
acc_status acc_gguf_writer_set_f64(acc_gguf_writer *w, const char *key, double v, acc_error *err);
acc_status acc_gguf_writer_set_bool(acc_gguf_writer *w, const char *key, bool v, acc_error *err);
/* A NUL-terminated string, or size bytes (may hold NULs). */
acc_status acc_gguf_writer_set_string(acc_gguf_writer *w, const char *key, const char *v,
                                      acc_error *err);
acc_status acc_gguf_writer_set_string_n(acc_gguf_writer *w, const char *key, const char *v,
                                        uint64_t size, acc_error *err);
/* An array of fixed-size elements (count packed little-endian values at data). */
acc_status acc_gguf_writer_set_array(acc_gguf_writer *w, const char *key, acc_gguf_type elem_type,
                                     const void *data, uint64_t count, acc_error *err);
acc_status acc_gguf_writer_set_string_array(acc_gguf_writer *w, const char *key,
                                            const char *const *strings, uint64_t count,
                                            acc_error *err);
/* Any value, deep-copied (nested arrays included): e.g. one from a reader. */
acc_status acc_gguf_writer_set_value(acc_gguf_writer *w, const char *key,
                                     const acc_gguf_value *value, acc_error *err);

/* Adds a tensor whose nbytes bytes are at data (borrowed: they must stay
 * valid until the write).  ne as in acc_gguf_tensor (innermost first);
 * nbytes must equal the size type and shape imply. */
acc_status acc_gguf_writer_add_tensor(acc_gguf_writer *w, const char *name, acc_ggml_type type,
                                      int n_dims, const int64_t *ne, const void *data,
                                      uint64_t nbytes, acc_error *err);
/* Adds a tensor whose bytes fill(user, ...) produces during the write. */
acc_status acc_gguf_writer_add_tensor_fill(acc_gguf_writer *w, const char *name,
                                           acc_ggml_type type, int n_dims, const int64_t *ne,
                                           acc_gguf_fill_fn fill, void *user, acc_error *err);

/* Writes path atomically (temp file beside it, fsync, rename). */
acc_status acc_gguf_writer_write(acc_gguf_writer *w, const char *path, acc_error *err);
/* Writes into a malloc'd buffer (tests, fuzz seeds). */
acc_status acc_gguf_writer_write_memory(acc_gguf_writer *w, uint8_t **out, size_t *size,
                                        acc_error *err);

#endif
