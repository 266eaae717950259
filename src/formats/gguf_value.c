/*
 * gguf_value.c — GGUF metadata values: type names and sizes, array element
 * access, the typed getters of the reader, the name hash table, and tensor
 * helpers (element count, conversion to an acc_tensor_view).
 *
 * Getters are strict about meaning but lenient about width: an integer
 * getter accepts any integer type whose value fits, because converters
 * disagree on widths (u32 vs i32 for the same hparam) while meaning the same.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf_internal.h"

static const struct {
    const char *name;
    size_t size;
} gguf_types[ACC_GGUF_TYPE_COUNT] = {
    [ACC_GGUF_U8] = {"u8", 1},     [ACC_GGUF_I8] = {"i8", 1},
    [ACC_GGUF_U16] = {"u16", 2},   [ACC_GGUF_I16] = {"i16", 2},
    [ACC_GGUF_U32] = {"u32", 4},   [ACC_GGUF_I32] = {"i32", 4},
    [ACC_GGUF_F32] = {"f32", 4},   [ACC_GGUF_BOOL] = {"bool", 1},
    [ACC_GGUF_STRING] = {"string", 0}, [ACC_GGUF_ARRAY] = {"array", 0},
    [ACC_GGUF_U64] = {"u64", 8},   [ACC_GGUF_I64] = {"i64", 8},
    [ACC_GGUF_F64] = {"f64", 8},
};

const char *acc_gguf_type_name(acc_gguf_type type)
{
    return (unsigned)type < ACC_GGUF_TYPE_COUNT ? gguf_types[type].name : "?";
}

size_t acc_gguf_type_size(acc_gguf_type type)
{
    return (unsigned)type < ACC_GGUF_TYPE_COUNT ? gguf_types[type].size : 0;
}

void gguf_decode_scalar(acc_gguf_type type, const uint8_t *bytes, acc_gguf_value *out)
{
    uint64_t bits = 0;
    size_t size = acc_gguf_type_size(type);
    for (size_t i = size; i-- > 0;)
        bits = bits << 8 | bytes[i];
    out->type = type;
    switch (type) {
    case ACC_GGUF_U8: out->as.u8 = (uint8_t)bits; break;
    case ACC_GGUF_I8: out->as.i8 = (int8_t)(uint8_t)bits; break;
    case ACC_GGUF_U16: out->as.u16 = (uint16_t)bits; break;
    case ACC_GGUF_I16: out->as.i16 = (int16_t)(uint16_t)bits; break;
    case ACC_GGUF_U32: out->as.u32 = (uint32_t)bits; break;
    case ACC_GGUF_I32: out->as.i32 = (int32_t)(uint32_t)bits; break;
    case ACC_GGUF_U64: out->as.u64 = bits; break;
    case ACC_GGUF_I64: out->as.i64 = (int64_t)bits; break;
    case ACC_GGUF_BOOL: out->as.b = bits != 0; break;
    case ACC_GGUF_F32: {
        uint32_t b32 = (uint32_t)bits;
        memcpy(&out->as.f32, &b32, 4);
        break;
    }
    case ACC_GGUF_F64: memcpy(&out->as.f64, &bits, 8); break;
    default: break;
    }
}

acc_status acc_gguf_array_get(const acc_gguf_array *array, uint64_t index, acc_gguf_value *out,
                              acc_error *err)
{
    if (index >= array->count)
        return acc_error_set(err, ACC_ERR_INPUT, "array index %llu out of range (%llu elements)",
                             (unsigned long long)index, (unsigned long long)array->count);
    if (array->items) {
        *out = array->items[index];
        return ACC_OK;
    }
    size_t size = acc_gguf_type_size(array->elem_type);
    gguf_decode_scalar(array->elem_type, array->raw + index * size, out);
    return ACC_OK;
}

/* ---- name index --------------------------------------------------------- */

static uint64_t hash_name(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

acc_status gguf_name_index_init(gguf_name_index *index, uint64_t max_entries, acc_error *err)
{
    memset(index, 0, sizeof *index);
    uint64_t capacity = 8;
    while (capacity < 2 * max_entries)
        capacity *= 2;
    index->names = acc_calloc((size_t)capacity, sizeof *index->names, err);
    index->indices = acc_calloc((size_t)capacity, sizeof *index->indices, err);
    if (!index->names || !index->indices) {
        gguf_name_index_free(index);
        return ACC_ERR_RUNTIME;
    }
    index->capacity = capacity;
    return ACC_OK;
}

void gguf_name_index_free(gguf_name_index *index)
{
    free(index->names);
    free(index->indices);
    memset(index, 0, sizeof *index);
}

void gguf_name_index_insert(gguf_name_index *index, const char *name, uint64_t value)
{
    uint64_t mask = index->capacity - 1;
    for (uint64_t slot = hash_name(name) & mask;; slot = (slot + 1) & mask) {
        if (!index->names[slot]) {
            index->names[slot] = name;
            index->indices[slot] = value;
            return;
        }
    }
}

int64_t gguf_name_index_find(const gguf_name_index *index, const char *name)
{
    if (!index->capacity)
        return -1;
    uint64_t mask = index->capacity - 1;
    for (uint64_t slot = hash_name(name) & mask; index->names[slot]; slot = (slot + 1) & mask)
        if (strcmp(index->names[slot], name) == 0)
            return (int64_t)index->indices[slot];
    return -1;
}

/* ---- typed getters ------------------------------------------------------ */

static acc_status find_value(const acc_gguf *gguf, const char *key, const acc_gguf_value **out,
                             acc_error *err)
{
    *out = acc_gguf_find(gguf, key);
    if (!*out)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: missing", acc_gguf_name(gguf), key);
    return ACC_OK;
}

static acc_status wrong_type(const acc_gguf *gguf, const char *key, const acc_gguf_value *value,
                             const char *wanted, acc_error *err)
{
    return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: expected %s, found %s", acc_gguf_name(gguf),
                         key, wanted, acc_gguf_type_name(value->type));
}

/* Integer value as (negative flag, magnitude) so any width compares exactly. */
static int value_integer(const acc_gguf_value *v, int *negative, uint64_t *magnitude)
{
    int64_t s;
    switch (v->type) {
    case ACC_GGUF_U8: *negative = 0; *magnitude = v->as.u8; return 1;
    case ACC_GGUF_U16: *negative = 0; *magnitude = v->as.u16; return 1;
    case ACC_GGUF_U32: *negative = 0; *magnitude = v->as.u32; return 1;
    case ACC_GGUF_U64: *negative = 0; *magnitude = v->as.u64; return 1;
    case ACC_GGUF_I8: s = v->as.i8; break;
    case ACC_GGUF_I16: s = v->as.i16; break;
    case ACC_GGUF_I32: s = v->as.i32; break;
    case ACC_GGUF_I64: s = v->as.i64; break;
    default: return 0;
    }
    *negative = s < 0;
    *magnitude = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    return 1;
}

static acc_status get_integer(const acc_gguf *gguf, const char *key, int64_t min, uint64_t max,
                              int *negative, uint64_t *magnitude, const char *wanted,
                              acc_error *err)
{
    const acc_gguf_value *v;
    acc_status status = find_value(gguf, key, &v, err);
    if (status != ACC_OK)
        return status;
    if (!value_integer(v, negative, magnitude))
        return wrong_type(gguf, key, v, wanted, err);
    int fits = *negative ? min < 0 && *magnitude <= (uint64_t)0 - (uint64_t)min : *magnitude <= max;
    if (!fits)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: value %s%llu does not fit in %s",
                             acc_gguf_name(gguf), key, *negative ? "-" : "",
                             (unsigned long long)*magnitude, wanted);
    return ACC_OK;
}

acc_status acc_gguf_get_u32(const acc_gguf *gguf, const char *key, uint32_t *out, acc_error *err)
{
    int neg = 0;
    uint64_t mag = 0;
    acc_status status = get_integer(gguf, key, 0, UINT32_MAX, &neg, &mag, "u32", err);
    if (status == ACC_OK)
        *out = (uint32_t)mag;
    return status;
}

acc_status acc_gguf_get_i32(const acc_gguf *gguf, const char *key, int32_t *out, acc_error *err)
{
    int neg = 0;
    uint64_t mag = 0;
    acc_status status = get_integer(gguf, key, INT32_MIN, INT32_MAX, &neg, &mag, "i32", err);
    if (status == ACC_OK)
        *out = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
    return status;
}

acc_status acc_gguf_get_u64(const acc_gguf *gguf, const char *key, uint64_t *out, acc_error *err)
{
    int neg = 0;
    uint64_t mag = 0;
    acc_status status = get_integer(gguf, key, 0, UINT64_MAX, &neg, &mag, "u64", err);
    if (status == ACC_OK)
        *out = mag;
    return status;
}

acc_status acc_gguf_get_f32(const acc_gguf *gguf, const char *key, float *out, acc_error *err)
{
    const acc_gguf_value *v;
    acc_status status = find_value(gguf, key, &v, err);
    if (status != ACC_OK)
        return status;
    if (v->type == ACC_GGUF_F32)
        *out = v->as.f32;
    else if (v->type == ACC_GGUF_F64 && (!isfinite(v->as.f64) || fabs(v->as.f64) <= 3.4e38))
        *out = (float)v->as.f64;
    else if (v->type == ACC_GGUF_F64)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: value %g does not fit in f32",
                             acc_gguf_name(gguf), key, v->as.f64);
    else
        return wrong_type(gguf, key, v, "f32", err);
    return ACC_OK;
}

acc_status acc_gguf_get_bool(const acc_gguf *gguf, const char *key, bool *out, acc_error *err)
{
    const acc_gguf_value *v;
    acc_status status = find_value(gguf, key, &v, err);
    if (status != ACC_OK)
        return status;
    if (v->type != ACC_GGUF_BOOL)
        return wrong_type(gguf, key, v, "bool", err);
    *out = v->as.b;
    return ACC_OK;
}

acc_status acc_gguf_get_string(const acc_gguf *gguf, const char *key, acc_gguf_string *out,
                               acc_error *err)
{
    const acc_gguf_value *v;
    acc_status status = find_value(gguf, key, &v, err);
    if (status != ACC_OK)
        return status;
    if (v->type != ACC_GGUF_STRING)
        return wrong_type(gguf, key, v, "string", err);
    *out = v->as.str;
    return ACC_OK;
}

acc_status acc_gguf_get_string_dup(const acc_gguf *gguf, const char *key, char **out,
                                   acc_error *err)
{
    *out = NULL;
    acc_gguf_string s = {0};
    acc_status status = acc_gguf_get_string(gguf, key, &s, err);
    if (status != ACC_OK)
        return status;
    if (memchr(s.data, '\0', (size_t)s.size))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: string contains a NUL byte",
                             acc_gguf_name(gguf), key);
    *out = acc_malloc((size_t)s.size + 1, err);
    if (!*out)
        return ACC_ERR_RUNTIME;
    memcpy(*out, s.data, (size_t)s.size);
    (*out)[s.size] = '\0';
    return ACC_OK;
}

acc_status acc_gguf_get_array(const acc_gguf *gguf, const char *key, acc_gguf_type elem_type,
                              const acc_gguf_array **out, acc_error *err)
{
    const acc_gguf_value *v;
    acc_status status = find_value(gguf, key, &v, err);
    if (status != ACC_OK)
        return status;
    if (v->type != ACC_GGUF_ARRAY)
        return wrong_type(gguf, key, v, "array", err);
    if (elem_type != ACC_GGUF_TYPE_COUNT && v->as.arr.elem_type != elem_type)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s: expected an array of %s, found %s",
                             acc_gguf_name(gguf), key, acc_gguf_type_name(elem_type),
                             acc_gguf_type_name(v->as.arr.elem_type));
    *out = &v->as.arr;
    return ACC_OK;
}

/* ---- tensors ------------------------------------------------------------ */

int64_t acc_gguf_tensor_elements(const acc_gguf_tensor *tensor)
{
    int64_t n = 1;
    for (int d = 0; d < ACC_MAX_DIMS; d++)
        n *= tensor->ne[d]; /* the reader and writer refuse overflowing shapes */
    return n;
}

acc_status acc_gguf_tensor_view(const acc_gguf_tensor *tensor, const char *file,
                                acc_tensor_view *out, acc_error *err)
{
    acc_dtype dtype;
    switch (tensor->type) {
    case ACC_GGML_F32: dtype = ACC_DTYPE_F32; break;
    case ACC_GGML_F16: dtype = ACC_DTYPE_F16; break;
    case ACC_GGML_BF16: dtype = ACC_DTYPE_BF16; break;
    default:
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: tensor '%s': type %s has no plain tensor view (dequantize it)",
                             file ? file : "gguf", tensor->name, acc_ggml_type_name(tensor->type));
    }
    memset(out, 0, sizeof *out);
    out->name = tensor->name;
    out->file = file;
    out->dtype = dtype;
    out->n_dims = tensor->n_dims;
    for (int d = 0; d < tensor->n_dims; d++)
        out->shape[d] = tensor->ne[tensor->n_dims - 1 - d];
    out->data = tensor->data;
    out->nbytes = tensor->nbytes;
    return ACC_OK;
}
