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
    acc_gguf_close(gguf);
    return 0;
}
