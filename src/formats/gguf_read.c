/*
 * gguf_read.c — parses and validates a GGUF (v2/v3) file image.
 *
 * The file is untrusted (llama.cpp's own parser has had several security
 * bugs): every count is checked against the bytes that remain before
 * anything is allocated, so a forged 2^63 costs nothing; strings, arrays and
 * tensor data must lie inside the image; sizes are overflow-checked.  Errors
 * name the file, the byte offset and the field, key or tensor.  String
 * values and tensor data point into the caller's buffer.
 */
#include "accinf/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf_internal.h"

struct acc_gguf {
    acc_mapped_file file; /* only when opened from a path */
    const uint8_t *data;
    size_t size;
    char *name;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    char **keys;
    acc_gguf_value *values;
    uint64_t n_tensors;
    acc_gguf_tensor *tensors;
    gguf_name_index key_index;
    gguf_name_index tensor_index;
};

/* A read position in the image; every read checks the bytes that remain. */
typedef struct cursor {
    const uint8_t *data;
    size_t size;
    size_t pos;
    const char *name;
    acc_error *err;
    char context[160]; /* "key 'x': " or "tensor 'y': " while inside one */
} cursor;

static void cursor_context(cursor *c, const char *kind, const char *what)
{
    snprintf(c->context, sizeof c->context, "%s '%.120s': ", kind, what);
}

static size_t cursor_left(const cursor *c)
{
    return c->size - c->pos;
}

static acc_status cursor_truncated(cursor *c, const char *field, uint64_t need)
{
    return acc_error_set(c->err, ACC_ERR_INPUT,
                         "%s: offset %zu: %s%s: truncated (needs %llu bytes, %zu left)", c->name,
                         c->pos, c->context, field, (unsigned long long)need, cursor_left(c));
}

static acc_status read_bytes(cursor *c, void *out, size_t n, const char *field)
{
    if (cursor_left(c) < n)
        return cursor_truncated(c, field, n);
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
    return ACC_OK;
}

/* GGUF is little-endian; we decode byte by byte so the host order never matters. */
static acc_status read_u32(cursor *c, uint32_t *out, const char *field)
{
    uint8_t b[4] = {0};
    acc_status status = read_bytes(c, b, 4, field);
    if (status == ACC_OK)
        *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return status;
}

static acc_status read_u64(cursor *c, uint64_t *out, const char *field)
{
    uint8_t b[8] = {0};
    acc_status status = read_bytes(c, b, 8, field);
    if (status == ACC_OK) {
        *out = 0;
        for (int i = 7; i >= 0; i--)
            *out = *out << 8 | b[i];
    }
    return status;
}

static acc_status read_string(cursor *c, acc_gguf_string *out, const char *field)
{
    size_t at = c->pos;
    uint64_t length;
    acc_status status = read_u64(c, &length, field);
    if (status != ACC_OK)
        return status;
    if (length > cursor_left(c))
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: %s%s: string length %llu is longer than the %zu "
                             "bytes left in the file",
                             c->name, at, c->context, field, (unsigned long long)length, cursor_left(c));
    out->data = (const char *)c->data + c->pos;
    out->size = length;
    c->pos += (size_t)length;
    return ACC_OK;
}

/* A NUL-terminated copy of a key or tensor name (refusing embedded NULs,
 * which a C string cannot carry). */
static char *string_dup_checked(cursor *c, acc_gguf_string s, size_t at, const char *field)
{
    if (memchr(s.data, '\0', (size_t)s.size)) {
        acc_error_set(c->err, ACC_ERR_INPUT, "%s: offset %zu: %s: contains a NUL byte", c->name,
                      at, field);
        return NULL;
    }
    char *copy = acc_malloc((size_t)s.size + 1, c->err);
    if (copy) {
        memcpy(copy, s.data, (size_t)s.size);
        copy[s.size] = '\0';
    }
    return copy;
}

/* Smallest encoding of one element of a type, for bounding counts. */
static uint64_t min_encoded_size(acc_gguf_type type)
{
    if (type == ACC_GGUF_STRING)
        return 8; /* u64 length */
    if (type == ACC_GGUF_ARRAY)
        return 12; /* u32 element type + u64 count */
    return acc_gguf_type_size(type);
}

static acc_status parse_value(cursor *c, acc_gguf_type type, int depth, acc_gguf_value *out,
                              const char *key);

static acc_status parse_array(cursor *c, int depth, acc_gguf_array *arr, const char *key)
{
    size_t at = c->pos;
    uint32_t elem_type;
    uint64_t count;
    acc_status status = read_u32(c, &elem_type, "array element type");
    if (status == ACC_OK)
        status = read_u64(c, &count, "array count");
    if (status != ACC_OK)
        return status;
    if (elem_type >= ACC_GGUF_TYPE_COUNT)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: key '%s': unknown array element type %u", c->name,
                             at, key, elem_type);
    if (elem_type == ACC_GGUF_ARRAY && depth + 1 >= ACC_GGUF_MAX_ARRAY_DEPTH)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: key '%s': arrays nested deeper than %d", c->name, at,
                             key, ACC_GGUF_MAX_ARRAY_DEPTH);
    /* Every element takes at least min bytes, so this bounds the allocation
     * below by the file size before anything is allocated. */
    uint64_t min = min_encoded_size((acc_gguf_type)elem_type);
    if (count > cursor_left(c) / min)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: key '%s': array of %llu %s elements is longer than "
                             "the %zu bytes left in the file",
                             c->name, at, key, (unsigned long long)count,
                             acc_gguf_type_name((acc_gguf_type)elem_type), cursor_left(c));
    arr->elem_type = (acc_gguf_type)elem_type;
    arr->count = count;
    if (elem_type != ACC_GGUF_STRING && elem_type != ACC_GGUF_ARRAY) {
        arr->raw = c->data + c->pos;
        c->pos += (size_t)(count * min);
        if (elem_type == ACC_GGUF_BOOL) {
            for (uint64_t i = 0; i < count; i++)
                if (arr->raw[i] > 1)
                    return acc_error_set(c->err, ACC_ERR_INPUT,
                                         "%s: offset %zu: key '%s': bool element %llu is %u, "
                                         "not 0 or 1",
                                         c->name, (size_t)(arr->raw - c->data + i), key,
                                         (unsigned long long)i, arr->raw[i]);
        }
        return ACC_OK;
    }
    if (count == 0)
        return ACC_OK;
    arr->items = acc_calloc((size_t)count, sizeof *arr->items, c->err);
    if (!arr->items)
        return ACC_ERR_RUNTIME;
    for (uint64_t i = 0; i < count; i++) {
        status = parse_value(c, (acc_gguf_type)elem_type, depth + 1, &arr->items[i], key);
        if (status != ACC_OK) {
            arr->count = i + 1; /* free only what was parsed (and the failed one's partial) */
            return status;
        }
    }
    return ACC_OK;
}

static acc_status parse_value(cursor *c, acc_gguf_type type, int depth, acc_gguf_value *out,
                              const char *key)
{
    out->type = type;
    size_t at = c->pos;
    acc_status status = ACC_OK;
    switch (type) {
    case ACC_GGUF_STRING:
        status = read_string(c, &out->as.str, "string value");
        break;
    case ACC_GGUF_ARRAY:
        return parse_array(c, depth, &out->as.arr, key);
    case ACC_GGUF_BOOL: {
        uint8_t b = 0;
        status = read_bytes(c, &b, 1, "bool value");
        if (status == ACC_OK && b > 1)
            return acc_error_set(c->err, ACC_ERR_INPUT,
                                 "%s: offset %zu: key '%s': bool value is %u, not 0 or 1",
                                 c->name, at, key, b);
        out->as.b = b != 0;
        break;
    }
    default: {
        size_t size = acc_gguf_type_size(type);
        uint8_t b[8] = {0};
        status = read_bytes(c, b, size, "value");
        if (status == ACC_OK)
            gguf_decode_scalar(type, b, out);
        break;
    }
    }
    if (status != ACC_OK)
        return status;
    return ACC_OK;
}

static void value_free(acc_gguf_value *value)
{
    if (value->type != ACC_GGUF_ARRAY || !value->as.arr.items)
        return;
    for (uint64_t i = 0; i < value->as.arr.count; i++)
        value_free(&value->as.arr.items[i]);
    free(value->as.arr.items);
    value->as.arr.items = NULL;
}

void acc_gguf_close(acc_gguf *gguf)
{
    if (!gguf)
        return;
    if (gguf->keys) {
        for (uint64_t i = 0; i < gguf->n_kv; i++)
            free(gguf->keys[i]);
        free(gguf->keys);
    }
    if (gguf->values) {
        for (uint64_t i = 0; i < gguf->n_kv; i++)
            value_free(&gguf->values[i]);
        free(gguf->values);
    }
    if (gguf->tensors) {
        for (uint64_t i = 0; i < gguf->n_tensors; i++)
            free((char *)gguf->tensors[i].name);
        free(gguf->tensors);
    }
    gguf_name_index_free(&gguf->key_index);
    gguf_name_index_free(&gguf->tensor_index);
    free(gguf->name);
    acc_mapped_file_close(&gguf->file);
    free(gguf);
}

static acc_status parse_header(cursor *c, acc_gguf *g)
{
    if (c->size < 4)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 0: magic: truncated header (file has %zu bytes)", c->name,
                             c->size);
    if (memcmp(c->data, "GGUF", 4) != 0)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 0: wrong magic %02x %02x %02x %02x (expected \"GGUF\")",
                             c->name, c->data[0], c->data[1], c->data[2], c->data[3]);
    c->pos = 4;
    if (c->size < 24)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: truncated header: needs 24 bytes (magic, version, tensor and "
                             "key/value counts), file has %zu",
                             c->name, c->size);
    read_u32(c, &g->version, "version");
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 4: version: big-endian GGUF is not supported", c->name);
    if (g->version != 2 && g->version != 3)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 4: unsupported version %u (expected 2 or 3)", c->name,
                             g->version);
    read_u64(c, &g->n_tensors, "tensor count");
    read_u64(c, &g->n_kv, "key/value count");
    /* A key/value pair takes at least 13 bytes (key length, type, one byte of
     * value) and a tensor info 24; larger counts cannot fit in the file. */
    if (g->n_kv > cursor_left(c) / 13)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 16: key/value count %llu is impossible in a file of %zu "
                             "bytes",
                             c->name, (unsigned long long)g->n_kv, c->size);
    if (g->n_tensors > cursor_left(c) / 24)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset 8: tensor count %llu is impossible in a file of %zu bytes",
                             c->name, (unsigned long long)g->n_tensors, c->size);
    return ACC_OK;
}

static acc_status parse_kvs(cursor *c, acc_gguf *g)
{
    uint64_t n = g->n_kv;
    g->n_kv = 0; /* counts what is filled, for close() */
    if (n) {
        g->keys = acc_calloc((size_t)n, sizeof *g->keys, c->err);
        g->values = acc_calloc((size_t)n, sizeof *g->values, c->err);
        if (!g->keys || !g->values)
            return ACC_ERR_RUNTIME;
    }
    if (gguf_name_index_init(&g->key_index, n, c->err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    char field[64];
    for (uint64_t i = 0; i < n; i++) {
        size_t at = c->pos;
        c->context[0] = '\0';
        snprintf(field, sizeof field, "key %llu", (unsigned long long)i);
        acc_gguf_string key;
        acc_status status = read_string(c, &key, field);
        if (status != ACC_OK)
            return status;
        g->keys[i] = string_dup_checked(c, key, at, field);
        if (!g->keys[i])
            return c->err ? c->err->status : ACC_ERR_INPUT;
        g->n_kv = i + 1;
        cursor_context(c, "key", g->keys[i]);
        if (gguf_name_index_find(&g->key_index, g->keys[i]) >= 0)
            return acc_error_set(c->err, ACC_ERR_INPUT, "%s: offset %zu: duplicate key '%s'",
                                 c->name, at, g->keys[i]);
        gguf_name_index_insert(&g->key_index, g->keys[i], i);
        size_t type_at = c->pos;
        uint32_t type;
        status = read_u32(c, &type, "value type");
        if (status != ACC_OK)
            return status;
        if (type >= ACC_GGUF_TYPE_COUNT)
            return acc_error_set(c->err, ACC_ERR_INPUT,
                                 "%s: offset %zu: key '%s': unknown value type %u", c->name,
                                 type_at, g->keys[i], type);
        status = parse_value(c, (acc_gguf_type)type, 0, &g->values[i], g->keys[i]);
        if (status != ACC_OK)
            return status;
    }
    return ACC_OK;
}

static acc_status parse_alignment(cursor *c, acc_gguf *g)
{
    g->alignment = ACC_GGUF_DEFAULT_ALIGNMENT;
    const acc_gguf_value *value = acc_gguf_find(g, "general.alignment");
    if (!value)
        return ACC_OK;
    if (value->type != ACC_GGUF_U32)
        return acc_error_set(c->err, ACC_ERR_INPUT, "%s: general.alignment: must be u32, not %s",
                             c->name, acc_gguf_type_name(value->type));
    uint32_t a = value->as.u32;
    if (a == 0 || (a & (a - 1)) != 0)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: general.alignment: %u is not a power of two", c->name, a);
    g->alignment = a;
    return ACC_OK;
}

static acc_status parse_tensor_info(cursor *c, acc_gguf *g, uint64_t i)
{
    acc_gguf_tensor *t = &g->tensors[i];
    size_t at = c->pos;
    c->context[0] = '\0';
    char field[64];
    snprintf(field, sizeof field, "tensor %llu name", (unsigned long long)i);
    acc_gguf_string name;
    acc_status status = read_string(c, &name, field);
    if (status != ACC_OK)
        return status;
    t->name = string_dup_checked(c, name, at, field);
    if (!t->name)
        return c->err ? c->err->status : ACC_ERR_INPUT;
    g->n_tensors = i + 1;
    const char *tn = t->name;
    cursor_context(c, "tensor", tn);
    if (gguf_name_index_find(&g->tensor_index, tn) >= 0)
        return acc_error_set(c->err, ACC_ERR_INPUT, "%s: offset %zu: duplicate tensor name '%s'",
                             c->name, at, tn);
    gguf_name_index_insert(&g->tensor_index, tn, i);

    size_t dims_at = c->pos;
    uint32_t n_dims;
    if ((status = read_u32(c, &n_dims, "n_dims")) != ACC_OK)
        return status;
    if (n_dims > ACC_MAX_DIMS)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': %u dimensions (at most %d)", c->name,
                             dims_at, tn, n_dims, ACC_MAX_DIMS);
    t->n_dims = (int)n_dims;
    uint64_t elements = 1;
    int overflow = 0;
    for (int d = 0; d < ACC_MAX_DIMS; d++) {
        uint64_t dim = 1;
        if ((uint32_t)d < n_dims) {
            size_t dim_at = c->pos;
            if ((status = read_u64(c, &dim, "dimension")) != ACC_OK)
                return status;
            if (dim > (uint64_t)INT64_MAX)
                return acc_error_set(c->err, ACC_ERR_INPUT,
                                     "%s: offset %zu: tensor '%s': dimension %d is %llu (above "
                                     "INT64_MAX)",
                                     c->name, dim_at, tn, d, (unsigned long long)dim);
        }
        t->ne[d] = (int64_t)dim;
        /* every partial product must fit in int64, not only the final one
         * (a zero dimension would hide an overflow before it) */
        overflow |= acc_mul_overflow_u64(elements, dim, &elements) || elements > (uint64_t)INT64_MAX;
    }
    if (overflow)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': dimension product overflows "
                             "(%lld x %lld x %lld x %lld)",
                             c->name, dims_at, tn, (long long)t->ne[0], (long long)t->ne[1],
                             (long long)t->ne[2], (long long)t->ne[3]);

    size_t type_at = c->pos;
    uint32_t type;
    if ((status = read_u32(c, &type, "type")) != ACC_OK)
        return status;
    if (!acc_ggml_type_valid(type))
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': unknown ggml type id %u", c->name,
                             type_at, tn, type);
    t->type = (acc_ggml_type)type;
    int64_t block = acc_ggml_block_size(t->type);
    if (t->ne[0] % block != 0)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': row of %lld elements is not a multiple "
                             "of the %s block size %lld",
                             c->name, dims_at, tn, (long long)t->ne[0], acc_ggml_type_name(t->type),
                             (long long)block);
    uint64_t row_bytes;
    if (acc_ggml_row_bytes(t->type, t->ne[0], &row_bytes) != 0 ||
        acc_mul_overflow_u64(row_bytes, elements / (t->ne[0] ? (uint64_t)t->ne[0] : 1),
                             &t->nbytes))
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': byte size overflows", c->name, dims_at,
                             tn);
    if (t->ne[0] == 0)
        t->nbytes = 0;
    size_t offset_at = c->pos;
    if ((status = read_u64(c, &t->offset, "data offset")) != ACC_OK)
        return status;
    if (t->offset % g->alignment != 0)
        return acc_error_set(c->err, ACC_ERR_INPUT,
                             "%s: offset %zu: tensor '%s': data offset %llu is misaligned (not a "
                             "multiple of the alignment %u)",
                             c->name, offset_at, tn, (unsigned long long)t->offset, g->alignment);
    return ACC_OK;
}

/* Runs after all infos are read, when the data section's start is known. */
static acc_status check_tensor_data(cursor *c, acc_gguf *g)
{
    uint64_t data_size = g->data_offset <= c->size ? c->size - g->data_offset : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        acc_gguf_tensor *t = &g->tensors[i];
        uint64_t end;
        if (acc_add_overflow_u64(t->offset, t->nbytes, &end) || end > data_size)
            return acc_error_set(c->err, ACC_ERR_INPUT,
                                 "%s: tensor '%s': data [%llu, +%llu bytes) lies outside the data "
                                 "section (%llu bytes at file offset %llu)",
                                 c->name, t->name, (unsigned long long)t->offset,
                                 (unsigned long long)t->nbytes, (unsigned long long)data_size,
                                 (unsigned long long)g->data_offset);
        t->data = t->nbytes ? c->data + g->data_offset + t->offset : NULL;
    }
    return ACC_OK;
}

acc_status acc_gguf_parse(const uint8_t *data, size_t size, const char *name, acc_gguf **out,
                          acc_error *err)
{
    *out = NULL;
    acc_gguf *g = acc_calloc(1, sizeof *g, err);
    if (!g)
        return ACC_ERR_RUNTIME;
    g->data = data;
    g->size = size;
    g->name = acc_strdup(name ? name : "gguf", err);
    if (!g->name) {
        free(g);
        return ACC_ERR_RUNTIME;
    }
    cursor c = {data, size, 0, g->name, err, ""};
    acc_status status = parse_header(&c, g);
    uint64_t n_tensors = g->n_tensors;
    g->n_tensors = 0; /* counts what is filled, for close() */
    if (status == ACC_OK)
        status = parse_kvs(&c, g);
    if (status == ACC_OK)
        status = parse_alignment(&c, g);
    if (status == ACC_OK && n_tensors) {
        g->tensors = acc_calloc((size_t)n_tensors, sizeof *g->tensors, err);
        if (!g->tensors)
            status = ACC_ERR_RUNTIME;
    }
    if (status == ACC_OK)
        status = gguf_name_index_init(&g->tensor_index, n_tensors, err);
    for (uint64_t i = 0; status == ACC_OK && i < n_tensors; i++)
        status = parse_tensor_info(&c, g, i);
    if (status == ACC_OK) {
        uint64_t mask = (uint64_t)g->alignment - 1;
        g->data_offset = ((uint64_t)c.pos + mask) & ~mask;
        status = check_tensor_data(&c, g);
    }
    if (status != ACC_OK) {
        acc_gguf_close(g);
        return status;
    }
    *out = g;
    return ACC_OK;
}

acc_status acc_gguf_open(const char *path, acc_gguf **out, acc_error *err)
{
    *out = NULL;
    acc_mapped_file file;
    acc_status status = acc_mapped_file_open(&file, path, err);
    if (status != ACC_OK)
        return status;
    status = acc_gguf_parse(file.data, file.size, path, out, err);
    if (status != ACC_OK) {
        acc_mapped_file_close(&file);
        return status;
    }
    (*out)->file = file;
    return ACC_OK;
}

uint32_t acc_gguf_version(const acc_gguf *gguf) { return gguf->version; }
uint32_t acc_gguf_alignment(const acc_gguf *gguf) { return gguf->alignment; }
uint64_t acc_gguf_data_offset(const acc_gguf *gguf) { return gguf->data_offset; }
const char *acc_gguf_name(const acc_gguf *gguf) { return gguf->name; }
uint64_t acc_gguf_kv_count(const acc_gguf *gguf) { return gguf->n_kv; }
uint64_t acc_gguf_tensor_count(const acc_gguf *gguf) { return gguf->n_tensors; }

const char *acc_gguf_kv_key(const acc_gguf *gguf, uint64_t index)
{
    return index < gguf->n_kv ? gguf->keys[index] : NULL;
}

const acc_gguf_value *acc_gguf_kv_value(const acc_gguf *gguf, uint64_t index)
{
    return index < gguf->n_kv ? &gguf->values[index] : NULL;
}

const acc_gguf_value *acc_gguf_find(const acc_gguf *gguf, const char *key)
{
    int64_t index = gguf_name_index_find(&gguf->key_index, key);
    return index >= 0 ? &gguf->values[index] : NULL;
}

const acc_gguf_tensor *acc_gguf_tensor_at(const acc_gguf *gguf, uint64_t index)
{
    return index < gguf->n_tensors ? &gguf->tensors[index] : NULL;
}

const acc_gguf_tensor *acc_gguf_find_tensor(const acc_gguf *gguf, const char *name)
{
    int64_t index = gguf_name_index_find(&gguf->tensor_index, name);
    return index >= 0 ? &gguf->tensors[index] : NULL;
}
