/*
 * test_safetensors.c — the safetensors reader and weight sets: valid files in
 * every supported dtype, each kind of malformed header, sharded sets checked
 * against their index, and (when present) every fixture model.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/hparams.h"
#include "accinf/safetensors.h"

/* ---- helpers: build safetensors images in memory and on disk ------------ */

typedef struct image {
    uint8_t *bytes;
    size_t size;
} image;

/* u64 LE header length, the header text, then data_size bytes of data. */
static image image_build(const char *header, const void *data, size_t data_size)
{
    size_t header_size = strlen(header);
    image out = {malloc(8 + header_size + data_size), 8 + header_size + data_size};
    assert_non_null(out.bytes);
    for (int i = 0; i < 8; i++)
        out.bytes[i] = (uint8_t)((uint64_t)header_size >> (8 * i));
    memcpy(out.bytes + 8, header, header_size);
    if (data_size) {
        if (data)
            memcpy(out.bytes + 8 + header_size, data, data_size);
        else
            memset(out.bytes + 8 + header_size, 0, data_size);
    }
    return out;
}

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *stream = fopen(path, "wb");
    assert_non_null(stream);
    assert_int_equal(fwrite(bytes, 1, size, stream), size);
    assert_int_equal(fclose(stream), 0);
}

static void write_image(const char *dir, const char *name, const char *header, size_t data_size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    image file = image_build(header, NULL, data_size);
    write_bytes(path, file.bytes, file.size);
    free(file.bytes);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes(path, text, strlen(text));
}

static void make_temp_dir(char *dir)
{
    strcpy(dir, "/tmp/accinf-st-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    DIR *handle = opendir(dir);
    if (!handle)
        return;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(handle);
    rmdir(dir);
}

/* Parses header+data and expects ACC_ERR_INPUT with `needle` in the message. */
static void expect_parse_error(const char *header, size_t data_size, const char *needle)
{
    image file = image_build(header, NULL, data_size);
    acc_safetensors_header parsed;
    acc_error err = {0};
    acc_status status = acc_safetensors_parse(file.bytes, file.size, "t.st", &parsed, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle))
        fail_msg("header %s: status %d, message '%s', wanted '%s'", header, status, err.message,
                 needle);
    assert_int_equal(err.status, ACC_ERR_INPUT);
    assert_null(parsed.tensors);
    free(file.bytes);
}

/* ---- single files ------------------------------------------------------- */

static void test_three_dtypes_round_trip(void **state)
{
    (void)state;
    /* Data section: f32 [2] at 0..8, f16 [3] at 8..14, bf16 [1,2] at 14..18. */
    uint8_t data[18];
    float f32_values[2] = {1.5f, -2.25f};
    memcpy(data, f32_values, 8);
    uint16_t f16_values[3] = {acc_f32_to_f16(0.5f), acc_f32_to_f16(-3.0f), acc_f32_to_f16(100.0f)};
    memcpy(data + 8, f16_values, 6);
    uint16_t bf16_values[2] = {acc_f32_to_bf16(7.0f), acc_f32_to_bf16(-0.125f)};
    memcpy(data + 14, bf16_values, 4);
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"half\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[8,14]},"
        "\"brain\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[14,18]},"
        "\"full\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"scalar_empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[18,18]}}";
    image file = image_build(header, data, sizeof data);
    acc_safetensors_header parsed;
    acc_error err = {0};
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size, "t.st", &parsed, &err), ACC_OK);
    assert_int_equal(parsed.n_tensors, 4);
    /* Sorted by offset: full, half, brain, scalar_empty. */
    assert_string_equal(parsed.tensors[0].name, "full");
    assert_string_equal(parsed.tensors[1].name, "half");
    assert_string_equal(parsed.tensors[2].name, "brain");
    assert_string_equal(parsed.tensors[3].name, "scalar_empty");
    assert_string_equal(parsed.tensors[0].file, "t.st");

    float out[3];
    acc_convert_to_f32(parsed.tensors[0].dtype, parsed.tensors[0].data, out, 2);
    assert_true(out[0] == 1.5f && out[1] == -2.25f);
    assert_int_equal(parsed.tensors[1].dtype, ACC_DTYPE_F16);
    assert_int_equal(parsed.tensors[1].nbytes, 6);
    acc_convert_to_f32(parsed.tensors[1].dtype, parsed.tensors[1].data, out, 3);
    assert_true(out[0] == 0.5f && out[1] == -3.0f && out[2] == 100.0f);
    assert_int_equal(parsed.tensors[2].dtype, ACC_DTYPE_BF16);
    assert_int_equal(parsed.tensors[2].n_dims, 2);
    assert_int_equal(parsed.tensors[2].shape[0], 1);
    assert_int_equal(parsed.tensors[2].shape[1], 2);
    acc_convert_to_f32(parsed.tensors[2].dtype, parsed.tensors[2].data, out, 2);
    assert_true(out[0] == 7.0f && out[1] == -0.125f);
    assert_int_equal(parsed.tensors[3].nbytes, 0);
    assert_ptr_equal(parsed.tensors[0].data, file.bytes + 8 + strlen(header));
    acc_safetensors_header_free(&parsed);
    free(file.bytes);
}

static void test_scalar_and_empty_header(void **state)
{
    (void)state;
    image file =
        image_build("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", NULL, 4);
    acc_safetensors_header parsed;
    acc_error err = {0};
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size, "t.st", &parsed, &err), ACC_OK);
    assert_int_equal(parsed.n_tensors, 1);
    assert_int_equal(parsed.tensors[0].n_dims, 0);
    assert_int_equal(acc_tensor_view_elements(&parsed.tensors[0]), 1);
    acc_safetensors_header_free(&parsed);
    free(file.bytes);

    file = image_build("{}", NULL, 0);
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size, "t.st", &parsed, &err), ACC_OK);
    assert_int_equal(parsed.n_tensors, 0);
    acc_safetensors_header_free(&parsed);
    free(file.bytes);
}

static void test_header_errors(void **state)
{
    (void)state;
    /* Not JSON, not an object. */
    expect_parse_error("{\"a\":", 0, "header: invalid JSON");
    expect_parse_error("[1,2,3]", 0, "header: must be a JSON object");
    /* dtype. */
    expect_parse_error("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                       "t.st: tensor 'w': unsupported dtype F64");
    expect_parse_error("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                       "tensor 'w': unsupported dtype F8_E4M3");
    expect_parse_error("{\"w\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                       "tensor 'w': unknown dtype");
    expect_parse_error("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                       "tensor 'w': 'dtype' must be a string");
    expect_parse_error("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                       "tensor 'w': missing 'dtype'");
    /* shape. */
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                       "tensor 'w': byte range 0..8 holds 8 bytes but shape x F32 needs 12");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                       "tensor 'w': shape[0] must be a non-negative integer");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                       "shape[0] must be a non-negative integer");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}",
                       4, "tensor 'w': shape has 5 dimensions");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                       "\"data_offsets\":[0,4]}}",
                       4, "tensor 'w': shape element count overflows");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                       "\"data_offsets\":[0,4]}}",
                       4, "tensor 'w': shape byte size overflows");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4,
                       "'shape' must be an array");
    /* offsets. */
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
                       "tensor 'w': data_offsets end 8 beyond the data section (4 bytes)");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
                       "tensor 'w': data_offsets begin 4 > end 0");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
                       "'data_offsets' must be an array [begin, end]");
    expect_parse_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
                       "'data_offsets' must hold non-negative integers");
    expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                       12, "tensor 'b': byte range 4..12 overlaps tensor 'a' (0..8)");
    expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                       4, "overlaps tensor");
    /* duplicates and other entries. */
    expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                       8, "header: duplicate tensor name");
    expect_parse_error("{\"a\":[1]}", 0, "tensor 'a': entry must be an object");
    expect_parse_error("{\"__metadata__\":{\"k\":1}}", 0, "'__metadata__' entry 'k'");
    expect_parse_error("{\"__metadata__\":[]}", 0, "'__metadata__' must be an object");
}

static void test_length_errors(void **state)
{
    (void)state;
    acc_safetensors_header parsed;
    acc_error err = {0};
    uint8_t short_file[5] = {1, 0, 0, 0, 0};
    assert_int_equal(acc_safetensors_parse(short_file, sizeof short_file, "s.st", &parsed, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "s.st: header: file is 5 bytes"));

    /* Header length larger than the file. */
    image file = image_build("{}", NULL, 0);
    file.bytes[0] = 200;
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size, "s.st", &parsed, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "header length 200 exceeds"));
    file.bytes[7] = 0xff; /* near 2^64: must not wrap */
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size, "s.st", &parsed, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "exceeds"));
    free(file.bytes);

    /* Truncated data section: the tensor's end lies past the end. */
    file =
        image_build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", NULL, 16);
    assert_int_equal(acc_safetensors_parse(file.bytes, file.size - 3, "s.st", &parsed, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "s.st: tensor 'w': data_offsets end 16 beyond"));
    /* Truncated inside the header. */
    assert_int_equal(acc_safetensors_parse(file.bytes, 20, "s.st", &parsed, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "s.st: header: header length"));
    free(file.bytes);
}

static void test_open_file_and_find(void **state)
{
    (void)state;
    char dir[64];
    make_temp_dir(dir);
    write_image(dir, "model.safetensors",
                "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"a\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[4,16]}}",
                16);
    acc_weight_set *set = NULL;
    acc_error err = {0};
    assert_int_equal(acc_weight_set_open_dir(dir, &set, &err), ACC_OK);
    assert_int_equal(acc_weight_set_count(set), 2);
    const acc_tensor_view *view = acc_weight_set_find(set, "a");
    assert_non_null(view);
    assert_int_equal(view->dtype, ACC_DTYPE_BF16);
    assert_int_equal(view->nbytes, 12);
    assert_non_null(strstr(view->file, "model.safetensors"));
    assert_ptr_equal(acc_weight_set_find(set, "b"), acc_weight_set_at(set, 0));
    assert_null(acc_weight_set_find(set, "c"));
    assert_null(acc_weight_set_at(set, 2));
    acc_weight_set_close(set);

    /* Errors through the file API name the path. */
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_bytes(path, "\x05\0\0\0\0\0\0\0{oops", 13);
    assert_int_equal(acc_weight_set_open_file(path, &set, &err), ACC_ERR_INPUT);
    assert_null(set);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "header: invalid JSON"));
    remove_dir(dir);
}

static void test_nonexistent_paths(void **state)
{
    (void)state;
    acc_weight_set *set = NULL;
    acc_error err = {0};
    assert_int_equal(acc_weight_set_open_file("/nonexistent/x.safetensors", &set, &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "/nonexistent/x.safetensors: cannot open"));
    assert_int_equal(acc_weight_set_open_dir("/nonexistent/dir", &set, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "/nonexistent/dir"));

    char dir[64];
    make_temp_dir(dir);
    assert_int_equal(acc_weight_set_open_dir(dir, &set, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "no model.safetensors or model.safetensors.index.json"));
    remove_dir(dir);
}

/* ---- sharded sets ------------------------------------------------------- */

#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"

static void write_two_shards(const char *dir)
{
    write_image(dir, SHARD1,
                "{\"__metadata__\":{\"format\":\"pt\"},"
                "\"embed\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                "\"layer0\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]}}",
                20);
    write_image(dir, SHARD2,
                "{\"layer1\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8);
}

static void expect_dir_error(const char *dir, const char *needle)
{
    acc_weight_set *set = NULL;
    acc_error err = {0};
    acc_status status = acc_weight_set_open_dir(dir, &set, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle))
        fail_msg("status %d, message '%s', wanted '%s'", status, err.message, needle);
    assert_null(set);
}

static void test_sharded_valid(void **state)
{
    (void)state;
    char dir[64];
    make_temp_dir(dir);
    write_two_shards(dir);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":28},\"weight_map\":{"
               "\"layer1\":\"" SHARD2 "\",\"embed\":\"" SHARD1 "\",\"layer0\":\"" SHARD1 "\"}}");
    acc_weight_set *set = NULL;
    acc_error err = {0};
    assert_int_equal(acc_weight_set_open_dir(dir, &set, &err), ACC_OK);
    assert_int_equal(acc_weight_set_count(set), 3);
    const acc_tensor_view *layer1 = acc_weight_set_find(set, "layer1");
    assert_non_null(layer1);
    assert_non_null(strstr(layer1->file, SHARD2));
    assert_int_equal(layer1->dtype, ACC_DTYPE_BF16);
    assert_non_null(strstr(acc_weight_set_find(set, "embed")->file, SHARD1));
    assert_non_null(acc_weight_set_find(set, "layer0"));
    acc_weight_set_close(set);
    remove_dir(dir);
}

static void test_sharded_errors(void **state)
{
    (void)state;
    char dir[64];
    make_temp_dir(dir);
    write_two_shards(dir);

    /* Tensor listed in the wrong shard. */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer1\":\"" SHARD1 "\",\"embed\":\"" SHARD1
               "\",\"layer0\":\"" SHARD2 "\"}}");
    expect_dir_error(dir, "index places it in shard");

    /* A tensor in a shard that the index does not list. */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer1\":\"" SHARD2 "\",\"embed\":\"" SHARD1 "\"}}");
    expect_dir_error(dir, "tensor 'layer0': not listed in");

    /* Listed but absent from its shard. */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer1\":\"" SHARD2 "\",\"embed\":\"" SHARD1
               "\",\"layer0\":\"" SHARD1 "\",\"ghost\":\"" SHARD2 "\"}}");
    expect_dir_error(dir, "tensor 'ghost': not found in shard '" SHARD2 "'");

    /* Missing shard file. */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer1\":\"model-00003-of-00003.safetensors\"}}");
    expect_dir_error(dir, "shard 'model-00003-of-00003.safetensors' does not exist");

    /* Shard names must stay inside the directory. */
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer1\":\"../evil.safetensors\"}}");
    expect_dir_error(dir, "shard must be a file name");

    /* Index structure. */
    write_text(dir, "model.safetensors.index.json", "{\"metadata\":{}}");
    expect_dir_error(dir, "field 'weight_map': missing");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":[]}");
    expect_dir_error(dir, "field 'weight_map': must be an object");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"a\":1}}");
    expect_dir_error(dir, "tensor 'a': shard must be a file name");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":");
    expect_dir_error(dir, "model.safetensors.index.json: line 1");

    /* The same tensor in two shards. */
    write_image(dir, SHARD2,
                "{\"layer0\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"layer0\":\"" SHARD2 "\",\"embed\":\"" SHARD1 "\"}}");
    expect_dir_error(dir, "tensor 'layer0': present in both");

    /* A broken shard is reported with its path. */
    write_image(dir, SHARD2, "{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
    expect_dir_error(dir, SHARD2 ": tensor 'x': unsupported dtype I64");
    remove_dir(dir);
}

/* ---- fixture models (present once tests/fixtures/models lands) ---------- */

static void test_fixture_models_open(void **state)
{
    (void)state;
    DIR *handle = opendir(ACCINF_FIXTURES "/models");
    if (!handle)
        skip();
    struct dirent *entry;
    int opened = 0;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/models/%s", ACCINF_FIXTURES, entry->d_name);
        if (!acc_path_is_dir(dir))
            continue;
        acc_weight_set *set = NULL;
        acc_error err = {0};
        if (acc_weight_set_open_dir(dir, &set, &err) != ACC_OK)
            fail_msg("%s: %s", dir, err.message);
        assert_true(acc_weight_set_count(set) > 0);
        for (size_t i = 0; i < acc_weight_set_count(set); i++) {
            const acc_tensor_view *view = acc_weight_set_at(set, i);
            assert_ptr_equal(acc_weight_set_find(set, view->name), view);
        }
        acc_weight_set_close(set);
        opened++;
    }
    closedir(handle);
    if (opened == 0)
        skip();
}

/* Opens one fixture model's weights and config; skips when fixtures are absent. */
static acc_weight_set *open_fixture(const char *model, acc_hparams *hp)
{
    char dir[512], config[600];
    snprintf(dir, sizeof dir, "%s/models/%s", ACCINF_FIXTURES, model);
    snprintf(config, sizeof config, "%s/config.json", dir);
    if (!acc_path_is_dir(dir))
        return NULL;
    acc_error err = {0};
    acc_weight_set *set = NULL;
    if (acc_weight_set_open_dir(dir, &set, &err) != ACC_OK)
        fail_msg("%s", err.message);
    if (acc_hparams_load(config, hp, &err) != ACC_OK)
        fail_msg("%s", err.message);
    return set;
}

static void test_fixture_specifics(void **state)
{
    (void)state;
    acc_hparams hp;
    /* Sharded: four shards, every tensor of the index found in its shard. */
    acc_weight_set *set = open_fixture("mistral-tiny", &hp);
    if (!set)
        skip();
    assert_int_equal(acc_weight_set_count(set), 21);
    const acc_tensor_view *head = acc_weight_set_find(set, "lm_head.weight");
    assert_non_null(head);
    assert_non_null(strstr(head->file, "model-00003-of-00004.safetensors"));
    const acc_tensor_view *embed = acc_weight_set_find(set, "model.embed_tokens.weight");
    assert_int_equal(embed->shape[0], hp.vocab_size);
    assert_int_equal(embed->shape[1], hp.hidden_size);
    assert_int_equal(hp.arch, ACC_ARCH_MISTRAL);
    assert_int_equal(hp.sliding_window, 0);
    acc_weight_set_close(set);

    /* Stored bf16, tied embeddings, llama3 rope scaling. */
    set = open_fixture("llama3-tiny", &hp);
    assert_non_null(set);
    embed = acc_weight_set_find(set, "model.embed_tokens.weight");
    assert_non_null(embed);
    assert_int_equal(embed->dtype, ACC_DTYPE_BF16);
    assert_int_equal(embed->shape[0], hp.vocab_size);
    assert_int_equal(embed->shape[1], hp.hidden_size);
    assert_null(acc_weight_set_find(set, "lm_head.weight"));
    assert_int_equal(hp.tie_word_embeddings, 1);
    assert_int_equal(hp.rope_scaling, ACC_ROPE_SCALING_LLAMA3);
    assert_int_equal(hp.head_dim, 16);
    assert_int_equal(hp.n_kv_heads, 1);
    float first[4];
    acc_convert_to_f32(embed->dtype, embed->data, first, 4);
    for (int i = 0; i < 4; i++)
        assert_true(first[i] == first[i] && first[i] > -100.0f && first[i] < 100.0f);
    acc_weight_set_close(set);

    /* GPT-2: Conv1D weights, tied head. */
    set = open_fixture("gpt2-tiny", &hp);
    assert_non_null(set);
    embed = acc_weight_set_find(set, "transformer.wte.weight");
    assert_non_null(embed);
    assert_int_equal(embed->shape[0], hp.vocab_size);
    assert_int_equal(embed->shape[1], hp.hidden_size);
    assert_int_equal(hp.intermediate_size, 4 * hp.hidden_size);
    acc_weight_set_close(set);

    /* Qwen2: q/k/v biases present as tensors, as hparams says. */
    set = open_fixture("qwen2-tiny", &hp);
    assert_non_null(set);
    assert_int_equal(hp.attention_bias, 1);
    assert_non_null(acc_weight_set_find(set, "model.layers.0.self_attn.q_proj.bias"));
    assert_null(acc_weight_set_find(set, "model.layers.0.self_attn.o_proj.bias"));
    acc_weight_set_close(set);

    set = open_fixture("granite-tiny", &hp);
    assert_non_null(set);
    assert_true(hp.embedding_multiplier == 6.0f && hp.logits_scaling == 4.0f);
    acc_weight_set_close(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_dtypes_round_trip),
        cmocka_unit_test(test_scalar_and_empty_header),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_length_errors),
        cmocka_unit_test(test_open_file_and_find),
        cmocka_unit_test(test_nonexistent_paths),
        cmocka_unit_test(test_sharded_valid),
        cmocka_unit_test(test_sharded_errors),
        cmocka_unit_test(test_fixture_models_open),
        cmocka_unit_test(test_fixture_specifics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
