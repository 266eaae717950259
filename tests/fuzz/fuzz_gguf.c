/*
 * fuzz_gguf.c — libFuzzer target: acc_gguf_parse on raw bytes.  Any input
 * must give ACC_OK or an error, never a crash, leak or UB.  On success every
 * string, array and tensor must lie inside the input, every tensor's size
 * must match its type and shape, and every value must be readable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *fuzz_begin, *fuzz_end;
static volatile uint64_t fuzz_sink; /* keeps the reads from being optimised away */

static void check_inside(const void *p, uint64_t n)
{
    const uint8_t *q = p;
    if (n && (q < fuzz_begin || q > fuzz_end || n > (uint64_t)(fuzz_end - q)))
        abort(); /* a value escaped the buffer: a parser bug */
}

static uint64_t walk_value(const acc_gguf_value *v, int depth)
{
    if (depth > ACC_GGUF_MAX_ARRAY_DEPTH)
        abort();
    uint64_t touched = 0;
    if (v->type == ACC_GGUF_STRING) {
        check_inside(v->as.str.data, v->as.str.size);
        for (uint64_t i = 0; i < v->as.str.size; i++)
            touched += (uint8_t)v->as.str.data[i];
    } else if (v->type == ACC_GGUF_ARRAY) {
        const acc_gguf_array *a = &v->as.arr;
        if (acc_gguf_type_size(a->elem_type))
            check_inside(a->raw, a->count * acc_gguf_type_size(a->elem_type));
        for (uint64_t i = 0; i < a->count; i++) {
            acc_gguf_value item;
            if (acc_gguf_array_get(a, i, &item, NULL) != ACC_OK || item.type != a->elem_type)
                abort();
            touched += walk_value(&item, depth + 1);
        }
    }
    return touched;
}

static int values_equal(const acc_gguf_value *a, const acc_gguf_value *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == ACC_GGUF_STRING)
        return a->as.str.size == b->as.str.size &&
               memcmp(a->as.str.data, b->as.str.data, (size_t)a->as.str.size) == 0;
    if (a->type == ACC_GGUF_ARRAY) {
        const acc_gguf_array *x = &a->as.arr, *y = &b->as.arr;
        if (x->elem_type != y->elem_type || x->count != y->count)
            return 0;
        size_t size = acc_gguf_type_size(x->elem_type);
        if (size)
            return x->count == 0 || memcmp(x->raw, y->raw, (size_t)(x->count * size)) == 0;
        for (uint64_t i = 0; i < x->count; i++)
            if (!values_equal(&x->items[i], &y->items[i]))
                return 0;
        return 1;
    }
    size_t size = acc_gguf_type_size(a->type);
    acc_gguf_value ca = *a, cb = *b; /* compare only the bytes the type uses */
    return memcmp(&ca.as, &cb.as, size) == 0;
}

/* parsed -> writer -> bytes -> parsed again: same content. */
static void check_rewrite(const acc_gguf *gguf)
{
    acc_error err;
    acc_gguf_writer *w;
    if (acc_gguf_writer_create(&w, &err) != ACC_OK)
        abort();
    int accepted = 1;
    for (uint64_t i = 0; accepted && i < acc_gguf_kv_count(gguf); i++)
        accepted = acc_gguf_writer_set_value(w, acc_gguf_kv_key(gguf, i),
                                             acc_gguf_kv_value(gguf, i), &err) == ACC_OK;
    for (uint64_t i = 0; accepted && i < acc_gguf_tensor_count(gguf); i++) {
        const acc_gguf_tensor *t = acc_gguf_tensor_at(gguf, i);
        accepted = acc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data,
                                              t->nbytes, &err) == ACC_OK;
    }
    uint8_t *image = NULL;
    size_t image_size = 0;
    if (accepted && acc_gguf_writer_write_memory(w, &image, &image_size, &err) != ACC_OK) {
        if (err.status != ACC_ERR_INPUT)
            abort();
        accepted = 0;
    }
    acc_gguf_writer_destroy(w);
    if (!accepted)
        return;
    acc_gguf *again;
    if (acc_gguf_parse(image, image_size, "rewritten", &again, &err) != ACC_OK)
        abort(); /* the writer produced a file the reader refuses */
    if (acc_gguf_kv_count(again) != acc_gguf_kv_count(gguf) ||
        acc_gguf_tensor_count(again) != acc_gguf_tensor_count(gguf))
        abort();
    for (uint64_t i = 0; i < acc_gguf_kv_count(gguf); i++)
        if (strcmp(acc_gguf_kv_key(gguf, i), acc_gguf_kv_key(again, i)) != 0 ||
            !values_equal(acc_gguf_kv_value(gguf, i), acc_gguf_kv_value(again, i)))
            abort();
    for (uint64_t i = 0; i < acc_gguf_tensor_count(gguf); i++) {
        const acc_gguf_tensor *a = acc_gguf_tensor_at(gguf, i), *b = acc_gguf_tensor_at(again, i);
        if (strcmp(a->name, b->name) != 0 || a->type != b->type || a->n_dims != b->n_dims ||
            memcmp(a->ne, b->ne, sizeof a->ne) != 0 || a->nbytes != b->nbytes ||
            (a->nbytes && memcmp(a->data, b->data, (size_t)a->nbytes) != 0))
            abort();
    }
    acc_gguf_close(again);
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc_gguf *gguf;
    acc_error err;
    if (acc_gguf_parse(data, size, "fuzz", &gguf, &err) != ACC_OK) {
        if (err.status != ACC_ERR_INPUT || strncmp(err.message, "fuzz", 4) != 0)
            abort(); /* bad input must be an input error naming the file */
        return 0;
    }
    fuzz_begin = data;
    fuzz_end = data + size;
    uint64_t sink = 0;
    for (uint64_t i = 0; i < acc_gguf_kv_count(gguf); i++) {
        const char *key = acc_gguf_kv_key(gguf, i);
        if (acc_gguf_find(gguf, key) != acc_gguf_kv_value(gguf, i))
            abort();
        sink += walk_value(acc_gguf_kv_value(gguf, i), 0);
        uint32_t u32;
        float f32;
        acc_gguf_string s;
        (void)acc_gguf_get_u32(gguf, key, &u32, &err);
        (void)acc_gguf_get_f32(gguf, key, &f32, &err);
        (void)acc_gguf_get_string(gguf, key, &s, &err);
    }
    uint32_t alignment = acc_gguf_alignment(gguf);
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
        acc_gguf_data_offset(gguf) % alignment != 0)
        abort();
    for (uint64_t i = 0; i < acc_gguf_tensor_count(gguf); i++) {
        const acc_gguf_tensor *t = acc_gguf_tensor_at(gguf, i);
        if (acc_gguf_find_tensor(gguf, t->name) != t)
            abort();
        uint64_t bytes;
        if (acc_ggml_row_bytes(t->type, acc_gguf_tensor_elements(t), &bytes) != 0 ||
            bytes != t->nbytes || t->offset % alignment != 0)
            abort();
        check_inside(t->data, t->nbytes);
        if (t->nbytes)
            sink += ((const uint8_t *)t->data)[t->nbytes - 1];
    }
    fuzz_sink = sink;
    check_rewrite(gguf);
    acc_gguf_close(gguf);
    return 0;
}
