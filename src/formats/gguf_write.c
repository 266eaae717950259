/*
 * gguf_write.c — builds GGUF v3 files: metadata set in any order, tensors
 * laid out the way llama.cpp's writer does (in order, each padded to the
 * alignment, offsets relative to the aligned data section), streamed to a
 * temp file that is fsynced and renamed over the target, so an interrupted
 * conversion never leaves a half-written model behind.
 */
#include "accinf/gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/gguf_internal.h"

typedef struct writer_kv {
    char *key;
    acc_gguf_value value; /* owns its strings, raw bytes and items */
} writer_kv;

typedef struct writer_tensor {
    char *name;
    acc_ggml_type type;
    int n_dims;
    int64_t ne[ACC_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
    acc_gguf_fill_fn fill;
    void *user;
} writer_tensor;

struct acc_gguf_writer {
    writer_kv *kvs;
    size_t n_kvs, cap_kvs;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
};

/* ---- owned values ------------------------------------------------------- */

static void owned_value_free(acc_gguf_value *v)
{
    if (v->type == ACC_GGUF_STRING) {
        free((char *)v->as.str.data);
    } else if (v->type == ACC_GGUF_ARRAY) {
        free((uint8_t *)v->as.arr.raw);
        if (v->as.arr.items) {
            for (uint64_t i = 0; i < v->as.arr.count; i++)
                owned_value_free(&v->as.arr.items[i]);
            free(v->as.arr.items);
        }
    }
    memset(v, 0, sizeof *v);
}

static acc_status value_copy(acc_gguf_value *dst, const acc_gguf_value *src, int depth,
                             acc_error *err)
{
    memset(dst, 0, sizeof *dst);
    if ((unsigned)src->type >= ACC_GGUF_TYPE_COUNT)
        return acc_error_set(err, ACC_ERR_INPUT, "value: unknown type %d", (int)src->type);
    dst->type = src->type;
    if (src->type == ACC_GGUF_STRING) {
        char *copy = acc_malloc((size_t)src->as.str.size + 1, err);
        if (!copy)
            return ACC_ERR_RUNTIME;
        if (src->as.str.size)
            memcpy(copy, src->as.str.data, (size_t)src->as.str.size);
        copy[src->as.str.size] = '\0';
        dst->as.str.data = copy;
        dst->as.str.size = src->as.str.size;
        return ACC_OK;
    }
    if (src->type != ACC_GGUF_ARRAY) {
        dst->as = src->as;
        return ACC_OK;
    }
    const acc_gguf_array *a = &src->as.arr;
    if ((unsigned)a->elem_type >= ACC_GGUF_TYPE_COUNT)
        return acc_error_set(err, ACC_ERR_INPUT, "array: unknown element type %d",
                             (int)a->elem_type);
    if (a->elem_type == ACC_GGUF_ARRAY && depth + 1 >= ACC_GGUF_MAX_ARRAY_DEPTH)
        return acc_error_set(err, ACC_ERR_INPUT, "array: nested deeper than %d",
                             ACC_GGUF_MAX_ARRAY_DEPTH);
    dst->as.arr.elem_type = a->elem_type;
    size_t size = acc_gguf_type_size(a->elem_type);
    if (size) {
        uint64_t bytes;
        if (acc_mul_overflow_u64(a->count, size, &bytes) || bytes > SIZE_MAX)
            return acc_error_set(err, ACC_ERR_INPUT, "array: %llu elements is too many",
                                 (unsigned long long)a->count);
        uint8_t *raw = acc_malloc(bytes ? (size_t)bytes : 1, err);
        if (!raw)
            return ACC_ERR_RUNTIME;
        if (bytes)
            memcpy(raw, a->raw, (size_t)bytes);
        dst->as.arr.raw = raw;
        dst->as.arr.count = a->count;
        return ACC_OK;
    }
    if (a->count > SIZE_MAX / sizeof(acc_gguf_value))
        return acc_error_set(err, ACC_ERR_INPUT, "array: %llu elements is too many",
                             (unsigned long long)a->count);
    if (a->count == 0)
        return ACC_OK;
    dst->as.arr.items = acc_calloc((size_t)a->count, sizeof *dst->as.arr.items, err);
    if (!dst->as.arr.items)
        return ACC_ERR_RUNTIME;
    for (uint64_t i = 0; i < a->count; i++) {
        dst->as.arr.count = i + 1;
        if (a->items[i].type != a->elem_type) {
            owned_value_free(dst);
            return acc_error_set(err, ACC_ERR_INPUT, "array: element %llu is %s, not %s",
                                 (unsigned long long)i, acc_gguf_type_name(a->items[i].type),
                                 acc_gguf_type_name(a->elem_type));
        }
        acc_status status = value_copy(&dst->as.arr.items[i], &a->items[i], depth + 1, err);
        if (status != ACC_OK) {
            owned_value_free(dst);
            return status;
        }
    }
    return ACC_OK;
}

/* ---- builder ------------------------------------------------------------ */

acc_status acc_gguf_writer_create(acc_gguf_writer **out, acc_error *err)
{
    *out = acc_calloc(1, sizeof **out, err);
    return *out ? ACC_OK : ACC_ERR_RUNTIME;
}

void acc_gguf_writer_destroy(acc_gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kvs; i++) {
        free(w->kvs[i].key);
        owned_value_free(&w->kvs[i].value);
    }
    free(w->kvs);
    for (size_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    free(w);
}

static int grow(void **items, size_t *cap, size_t n, size_t item_size, acc_error *err)
{
    if (n < *cap)
        return 0;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, new_cap * item_size);
    if (!grown) {
        acc_error_set(err, ACC_ERR_RUNTIME, "gguf writer: out of memory");
        return -1;
    }
    *items = grown;
    *cap = new_cap;
    return 0;
}

acc_status acc_gguf_writer_set_value(acc_gguf_writer *w, const char *key,
                                     const acc_gguf_value *value, acc_error *err)
{
    if (!key || !*key)
        return acc_error_set(err, ACC_ERR_INPUT, "gguf writer: empty metadata key");
    acc_gguf_value copy;
    acc_status status = value_copy(&copy, value, 0, err);
    if (status != ACC_OK)
        return acc_error_wrap(err, "gguf writer: %s", key);
    for (size_t i = 0; i < w->n_kvs; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            owned_value_free(&w->kvs[i].value);
            w->kvs[i].value = copy;
            return ACC_OK;
        }
    }
    char *key_copy = acc_strdup(key, err);
    if (!key_copy || grow((void **)&w->kvs, &w->cap_kvs, w->n_kvs, sizeof *w->kvs, err) != 0) {
        free(key_copy);
        owned_value_free(&copy);
        return ACC_ERR_RUNTIME;
    }
    w->kvs[w->n_kvs].key = key_copy;
    w->kvs[w->n_kvs].value = copy;
    w->n_kvs++;
    return ACC_OK;
}

#define DEFINE_SETTER(suffix, ctype, tag, field)                                                 \
    acc_status acc_gguf_writer_set_##suffix(acc_gguf_writer *w, const char *key, ctype v,        \
                                            acc_error *err)                                      \
    {                                                                                            \
        acc_gguf_value value = {.type = tag};                                                    \
        value.as.field = v;                                                                      \
        return acc_gguf_writer_set_value(w, key, &value, err);                                   \
    }
DEFINE_SETTER(u8, uint8_t, ACC_GGUF_U8, u8)
DEFINE_SETTER(i8, int8_t, ACC_GGUF_I8, i8)
DEFINE_SETTER(u16, uint16_t, ACC_GGUF_U16, u16)
DEFINE_SETTER(i16, int16_t, ACC_GGUF_I16, i16)
DEFINE_SETTER(u32, uint32_t, ACC_GGUF_U32, u32)
DEFINE_SETTER(i32, int32_t, ACC_GGUF_I32, i32)
DEFINE_SETTER(u64, uint64_t, ACC_GGUF_U64, u64)
DEFINE_SETTER(i64, int64_t, ACC_GGUF_I64, i64)
DEFINE_SETTER(f32, float, ACC_GGUF_F32, f32)
DEFINE_SETTER(f64, double, ACC_GGUF_F64, f64)
DEFINE_SETTER(bool, bool, ACC_GGUF_BOOL, b)

acc_status acc_gguf_writer_set_string_n(acc_gguf_writer *w, const char *key, const char *v,
                                        uint64_t size, acc_error *err)
{
    acc_gguf_value value = {.type = ACC_GGUF_STRING};
    value.as.str.data = v;
    value.as.str.size = size;
    return acc_gguf_writer_set_value(w, key, &value, err);
}

acc_status acc_gguf_writer_set_string(acc_gguf_writer *w, const char *key, const char *v,
                                      acc_error *err)
{
    return acc_gguf_writer_set_string_n(w, key, v, strlen(v), err);
}

acc_status acc_gguf_writer_set_array(acc_gguf_writer *w, const char *key, acc_gguf_type elem_type,
                                     const void *data, uint64_t count, acc_error *err)
{
    if (acc_gguf_type_size(elem_type) == 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "gguf writer: %s: set_array needs a fixed-size element type, not %s",
                             key, acc_gguf_type_name(elem_type));
    acc_gguf_value value = {.type = ACC_GGUF_ARRAY};
    value.as.arr.elem_type = elem_type;
    value.as.arr.count = count;
    value.as.arr.raw = data;
    return acc_gguf_writer_set_value(w, key, &value, err);
}

acc_status acc_gguf_writer_set_string_array(acc_gguf_writer *w, const char *key,
                                            const char *const *strings, uint64_t count,
                                            acc_error *err)
{
    if (count > SIZE_MAX / sizeof(acc_gguf_value))
        return acc_error_set(err, ACC_ERR_INPUT, "gguf writer: %s: too many strings", key);
    acc_gguf_value *items = count ? acc_calloc((size_t)count, sizeof *items, err) : NULL;
    if (count && !items)
        return ACC_ERR_RUNTIME;
    for (uint64_t i = 0; i < count; i++) {
        items[i].type = ACC_GGUF_STRING;
        items[i].as.str.data = strings[i];
        items[i].as.str.size = strlen(strings[i]);
    }
    acc_gguf_value value = {.type = ACC_GGUF_ARRAY};
    value.as.arr.elem_type = ACC_GGUF_STRING;
    value.as.arr.count = count;
    value.as.arr.items = items;
    acc_status status = acc_gguf_writer_set_value(w, key, &value, err);
    free(items);
    return status;
}

static acc_status add_tensor(acc_gguf_writer *w, const char *name, acc_ggml_type type, int n_dims,
                             const int64_t *ne, const void *data, uint64_t nbytes, int check_size,
                             acc_gguf_fill_fn fill, void *user, acc_error *err)
{
    if (!name || !*name || strlen(name) > ACC_GGUF_MAX_TENSOR_NAME)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "gguf writer: tensor name '%s' must have 1 to %d bytes",
                             name ? name : "", ACC_GGUF_MAX_TENSOR_NAME);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return acc_error_set(err, ACC_ERR_INPUT, "gguf writer: duplicate tensor name '%s'",
                                 name);
    if (!acc_ggml_type_valid((uint32_t)type))
        return acc_error_set(err, ACC_ERR_INPUT, "gguf writer: tensor '%s': unknown type %d",
                             name, (int)type);
    if (n_dims < 1 || n_dims > ACC_MAX_DIMS)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "gguf writer: tensor '%s': %d dimensions (1 to %d)", name, n_dims,
                             ACC_MAX_DIMS);
    writer_tensor t = {.type = type, .n_dims = n_dims, .data = data, .fill = fill, .user = user};
    uint64_t elements = 1;
    for (int d = 0; d < ACC_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 0 || acc_mul_overflow_u64(elements, (uint64_t)t.ne[d], &elements) ||
            elements > (uint64_t)INT64_MAX)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "gguf writer: tensor '%s': bad shape (negative or overflowing)",
                                 name);
    }
    uint64_t row_bytes;
    if (acc_ggml_row_bytes(type, t.ne[0], &row_bytes) != 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "gguf writer: tensor '%s': row of %lld elements is not a multiple "
                             "of the %s block size",
                             name, (long long)t.ne[0], acc_ggml_type_name(type));
    t.nbytes = t.ne[0] ? row_bytes * (elements / (uint64_t)t.ne[0]) : 0;
    if (check_size && nbytes != t.nbytes)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "gguf writer: tensor '%s': %llu bytes given, shape and type %s "
                             "need %llu",
                             name, (unsigned long long)nbytes, acc_ggml_type_name(type),
                             (unsigned long long)t.nbytes);
    t.name = acc_strdup(name, err);
    if (!t.name)
        return ACC_ERR_RUNTIME;
    if (grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors, err) != 0) {
        free(t.name);
        return ACC_ERR_RUNTIME;
    }
    w->tensors[w->n_tensors++] = t;
    return ACC_OK;
}

acc_status acc_gguf_writer_add_tensor(acc_gguf_writer *w, const char *name, acc_ggml_type type,
                                      int n_dims, const int64_t *ne, const void *data,
                                      uint64_t nbytes, acc_error *err)
{
    return add_tensor(w, name, type, n_dims, ne, data, nbytes, 1, NULL, NULL, err);
}

acc_status acc_gguf_writer_add_tensor_fill(acc_gguf_writer *w, const char *name,
                                           acc_ggml_type type, int n_dims, const int64_t *ne,
                                           acc_gguf_fill_fn fill, void *user, acc_error *err)
{
    if (!fill)
        return acc_error_set(err, ACC_ERR_INPUT, "gguf writer: tensor '%s': no fill function",
                             name);
    return add_tensor(w, name, type, n_dims, ne, NULL, 0, 0, fill, user, err);
}

/* ---- serialisation ------------------------------------------------------ */

/* Where bytes go: a stdio stream or a growing memory buffer. */
typedef struct sink {
    FILE *stream;
    uint8_t *buffer;
    size_t size, capacity;
    uint64_t pos;
    const char *label;
    acc_error *err;
} sink;

static acc_status sink_write(sink *s, const void *data, size_t n)
{
    if (n == 0)
        return ACC_OK;
    if (s->stream) {
        if (fwrite(data, 1, n, s->stream) != n)
            return acc_error_set(s->err, ACC_ERR_RUNTIME, "%s: write failed: %s", s->label,
                                 strerror(errno));
    } else {
        if (s->size + n > s->capacity) {
            size_t cap = s->capacity ? s->capacity : 4096;
            while (cap < s->size + n)
                cap *= 2;
            uint8_t *grown = realloc(s->buffer, cap);
            if (!grown)
                return acc_error_set(s->err, ACC_ERR_RUNTIME, "%s: out of memory", s->label);
            s->buffer = grown;
            s->capacity = cap;
        }
        memcpy(s->buffer + s->size, data, n);
        s->size += n;
    }
    s->pos += n;
    return ACC_OK;
}

static acc_status sink_u32(sink *s, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return sink_write(s, b, 4);
}

static acc_status sink_u64(sink *s, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return sink_write(s, b, 8);
}

static acc_status sink_string(sink *s, const char *data, uint64_t size)
{
    acc_status status = sink_u64(s, size);
    return status == ACC_OK ? sink_write(s, data, (size_t)size) : status;
}

static acc_status sink_zeros(sink *s, uint64_t n)
{
    static const uint8_t zeros[256];
    acc_status status = ACC_OK;
    while (status == ACC_OK && n) {
        size_t chunk = n < sizeof zeros ? (size_t)n : sizeof zeros;
        status = sink_write(s, zeros, chunk);
        n -= chunk;
    }
    return status;
}

/* Scalars are encoded little-endian byte by byte: host order never leaks. */
static acc_status sink_scalar(sink *s, const acc_gguf_value *v)
{
    uint64_t bits = 0;
    switch (v->type) {
    case ACC_GGUF_U8: bits = v->as.u8; break;
    case ACC_GGUF_I8: bits = (uint8_t)v->as.i8; break;
    case ACC_GGUF_U16: bits = v->as.u16; break;
    case ACC_GGUF_I16: bits = (uint16_t)v->as.i16; break;
    case ACC_GGUF_U32: bits = v->as.u32; break;
    case ACC_GGUF_I32: bits = (uint32_t)v->as.i32; break;
    case ACC_GGUF_U64: bits = v->as.u64; break;
    case ACC_GGUF_I64: bits = (uint64_t)v->as.i64; break;
    case ACC_GGUF_BOOL: bits = v->as.b ? 1 : 0; break;
    case ACC_GGUF_F32: {
        uint32_t b32;
        memcpy(&b32, &v->as.f32, 4);
        bits = b32;
        break;
    }
    case ACC_GGUF_F64: memcpy(&bits, &v->as.f64, 8); break;
    default: break;
    }
    uint8_t b[8];
    size_t size = acc_gguf_type_size(v->type);
    for (size_t i = 0; i < size; i++)
        b[i] = (uint8_t)(bits >> (8 * i));
    return sink_write(s, b, size);
}

static acc_status sink_value(sink *s, const acc_gguf_value *v)
{
    if (v->type == ACC_GGUF_STRING)
        return sink_string(s, v->as.str.data, v->as.str.size);
    if (v->type != ACC_GGUF_ARRAY)
        return sink_scalar(s, v);
    const acc_gguf_array *a = &v->as.arr;
    acc_status status = sink_u32(s, (uint32_t)a->elem_type);
    if (status == ACC_OK)
        status = sink_u64(s, a->count);
    size_t size = acc_gguf_type_size(a->elem_type);
    if (size) {
        /* raw holds little-endian elements already (as the file does) */
        return status == ACC_OK ? sink_write(s, a->raw, (size_t)(a->count * size)) : status;
    }
    for (uint64_t i = 0; status == ACC_OK && i < a->count; i++)
        status = sink_value(s, &a->items[i]);
    return status;
}

static acc_status writer_alignment(const acc_gguf_writer *w, uint32_t *out, acc_error *err)
{
    *out = ACC_GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kvs; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0)
            continue;
        const acc_gguf_value *v = &w->kvs[i].value;
        if (v->type != ACC_GGUF_U32 || v->as.u32 == 0 || (v->as.u32 & (v->as.u32 - 1)) != 0)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "gguf writer: general.alignment must be a u32 power of two");
        *out = v->as.u32;
    }
    return ACC_OK;
}

static uint64_t pad_to(uint64_t n, uint32_t alignment)
{
    return (n + alignment - 1) / alignment * alignment;
}

static acc_status write_all(acc_gguf_writer *w, sink *s, acc_error *err)
{
    uint32_t alignment;
    acc_status status = writer_alignment(w, &alignment, err);
    if (status != ACC_OK)
        return status;
    status = sink_write(s, "GGUF", 4);
    if (status == ACC_OK)
        status = sink_u32(s, 3);
    if (status == ACC_OK)
        status = sink_u64(s, w->n_tensors);
    if (status == ACC_OK)
        status = sink_u64(s, w->n_kvs);
    for (size_t i = 0; status == ACC_OK && i < w->n_kvs; i++) {
        status = sink_string(s, w->kvs[i].key, strlen(w->kvs[i].key));
        if (status == ACC_OK)
            status = sink_u32(s, (uint32_t)w->kvs[i].value.type);
        if (status == ACC_OK)
            status = sink_value(s, &w->kvs[i].value);
    }
    uint64_t offset = 0;
    for (size_t i = 0; status == ACC_OK && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        status = sink_string(s, t->name, strlen(t->name));
        if (status == ACC_OK)
            status = sink_u32(s, (uint32_t)t->n_dims);
        for (int d = 0; status == ACC_OK && d < t->n_dims; d++)
            status = sink_u64(s, (uint64_t)t->ne[d]);
        if (status == ACC_OK)
            status = sink_u32(s, (uint32_t)t->type);
        if (status == ACC_OK)
            status = sink_u64(s, offset);
        offset += pad_to(t->nbytes, alignment);
    }
    if (status == ACC_OK)
        status = sink_zeros(s, pad_to(s->pos, alignment) - s->pos);
    for (size_t i = 0; status == ACC_OK && i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        if (t->fill) {
            void *buffer = acc_malloc(t->nbytes ? (size_t)t->nbytes : 1, err);
            if (!buffer)
                return ACC_ERR_RUNTIME;
            status = t->fill(t->user, t->name, buffer, t->nbytes, err);
            if (status == ACC_OK)
                status = sink_write(s, buffer, (size_t)t->nbytes);
            else
                acc_error_wrap(err, "gguf writer: tensor '%s'", t->name);
            free(buffer);
        } else {
            status = sink_write(s, t->data, (size_t)t->nbytes);
        }
        if (status == ACC_OK)
            status = sink_zeros(s, pad_to(t->nbytes, alignment) - t->nbytes);
    }
    return status;
}

acc_status acc_gguf_writer_write_memory(acc_gguf_writer *w, uint8_t **out, size_t *size,
                                        acc_error *err)
{
    *out = NULL;
    *size = 0;
    sink s = {.label = "gguf writer", .err = err};
    acc_status status = write_all(w, &s, err);
    if (status != ACC_OK) {
        free(s.buffer);
        return status;
    }
    *out = s.buffer;
    *size = s.size;
    return ACC_OK;
}

acc_status acc_gguf_writer_write(acc_gguf_writer *w, const char *path, acc_error *err)
{
    size_t tmp_size = strlen(path) + 32;
    char *tmp = acc_malloc(tmp_size, err);
    if (!tmp)
        return ACC_ERR_RUNTIME;
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    FILE *stream = fopen(tmp, "wb");
    if (!stream) {
        acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return ACC_ERR_RUNTIME;
    }
    setvbuf(stream, NULL, _IOFBF, 1 << 20);
    sink s = {.stream = stream, .label = path, .err = err};
    acc_status status = write_all(w, &s, err);
    if (status == ACC_OK && (fflush(stream) != 0 || fsync(fileno(stream)) != 0))
        status = acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot write: %s", path,
                               strerror(errno));
    if (fclose(stream) != 0 && status == ACC_OK)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot write: %s", path,
                               strerror(errno));
    if (status == ACC_OK && rename(tmp, path) != 0)
        status = acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot rename %s: %s", path, tmp,
                               strerror(errno));
    if (status != ACC_OK)
        unlink(tmp);
    free(tmp);
    return status;
}
