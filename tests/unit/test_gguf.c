/*
 * test_gguf.c — the GGUF reader and writer: a write -> read round trip of
 * every metadata type and several tensor types, getters, views, writer
 * argument checks and atomicity, and one test per kind of malformed file
 * (each must be ACC_ERR_INPUT with a message naming what is wrong).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/gguf.h"

/* ---- a byte builder for hand-made files --------------------------------- */

typedef struct bytes {
    uint8_t data[4096];
    size_t size;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    assert_true(b->size + n <= sizeof b->data);
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void put_u32(bytes *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[b->size++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(bytes *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b->data[b->size++] = (uint8_t)(v >> (8 * i));
}

static void put_str(bytes *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

static void put_header(bytes *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    b->size = 0;
    put(b, "GGUF", 4);
    put_u32(b, version);
    put_u64(b, n_tensors);
    put_u64(b, n_kv);
}

/* One tensor info: name, dims (innermost first), type, offset. */
static void put_tensor(bytes *b, const char *name, int n_dims, const uint64_t *ne, uint32_t type,
                       uint64_t offset)
{
    put_str(b, name);
    put_u32(b, (uint32_t)n_dims);
    for (int i = 0; i < n_dims; i++)
        put_u64(b, ne[i]);
    put_u32(b, type);
    put_u64(b, offset);
}

static void pad_to(bytes *b, size_t alignment)
{
    while (b->size % alignment)
        b->data[b->size++] = 0;
}

/* Parses b and expects ACC_ERR_INPUT with `needle` in the message. */
static void expect_bad(const bytes *b, const char *needle)
{
    acc_gguf *gguf = NULL;
    acc_error err = {0};
    acc_status status = acc_gguf_parse(b->data, b->size, "bad.gguf", &gguf, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle) ||
        strncmp(err.message, "bad.gguf: ", 10) != 0)
        fail_msg("expected input error containing '%s', got status %d: %s", needle, status,
                 err.message);
    assert_null(gguf);
}

static acc_gguf *expect_good(const bytes *b)
{
    acc_gguf *gguf = NULL;
    acc_error err = {0};
    if (acc_gguf_parse(b->data, b->size, "good.gguf", &gguf, &err) != ACC_OK)
        fail_msg("unexpected error: %s", err.message);
    return gguf;
}

/* ---- round trip ----------------------------------------------------------- */

static acc_status fill_ramp(void *user, const char *name, void *dst, uint64_t nbytes,
                            acc_error *err)
{
    (void)err;
    assert_string_equal(name, "filled");
    uint8_t start = *(const uint8_t *)user;
    for (uint64_t i = 0; i < nbytes; i++)
        ((uint8_t *)dst)[i] = (uint8_t)(start + i);
    return ACC_OK;
}

static acc_status fill_fails(void *user, const char *name, void *dst, uint64_t nbytes,
                             acc_error *err)
{
    (void)user;
    (void)name;
    (void)dst;
    (void)nbytes;
    return acc_error_set(err, ACC_ERR_RUNTIME, "fill failed on purpose");
}

static void make_temp_dir(char *dir)
{
    strcpy(dir, "/tmp/accinf-gguf-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static int dir_entries(const char *dir)
{
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)))
        if (entry->d_name[0] != '.')
            n++;
    closedir(handle);
    return n;
}

typedef struct round_trip_data {
    float f32[24];
    uint16_t f16[64];
    uint16_t bf16[8];
    acc_block_q8_0 q8[4];
    acc_block_q4_K q4k[2];
} round_trip_data;

static acc_gguf_writer *build_writer(round_trip_data *d)
{
    acc_error err;
    acc_gguf_writer *w;
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string(w, "general.architecture", "llama", &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u8(w, "k.u8", 250, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_i8(w, "k.i8", -100, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u16(w, "k.u16", 60000, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_i16(w, "k.i16", -30000, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u32(w, "k.u32", 4000000000u, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_i32(w, "k.i32", -2000000000, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u64(w, "k.u64", UINT64_MAX, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_i64(w, "k.i64", INT64_MIN, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_f32(w, "k.f32", 0.1f, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_f64(w, "k.f64", -1e300, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_bool(w, "k.bool", true, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string_n(w, "k.nul", "a\0b", 3, &err), ACC_OK);
    float scores[3] = {-1.5f, 0, 2.25f};
    assert_int_equal(acc_gguf_writer_set_array(w, "k.scores", ACC_GGUF_F32, scores, 3, &err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_set_array(w, "k.empty", ACC_GGUF_U8, NULL, 0, &err), ACC_OK);
    const char *tokens[4] = {"<s>", "héllo", "", " world"};
    assert_int_equal(acc_gguf_writer_set_string_array(w, "k.tokens", tokens, 4, &err), ACC_OK);
    /* nested arrays: [[1, 2]], [[]] and [[["x"]]] */
    int64_t ints[2] = {1, 2};
    acc_gguf_value str = {.type = ACC_GGUF_STRING, .as.str = {"x", 1}};
    acc_gguf_value deepest = {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_STRING, 1, NULL, &str}};
    acc_gguf_value inner[3] = {
        {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_I64, 2, (const uint8_t *)ints, NULL}},
        {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_BOOL, 0, NULL, NULL}},
        {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_ARRAY, 1, NULL, &deepest}},
    };
    acc_gguf_value nested = {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_ARRAY, 1, NULL, inner}};
    assert_int_equal(acc_gguf_writer_set_value(w, "k.nested", &nested, &err), ACC_OK);
    acc_gguf_value nested_empty = {.type = ACC_GGUF_ARRAY,
                                   .as.arr = {ACC_GGUF_ARRAY, 1, NULL, &inner[1]}};
    assert_int_equal(acc_gguf_writer_set_value(w, "k.nested_empty", &nested_empty, &err), ACC_OK);
    acc_gguf_value nested3 = {.type = ACC_GGUF_ARRAY, .as.arr = {ACC_GGUF_ARRAY, 1, NULL, &inner[2]}};
    assert_int_equal(acc_gguf_writer_set_value(w, "k.nested3", &nested3, &err), ACC_OK);
    /* replacing keeps one entry */
    assert_int_equal(acc_gguf_writer_set_u32(w, "k.replaced", 1, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_string(w, "k.replaced", "now a string", &err), ACC_OK);

    for (int i = 0; i < 24; i++)
        d->f32[i] = (float)i * 0.25f - 3;
    for (int i = 0; i < 64; i++)
        d->f16[i] = acc_f32_to_f16((float)i / 8);
    for (int i = 0; i < 8; i++)
        d->bf16[i] = acc_f32_to_bf16((float)-i);
    float src[512];
    for (int i = 0; i < 512; i++)
        src[i] = sinf((float)i * 0.1f);
    acc_quantize_row_q8_0(src, d->q8, 128);
    acc_quantize_row_q4_K(src, d->q4k, 512);
    int64_t ne_f32[3] = {4, 3, 2}, ne_f16[1] = {64}, ne_bf16[2] = {2, 4}, ne_q8[2] = {64, 2},
            ne_q4k[2] = {256, 2}, ne_fill[1] = {5};
    assert_int_equal(acc_gguf_writer_add_tensor(w, "t.f32", ACC_GGML_F32, 3, ne_f32, d->f32,
                                                sizeof d->f32, &err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "t.f16", ACC_GGML_F16, 1, ne_f16, d->f16,
                                                sizeof d->f16, &err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "t.bf16", ACC_GGML_BF16, 2, ne_bf16, d->bf16,
                                                sizeof d->bf16, &err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "t.q8_0", ACC_GGML_Q8_0, 2, ne_q8, d->q8,
                                                sizeof d->q8, &err),
                     ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "t.q4_K", ACC_GGML_Q4_K, 2, ne_q4k, d->q4k,
                                                sizeof d->q4k, &err),
                     ACC_OK);
    static const uint8_t start = 7;
    assert_int_equal(acc_gguf_writer_add_tensor_fill(w, "filled", ACC_GGML_I8, 1, ne_fill,
                                                     fill_ramp, (void *)&start, &err),
                     ACC_OK);
    return w;
}

static void check_round_trip(const acc_gguf *g, const round_trip_data *d)
{
    acc_error err;
    assert_int_equal(acc_gguf_version(g), 3);
    assert_int_equal(acc_gguf_alignment(g), 32);
    assert_int_equal(acc_gguf_data_offset(g) % 32, 0);
    assert_int_equal(acc_gguf_kv_count(g), 20);
    assert_string_equal(acc_gguf_kv_key(g, 0), "general.architecture");
    acc_gguf_string s;
    assert_int_equal(acc_gguf_get_string(g, "general.architecture", &s, &err), ACC_OK);
    assert_int_equal(s.size, 5);
    assert_memory_equal(s.data, "llama", 5);
    const acc_gguf_value *v;
    assert_non_null(v = acc_gguf_find(g, "k.u8"));
    assert_int_equal(v->type, ACC_GGUF_U8);
    assert_int_equal(v->as.u8, 250);
    assert_int_equal(acc_gguf_find(g, "k.i8")->as.i8, -100);
    assert_int_equal(acc_gguf_find(g, "k.u16")->as.u16, 60000);
    assert_int_equal(acc_gguf_find(g, "k.i16")->as.i16, -30000);
    assert_int_equal(acc_gguf_find(g, "k.u32")->as.u32, 4000000000u);
    assert_int_equal(acc_gguf_find(g, "k.i32")->as.i32, -2000000000);
    assert_true(acc_gguf_find(g, "k.u64")->as.u64 == UINT64_MAX);
    assert_true(acc_gguf_find(g, "k.i64")->as.i64 == INT64_MIN);
    assert_true(acc_gguf_find(g, "k.f32")->as.f32 == 0.1f);
    assert_true(acc_gguf_find(g, "k.f64")->as.f64 == -1e300);
    assert_true(acc_gguf_find(g, "k.bool")->as.b);
    assert_int_equal(acc_gguf_find(g, "k.nul")->as.str.size, 3);
    assert_memory_equal(acc_gguf_find(g, "k.nul")->as.str.data, "a\0b", 3);
    const acc_gguf_array *arr;
    assert_int_equal(acc_gguf_get_array(g, "k.scores", ACC_GGUF_F32, &arr, &err), ACC_OK);
    assert_int_equal(arr->count, 3);
    acc_gguf_value item;
    assert_int_equal(acc_gguf_array_get(arr, 2, &item, &err), ACC_OK);
    assert_true(item.type == ACC_GGUF_F32 && item.as.f32 == 2.25f);
    assert_int_equal(acc_gguf_array_get(arr, 3, &item, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_get_array(g, "k.empty", ACC_GGUF_U8, &arr, &err), ACC_OK);
    assert_int_equal(arr->count, 0);
    assert_int_equal(acc_gguf_get_array(g, "k.tokens", ACC_GGUF_STRING, &arr, &err), ACC_OK);
    assert_int_equal(arr->count, 4);
    assert_int_equal(acc_gguf_array_get(arr, 1, &item, &err), ACC_OK);
    assert_int_equal(item.as.str.size, strlen("héllo"));
    assert_memory_equal(item.as.str.data, "héllo", item.as.str.size);
    assert_int_equal(acc_gguf_array_get(arr, 2, &item, &err), ACC_OK);
    assert_int_equal(item.as.str.size, 0);
    /* nested */
    assert_int_equal(acc_gguf_get_array(g, "k.nested", ACC_GGUF_ARRAY, &arr, &err), ACC_OK);
    assert_int_equal(arr->count, 1);
    assert_int_equal(arr->items[0].as.arr.elem_type, ACC_GGUF_I64);
    assert_int_equal(acc_gguf_array_get(&arr->items[0].as.arr, 1, &item, &err), ACC_OK);
    assert_true(item.type == ACC_GGUF_I64 && item.as.i64 == 2);
    assert_int_equal(acc_gguf_get_array(g, "k.nested_empty", ACC_GGUF_ARRAY, &arr, &err), ACC_OK);
    assert_int_equal(arr->items[0].as.arr.elem_type, ACC_GGUF_BOOL);
    assert_int_equal(arr->items[0].as.arr.count, 0);
    assert_int_equal(acc_gguf_get_array(g, "k.nested3", ACC_GGUF_ARRAY, &arr, &err), ACC_OK);
    const acc_gguf_array *level2 = &arr->items[0].as.arr;
    assert_int_equal(level2->elem_type, ACC_GGUF_ARRAY);
    const acc_gguf_array *level3 = &level2->items[0].as.arr;
    assert_int_equal(level3->elem_type, ACC_GGUF_STRING);
    assert_memory_equal(level3->items[0].as.str.data, "x", 1);
    assert_int_equal(acc_gguf_find(g, "k.replaced")->type, ACC_GGUF_STRING);

    /* tensors: order, shapes, types, data */
    assert_int_equal(acc_gguf_tensor_count(g), 6);
    const acc_gguf_tensor *t = acc_gguf_tensor_at(g, 0);
    assert_string_equal(t->name, "t.f32");
    assert_int_equal(t->n_dims, 3);
    assert_true(t->ne[0] == 4 && t->ne[1] == 3 && t->ne[2] == 2 && t->ne[3] == 1);
    assert_int_equal(t->nbytes, sizeof d->f32);
    assert_memory_equal(t->data, d->f32, sizeof d->f32);
    assert_int_equal(acc_gguf_tensor_elements(t), 24);
    struct {
        const char *name;
        const void *data;
        size_t size;
        acc_ggml_type type;
    } expect[] = {
        {"t.f16", d->f16, sizeof d->f16, ACC_GGML_F16},
        {"t.bf16", d->bf16, sizeof d->bf16, ACC_GGML_BF16},
        {"t.q8_0", d->q8, sizeof d->q8, ACC_GGML_Q8_0},
        {"t.q4_K", d->q4k, sizeof d->q4k, ACC_GGML_Q4_K},
    };
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
        t = acc_gguf_find_tensor(g, expect[i].name);
        assert_non_null(t);
        assert_int_equal(t->type, expect[i].type);
        assert_int_equal(t->nbytes, expect[i].size);
        assert_int_equal(t->offset % 32, 0);
        assert_memory_equal(t->data, expect[i].data, expect[i].size);
    }
    t = acc_gguf_find_tensor(g, "filled");
    assert_non_null(t);
    assert_int_equal(t->nbytes, 5);
    assert_memory_equal(t->data, "\x07\x08\x09\x0a\x0b", 5);
    assert_null(acc_gguf_find_tensor(g, "absent"));
    assert_null(acc_gguf_find(g, "absent"));
}

static void test_round_trip_file(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_temp_dir(dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    static round_trip_data d;
    acc_gguf_writer *w = build_writer(&d);
    acc_error err;
    assert_int_equal(acc_gguf_writer_write(w, path, &err), ACC_OK);
    uint8_t *memory;
    size_t memory_size;
    assert_int_equal(acc_gguf_writer_write_memory(w, &memory, &memory_size, &err), ACC_OK);
    acc_gguf_writer_destroy(w);
    assert_int_equal(dir_entries(dir), 1); /* no temp file left behind */

    acc_gguf *g;
    assert_int_equal(acc_gguf_open(path, &g, &err), ACC_OK);
    check_round_trip(g, &d);
    acc_gguf_close(g);

    /* the memory image is the same bytes as the file */
    char *text;
    size_t size;
    assert_int_equal(acc_read_file(path, &text, &size, &err), ACC_OK);
    assert_int_equal(size, memory_size);
    assert_memory_equal(text, memory, size);
    free(text);

    /* read -> copy every value and tensor -> write -> identical bytes */
    assert_int_equal(acc_gguf_parse(memory, memory_size, "mem", &g, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    for (uint64_t i = 0; i < acc_gguf_kv_count(g); i++)
        assert_int_equal(
            acc_gguf_writer_set_value(w, acc_gguf_kv_key(g, i), acc_gguf_kv_value(g, i), &err),
            ACC_OK);
    for (uint64_t i = 0; i < acc_gguf_tensor_count(g); i++) {
        const acc_gguf_tensor *t = acc_gguf_tensor_at(g, i);
        assert_int_equal(acc_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne,
                                                    t->data, t->nbytes, &err),
                         ACC_OK);
    }
    uint8_t *copy;
    size_t copy_size;
    assert_int_equal(acc_gguf_writer_write_memory(w, &copy, &copy_size, &err), ACC_OK);
    assert_int_equal(copy_size, memory_size);
    assert_memory_equal(copy, memory, memory_size);
    free(copy);
    acc_gguf_writer_destroy(w);
    acc_gguf_close(g);
    free(memory);
    unlink(path);
    rmdir(dir);
}

static void test_alignment_and_version_2(void **state)
{
    (void)state;
    acc_error err;
    acc_gguf_writer *w;
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_set_u32(w, "general.alignment", 64, &err), ACC_OK);
    float a[3] = {1, 2, 3}, b[2] = {4, 5};
    int64_t ne_a[1] = {3}, ne_b[1] = {2};
    assert_int_equal(acc_gguf_writer_add_tensor(w, "a", ACC_GGML_F32, 1, ne_a, a, 12, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "b", ACC_GGML_F32, 1, ne_b, b, 8, &err), ACC_OK);
    uint8_t *image;
    size_t size;
    assert_int_equal(acc_gguf_writer_write_memory(w, &image, &size, &err), ACC_OK);
    acc_gguf_writer_destroy(w);
    image[4] = 2; /* v2 has the same layout */
    acc_gguf *g;
    assert_int_equal(acc_gguf_parse(image, size, "v2", &g, &err), ACC_OK);
    assert_int_equal(acc_gguf_version(g), 2);
    assert_int_equal(acc_gguf_alignment(g), 64);
    assert_int_equal(acc_gguf_data_offset(g) % 64, 0);
    assert_int_equal(acc_gguf_tensor_at(g, 1)->offset, 64);
    assert_memory_equal(acc_gguf_find_tensor(g, "b")->data, b, 8);
    acc_gguf_close(g);
    free(image);
}

static void test_getters(void **state)
{
    (void)state;
    acc_error err;
    acc_gguf_writer *w;
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    acc_gguf_writer_set_i32(w, "i32.pos", 7, &err);
    acc_gguf_writer_set_i32(w, "i32.neg", -7, &err);
    acc_gguf_writer_set_u64(w, "u64.big", 1ull << 40, &err);
    acc_gguf_writer_set_u8(w, "u8", 9, &err);
    acc_gguf_writer_set_f64(w, "f64", 0.5, &err);
    acc_gguf_writer_set_f64(w, "f64.huge", 1e300, &err);
    acc_gguf_writer_set_bool(w, "bool", false, &err);
    acc_gguf_writer_set_string(w, "str", "text", &err);
    acc_gguf_writer_set_string_n(w, "str.nul", "a\0", 2, &err);
    uint8_t *image;
    size_t size;
    assert_int_equal(acc_gguf_writer_write_memory(w, &image, &size, &err), ACC_OK);
    acc_gguf_writer_destroy(w);
    acc_gguf *g;
    assert_int_equal(acc_gguf_parse(image, size, "g.gguf", &g, &err), ACC_OK);
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    float f32;
    bool b = true;
    assert_int_equal(acc_gguf_get_u32(g, "i32.pos", &u32, &err), ACC_OK);
    assert_int_equal(u32, 7);
    assert_int_equal(acc_gguf_get_u32(g, "u8", &u32, &err), ACC_OK);
    assert_int_equal(u32, 9);
    assert_int_equal(acc_gguf_get_u32(g, "i32.neg", &u32, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "g.gguf: i32.neg: value -7 does not fit in u32"));
    assert_int_equal(acc_gguf_get_i32(g, "i32.neg", &i32, &err), ACC_OK);
    assert_int_equal(i32, -7);
    assert_int_equal(acc_gguf_get_i32(g, "u64.big", &i32, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_get_u64(g, "u64.big", &u64, &err), ACC_OK);
    assert_true(u64 == 1ull << 40);
    assert_int_equal(acc_gguf_get_u32(g, "str", &u32, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "str: expected u32, found string"));
    assert_int_equal(acc_gguf_get_u32(g, "nope", &u32, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "g.gguf: nope: missing"));
    assert_int_equal(acc_gguf_get_f32(g, "f64", &f32, &err), ACC_OK);
    assert_true(f32 == 0.5f);
    assert_int_equal(acc_gguf_get_f32(g, "f64.huge", &f32, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_get_f32(g, "u8", &f32, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_get_bool(g, "bool", &b, &err), ACC_OK);
    assert_false(b);
    assert_int_equal(acc_gguf_get_bool(g, "u8", &b, &err), ACC_ERR_INPUT);
    char *text;
    assert_int_equal(acc_gguf_get_string_dup(g, "str", &text, &err), ACC_OK);
    assert_string_equal(text, "text");
    free(text);
    assert_int_equal(acc_gguf_get_string_dup(g, "str.nul", &text, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "NUL"));
    const acc_gguf_array *arr;
    assert_int_equal(acc_gguf_get_array(g, "str", ACC_GGUF_TYPE_COUNT, &arr, &err), ACC_ERR_INPUT);
    acc_gguf_close(g);
    free(image);
}

static void test_tensor_view(void **state)
{
    (void)state;
    float data[6] = {1, 2, 3, 4, 5, 6};
    acc_gguf_tensor t = {.name = "w", .type = ACC_GGML_F32, .n_dims = 2, .ne = {3, 2, 1, 1},
                         .nbytes = 24, .data = data};
    acc_tensor_view view;
    acc_error err;
    assert_int_equal(acc_gguf_tensor_view(&t, "m.gguf", &view, &err), ACC_OK);
    assert_int_equal(view.dtype, ACC_DTYPE_F32);
    assert_true(view.shape[0] == 2 && view.shape[1] == 3); /* outermost first */
    assert_int_equal(acc_tensor_view_elements(&view), 6);
    t.type = ACC_GGML_Q4_K;
    assert_int_equal(acc_gguf_tensor_view(&t, "m.gguf", &view, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "m.gguf: tensor 'w': type q4_K"));
}

/* ---- writer argument checks and atomicity --------------------------------- */

static void test_writer_errors(void **state)
{
    (void)state;
    acc_error err;
    acc_gguf_writer *w;
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    float data[64] = {0};
    int64_t ne[2] = {32, 2};
    assert_int_equal(acc_gguf_writer_add_tensor(w, "a", ACC_GGML_F32, 2, ne, data, 256, &err), ACC_OK);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "a", ACC_GGML_F32, 2, ne, data, 256, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "duplicate tensor name 'a'"));
    assert_int_equal(acc_gguf_writer_add_tensor(w, "b", ACC_GGML_F32, 2, ne, data, 255, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "255 bytes given"));
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    assert_int_equal(acc_gguf_writer_add_tensor(w, long_name, ACC_GGML_F32, 2, ne, data, 256, &err),
                     ACC_ERR_INPUT);
    int64_t bad_row[1] = {48};
    assert_int_equal(acc_gguf_writer_add_tensor(w, "c", ACC_GGML_Q8_0, 1, bad_row, data, 51, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "not a multiple"));
    assert_int_equal(acc_gguf_writer_add_tensor(w, "d", (acc_ggml_type)4, 2, ne, data, 256, &err),
                     ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_writer_add_tensor(w, "e", ACC_GGML_F32, 5, ne, data, 256, &err),
                     ACC_ERR_INPUT);
    int64_t huge[4] = {1ll << 40, 1ll << 40, 1, 1};
    assert_int_equal(acc_gguf_writer_add_tensor(w, "f", ACC_GGML_F32, 2, huge, data, 0, &err),
                     ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_writer_set_array(w, "k", ACC_GGUF_STRING, data, 1, &err),
                     ACC_ERR_INPUT);
    assert_int_equal(acc_gguf_writer_set_u32(w, "", 1, &err), ACC_ERR_INPUT);
    /* alignment must be a u32 power of two, checked when writing */
    assert_int_equal(acc_gguf_writer_set_u32(w, "general.alignment", 48, &err), ACC_OK);
    uint8_t *image;
    size_t size;
    assert_int_equal(acc_gguf_writer_write_memory(w, &image, &size, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "general.alignment"));
    acc_gguf_writer_destroy(w);
}

static void test_writer_is_atomic(void **state)
{
    (void)state;
    char dir[64], path[128];
    make_temp_dir(dir);
    snprintf(path, sizeof path, "%s/out.gguf", dir);
    acc_error err;
    acc_gguf_writer *w;
    assert_int_equal(acc_gguf_writer_create(&w, &err), ACC_OK);
    int64_t ne[1] = {4};
    assert_int_equal(acc_gguf_writer_add_tensor_fill(w, "x", ACC_GGML_F32, 1, ne, fill_fails,
                                                     NULL, &err),
                     ACC_OK);
    /* an existing file survives a failed write untouched */
    FILE *stream = fopen(path, "wb");
    assert_non_null(stream);
    fputs("old", stream);
    fclose(stream);
    assert_int_equal(acc_gguf_writer_write(w, path, &err), ACC_ERR_RUNTIME);
    assert_non_null(strstr(err.message, "fill failed on purpose"));
    assert_int_equal(dir_entries(dir), 1);
    char *text;
    size_t size;
    assert_int_equal(acc_read_file(path, &text, &size, &err), ACC_OK);
    assert_string_equal(text, "old");
    free(text);
    snprintf(path, sizeof path, "%s/missing/out.gguf", dir);
    assert_int_equal(acc_gguf_writer_write(w, path, &err), ACC_ERR_RUNTIME);
    acc_gguf_writer_destroy(w);
    snprintf(path, sizeof path, "%s/out.gguf", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- malformed files: one test per kind of damage ------------------------- */

static void test_bad_magic(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 0, 0);
    memcpy(b.data, "GGML", 4);
    expect_bad(&b, "offset 0: wrong magic");
}

static void test_bad_version(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 1, 0, 0);
    expect_bad(&b, "offset 4: unsupported version 1");
    put_header(&b, 4, 0, 0);
    expect_bad(&b, "unsupported version 4");
    put_header(&b, 0x03000000u, 0, 0);
    expect_bad(&b, "big-endian");
}

static void test_truncated_header(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 0, 0);
    for (size_t cut = 0; cut < 24; cut++) {
        bytes t = b;
        t.size = cut;
        expect_bad(&t, cut < 4 ? "magic: truncated header" : "truncated header");
    }
    /* a complete header with nothing after it is a valid empty file */
    acc_gguf_close(expect_good(&b));
}

static void test_truncated_anywhere(void **state)
{
    (void)state;
    /* a valid file cut at every length must fail cleanly, never read past */
    bytes b;
    put_header(&b, 3, 1, 2);
    put_str(&b, "general.name");
    put_u32(&b, ACC_GGUF_STRING);
    put_str(&b, "tiny");
    put_str(&b, "list");
    put_u32(&b, ACC_GGUF_ARRAY);
    put_u32(&b, ACC_GGUF_U16);
    put_u64(&b, 2);
    put_u32(&b, 0x00020001);
    uint64_t ne[1] = {4};
    put_tensor(&b, "w", 1, ne, ACC_GGML_F32, 0);
    pad_to(&b, 32);
    float data[4] = {1, 2, 3, 4};
    put(&b, data, sizeof data);
    acc_gguf_close(expect_good(&b));
    for (size_t cut = 24; cut < b.size; cut++) {
        bytes t = b;
        t.size = cut;
        acc_gguf *g = NULL;
        acc_error err;
        assert_int_equal(acc_gguf_parse(t.data, t.size, "cut", &g, &err), ACC_ERR_INPUT);
    }
    bytes t = b;
    t.size = 56;
    expect_bad(&t, "offset 48: key 'general.name': string value: string length 4 is longer than the 0 bytes");
}

static void test_absurd_counts(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 1ull << 63, 0);
    expect_bad(&b, "offset 8: tensor count 9223372036854775808 is impossible");
    put_header(&b, 3, 0, 1ull << 63);
    expect_bad(&b, "offset 16: key/value count 9223372036854775808 is impossible");
    put_header(&b, 3, UINT64_MAX, UINT64_MAX);
    expect_bad(&b, "is impossible");
    /* an array claiming 2^62 elements */
    put_header(&b, 3, 0, 1);
    put_str(&b, "arr");
    put_u32(&b, ACC_GGUF_ARRAY);
    put_u32(&b, ACC_GGUF_U32);
    put_u64(&b, 1ull << 62);
    expect_bad(&b, "key 'arr': array of 4611686018427387904 u32 elements is longer than");
    put_header(&b, 3, 0, 1);
    put_str(&b, "arr");
    put_u32(&b, ACC_GGUF_ARRAY);
    put_u32(&b, ACC_GGUF_STRING);
    put_u64(&b, UINT64_MAX);
    expect_bad(&b, "string elements is longer than");
}

static void test_string_longer_than_file(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 0, 1);
    put_u64(&b, 1ull << 62); /* key length */
    put(&b, "abcdefghijklmnop", 16);
    expect_bad(&b, "offset 24: key 0: string length 4611686018427387904 is longer than the 16 bytes");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, ACC_GGUF_STRING);
    put_u64(&b, 100);
    put(&b, "short", 5);
    expect_bad(&b, "offset 37: key 'k': string value: string length 100 is longer than the 5");
    put_header(&b, 3, 1, 0);
    put_u64(&b, UINT64_MAX); /* tensor name length */
    put(&b, "abcdefghijklmnop", 16);
    expect_bad(&b, "tensor 0 name: string length 18446744073709551615 is longer");
}

static void test_tensor_outside_data_section(void **state)
{
    (void)state;
    bytes b;
    uint64_t ne[2] = {8, 2};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 2, ne, ACC_GGML_F32, 32); /* 64 bytes at +32 */
    pad_to(&b, 32);
    uint8_t zeros[64] = {0};
    put(&b, zeros, 64); /* only 64 bytes of data */
    expect_bad(&b, "tensor 'w': data [32, +64 bytes) lies outside the data section (64 bytes");
    /* an offset near 2^64 must not wrap around */
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 2, ne, ACC_GGML_F32, UINT64_MAX - 31);
    pad_to(&b, 32);
    put(&b, zeros, 64);
    expect_bad(&b, "lies outside the data section");
    /* tensor bytes beyond the end of the file (no data at all) */
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 2, ne, ACC_GGML_F32, 0);
    expect_bad(&b, "lies outside the data section (0 bytes");
}

static void test_misaligned_offset(void **state)
{
    (void)state;
    bytes b;
    uint64_t ne[1] = {4};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 1, ne, ACC_GGML_F32, 16);
    pad_to(&b, 32);
    uint8_t zeros[64] = {0};
    put(&b, zeros, 64);
    expect_bad(&b, "tensor 'w': data offset 16 is misaligned (not a multiple of the alignment 32)");
}

static void test_bad_alignment(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 0, 1);
    put_str(&b, "general.alignment");
    put_u32(&b, ACC_GGUF_U32);
    put_u32(&b, 24);
    expect_bad(&b, "general.alignment: 24 is not a power of two");
    put_header(&b, 3, 0, 1);
    put_str(&b, "general.alignment");
    put_u32(&b, ACC_GGUF_U32);
    put_u32(&b, 0);
    expect_bad(&b, "not a power of two");
    put_header(&b, 3, 0, 1);
    put_str(&b, "general.alignment");
    put_u32(&b, ACC_GGUF_U64);
    put_u64(&b, 32);
    expect_bad(&b, "general.alignment: must be u32, not u64");
}

static void test_unknown_type_ids(void **state)
{
    (void)state;
    uint64_t ne[1] = {32};
    static const uint32_t bad_ids[] = {4, 5, 31, 36, 39, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        bytes b;
        put_header(&b, 3, 1, 0);
        put_tensor(&b, "w", 1, ne, bad_ids[i], 0);
        char needle[64];
        snprintf(needle, sizeof needle, "tensor 'w': unknown ggml type id %u", bad_ids[i]);
        expect_bad(&b, needle);
    }
    bytes b;
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, 13);
    expect_bad(&b, "offset 33: key 'k': unknown value type 13");
    put_header(&b, 3, 0, 1);
    put_str(&b, "k");
    put_u32(&b, ACC_GGUF_ARRAY);
    put_u32(&b, 99);
    put_u64(&b, 0);
    expect_bad(&b, "key 'k': unknown array element type 99");
}

static void test_duplicate_names(void **state)
{
    (void)state;
    bytes b;
    uint64_t ne[1] = {8};
    put_header(&b, 3, 2, 0);
    put_tensor(&b, "blk.0.w", 1, ne, ACC_GGML_F32, 0);
    put_tensor(&b, "blk.0.w", 1, ne, ACC_GGML_F32, 32);
    pad_to(&b, 32);
    uint8_t zeros[64] = {0};
    put(&b, zeros, 64);
    expect_bad(&b, "duplicate tensor name 'blk.0.w'");
    put_header(&b, 3, 0, 2);
    for (int i = 0; i < 2; i++) {
        put_str(&b, "general.name");
        put_u32(&b, ACC_GGUF_U8);
        put(&b, "x", 1);
    }
    expect_bad(&b, "duplicate key 'general.name'");
}

static void test_dimension_overflow(void **state)
{
    (void)state;
    bytes b;
    uint64_t ne[4] = {1ull << 32, 1ull << 32, 1, 1};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 4, ne, ACC_GGML_F32, 0);
    expect_bad(&b, "tensor 'w': dimension product overflows");
    /* product above INT64_MAX but below 2^64 */
    uint64_t ne2[2] = {1ull << 32, 1ull << 31};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 2, ne2, ACC_GGML_F32, 0);
    expect_bad(&b, "dimension product overflows");
    /* found by fuzz_gguf: a zero dimension after an overflowing partial
     * product made the final product 0 and slipped through */
    uint64_t ne3[3] = {41781441855490ull, 262146, 0};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 3, ne3, ACC_GGML_F32, 0);
    expect_bad(&b, "dimension product overflows");
    /* elements fit, bytes do not */
    uint64_t ne4[1] = {1ull << 62};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 1, ne4, ACC_GGML_F32, 0);
    expect_bad(&b, "tensor 'w': byte size overflows");
    uint64_t ne5[1] = {1ull << 63};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 1, ne5, ACC_GGML_F32, 0);
    expect_bad(&b, "dimension 0 is 9223372036854775808 (above INT64_MAX)");
}

static void test_bad_tensor_shapes(void **state)
{
    (void)state;
    bytes b;
    uint64_t ne[5] = {1, 1, 1, 1, 1};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "w", 5, ne, ACC_GGML_F32, 0);
    expect_bad(&b, "tensor 'w': 5 dimensions (at most 4)");
    uint64_t row[1] = {48};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "q", 1, row, ACC_GGML_Q4_K, 0);
    expect_bad(&b, "tensor 'q': row of 48 elements is not a multiple of the q4_K block size 256");
    /* zero-element tensors are legal and have no data */
    uint64_t empty[2] = {0, 5};
    put_header(&b, 3, 1, 0);
    put_tensor(&b, "e", 2, empty, ACC_GGML_Q8_0, 0);
    acc_gguf *g = expect_good(&b);
    assert_int_equal(acc_gguf_find_tensor(g, "e")->nbytes, 0);
    acc_gguf_close(g);
}

static void test_bad_values(void **state)
{
    (void)state;
    bytes b;
    put_header(&b, 3, 0, 1);
    put_str(&b, "flag");
    put_u32(&b, ACC_GGUF_BOOL);
    put(&b, "\x02", 1);
    expect_bad(&b, "key 'flag': bool value is 2, not 0 or 1");
    put_header(&b, 3, 0, 1);
    put_str(&b, "flags");
    put_u32(&b, ACC_GGUF_ARRAY);
    put_u32(&b, ACC_GGUF_BOOL);
    put_u64(&b, 2);
    put(&b, "\x01\x07", 2);
    expect_bad(&b, "key 'flags': bool element 1 is 7");
    put_header(&b, 3, 0, 1);
    put_u64(&b, 3);
    put(&b, "a\0b", 3);
    put_u32(&b, ACC_GGUF_U8);
    put(&b, "x", 1);
    expect_bad(&b, "offset 24: key 0: contains a NUL byte");
    /* arrays nested deeper than the limit */
    put_header(&b, 3, 0, 1);
    put_str(&b, "deep");
    put_u32(&b, ACC_GGUF_ARRAY);
    for (int i = 0; i < 20; i++) {
        put_u32(&b, ACC_GGUF_ARRAY);
        put_u64(&b, 1);
    }
    expect_bad(&b, "key 'deep': arrays nested deeper than 8");
}

static void test_open_missing_file(void **state)
{
    (void)state;
    acc_gguf *g;
    acc_error err;
    assert_int_equal(acc_gguf_open("/nonexistent/x.gguf", &g, &err), ACC_ERR_INPUT);
    assert_null(g);
    assert_non_null(strstr(err.message, "/nonexistent/x.gguf"));
}

/* The fuzz seeds are valid files written by our writer. */
static void test_seed_corpus_parses(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/../fuzz/corpus/gguf", ACCINF_FIXTURES);
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    int parsed = 0;
    struct dirent *entry;
    while ((entry = readdir(handle))) {
        if (entry->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        acc_gguf *g;
        acc_error err;
        if (acc_gguf_open(path, &g, &err) != ACC_OK)
            fail_msg("%s", err.message);
        acc_gguf_close(g);
        parsed++;
    }
    closedir(handle);
    assert_true(parsed >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_file),
        cmocka_unit_test(test_alignment_and_version_2),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_tensor_view),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_writer_is_atomic),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_anywhere),
        cmocka_unit_test(test_absurd_counts),
        cmocka_unit_test(test_string_longer_than_file),
        cmocka_unit_test(test_tensor_outside_data_section),
        cmocka_unit_test(test_misaligned_offset),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_unknown_type_ids),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_dimension_overflow),
        cmocka_unit_test(test_bad_tensor_shapes),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_open_missing_file),
        cmocka_unit_test(test_seed_corpus_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
