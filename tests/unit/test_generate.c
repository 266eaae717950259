/*
 * test_generate.c — acc_generate on the fixture models: greedy ids equal
 * Hugging Face's, every streamed piece is complete UTF-8 and the pieces add
 * up to the final text, stop strings cut the text (and are never streamed),
 * max_new_tokens / the context end generation, and bad requests are
 * refused before any work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "accinf/engine.h"
#include "accinf/model.h"
#include "accinf/sampler.h"

typedef struct stream_capture {
    char text[65536];
    size_t size;
    int pieces;
    int bad_piece; /* a piece that was not complete UTF-8 */
} stream_capture;

static void capture_text(void *user, const char *text, size_t size)
{
    stream_capture *c = user;
    if (!acc_utf8_valid(text, size, NULL) || size == 0)
        c->bad_piece = 1;
    if (c->size + size < sizeof c->text) {
        memcpy(c->text + c->size, text, size);
        c->size += size;
    }
    c->pieces++;
}

typedef struct fixture {
    acc_model *model;
    acc_engine *engine;
    json_t *reference;
} fixture;

static void fixture_open(fixture *f, const char *name, int max_context)
{
    char path[1024];
    acc_error err = {0};
    snprintf(path, sizeof path, "%s/models/%s", ACCINF_FIXTURES, name);
    if (acc_model_open(path, &f->model, &err) != ACC_OK)
        fail_msg("%s", err.message);
    acc_engine_options options = {.threads = 1, .max_context = max_context};
    if (acc_engine_create(f->model, &options, &f->engine, &err) != ACC_OK)
        fail_msg("%s", err.message);
    snprintf(path, sizeof path, "%s/models/%s/reference.json", ACCINF_FIXTURES, name);
    json_error_t jerr;
    f->reference = json_load_file(path, 0, &jerr);
    assert_non_null(f->reference);
}

static void fixture_close(fixture *f)
{
    acc_engine_destroy(f->engine);
    acc_model_close(f->model);
    json_decref(f->reference);
}

static int32_t *json_ids(json_t *array, size_t *n)
{
    *n = json_array_size(array);
    int32_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < *n; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(array, i));
    return ids;
}

static void test_greedy_matches_reference_and_streams(void **state)
{
    (void)state;
    const char *models[] = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        fixture f = {0};
        fixture_open(&f, models[m], 0);
        json_t *c = json_array_get(json_object_get(f.reference, "cases"), 0);
        size_t n_prompt, n_greedy;
        int32_t *prompt = json_ids(json_object_get(c, "ids"), &n_prompt);
        int32_t *greedy = json_ids(json_object_get(c, "greedy"), &n_greedy);
        stream_capture cap = {0};
        acc_generate_options o = {.max_new_tokens = (int)n_greedy,
                                  .sampling = {.temperature = 0, .top_p = 1},
                                  .on_text = capture_text, .user = &cap};
        acc_generate_result r;
        acc_error err = {0};
        assert_int_equal(acc_generate(f.engine, prompt, n_prompt, &o, &r, &err), ACC_OK);
        assert_int_equal(r.n_ids, n_greedy);
        assert_memory_equal(r.ids, greedy, n_greedy * sizeof *greedy);
        assert_string_equal(r.stop_reason, "length");
        assert_false(cap.bad_piece);
        assert_int_equal(cap.size, r.text_size);
        assert_memory_equal(cap.text, r.text, r.text_size);
        assert_true(r.prefill_seconds > 0);
        acc_generate_result_free(&r);
        free(prompt);
        free(greedy);
        fixture_close(&f);
    }
}

/* Sampled runs on byte-level models produce partial characters; every
 * piece must still be complete UTF-8, the sum equal the text, and the text
 * equal the decoding of all ids at once (nothing emitted too early, when a
 * character was still incomplete). */
static void test_sampled_pieces_are_complete_utf8(void **state)
{
    (void)state;
    fixture f = {0};
    fixture_open(&f, "gpt2-tiny", 0);
    int32_t prompt[] = {128, 251, 78, 128, 108}; /* "Ünï": whole characters */
    int held_back = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        stream_capture cap = {0};
        acc_generate_options o = {.max_new_tokens = 40, .ignore_eos = 1,
                                  .sampling = {.temperature = 1.5f, .top_p = 1, .seed = seed},
                                  .on_text = capture_text, .user = &cap};
        acc_generate_result r;
        acc_error err = {0};
        assert_int_equal(acc_generate(f.engine, prompt, 5, &o, &r, &err), ACC_OK);
        assert_int_equal(r.n_ids, 40);
        assert_false(cap.bad_piece);
        assert_int_equal(cap.size, r.text_size);
        assert_memory_equal(cap.text, r.text, r.text_size);
        char *whole = NULL;
        size_t whole_size = 0;
        assert_int_equal(acc_tokenizer_decode(acc_model_tokenizer(f.model), r.ids, r.n_ids, 1,
                                              &whole, &whole_size, &err),
                         ACC_OK);
        assert_int_equal(whole_size, r.text_size);
        assert_memory_equal(whole, r.text, whole_size);
        if (cap.pieces < (int)r.n_ids - 1)
            held_back = 1;
        free(whole);
        acc_generate_result_free(&r);
    }
    assert_true(held_back); /* the runs did exercise holding text back */
    fixture_close(&f);
}

static void test_stop_string_cuts_text(void **state)
{
    (void)state;
    fixture f = {0};
    fixture_open(&f, "llama-tiny", 0);
    json_t *c = json_array_get(json_object_get(f.reference, "cases"), 1);
    size_t n_prompt;
    int32_t *prompt = json_ids(json_object_get(c, "ids"), &n_prompt);
    acc_generate_options o = {.max_new_tokens = 24, .sampling = {.temperature = 0, .top_p = 1}};
    acc_generate_result full;
    acc_error err = {0};
    assert_int_equal(acc_generate(f.engine, prompt, n_prompt, &o, &full, &err), ACC_OK);
    assert_true(full.text_size > 8);

    /* stop at 3 bytes from the middle of the text (on character boundaries) */
    size_t at = full.text_size / 2;
    while (at > 0 && ((unsigned char)full.text[at] & 0xC0) == 0x80)
        at--;
    size_t end = at + 1;
    while (end < full.text_size && end - at < 3) {
        end++;
        while (end < full.text_size && ((unsigned char)full.text[end] & 0xC0) == 0x80)
            end++;
    }
    char stop[64] = {0};
    memcpy(stop, full.text + at, end - at);
    const char *first = strstr(full.text, stop);
    assert_non_null(first);
    size_t want = (size_t)(first - full.text);

    const char *stops[] = {"zzz-not-there", stop};
    stream_capture cap = {0};
    o.stop_strings = stops;
    o.n_stop_strings = 2;
    o.on_text = capture_text;
    o.user = &cap;
    acc_generate_result cut;
    assert_int_equal(acc_generate(f.engine, prompt, n_prompt, &o, &cut, &err), ACC_OK);
    assert_string_equal(cut.stop_reason, "stop_string");
    assert_int_equal(cut.text_size, want);
    assert_memory_equal(cut.text, full.text, want);
    assert_int_equal(cap.size, want);
    assert_true(cut.n_ids <= full.n_ids);
    assert_memory_equal(cut.ids, full.ids, cut.n_ids * sizeof *cut.ids);
    acc_generate_result_free(&full);
    acc_generate_result_free(&cut);
    free(prompt);
    fixture_close(&f);
}

static void test_context_and_bad_requests(void **state)
{
    (void)state;
    fixture f = {0};
    fixture_open(&f, "llama-tiny", 12);
    int32_t prompt[10] = {1, 366, 306, 322, 359, 299, 329, 306, 362, 466};
    acc_generate_options o = {.max_new_tokens = 20, .ignore_eos = 1,
                              .sampling = {.temperature = 0, .top_p = 1}};
    acc_generate_result r;
    acc_error err = {0};
    /* 10 prompt tokens in a context of 12: 3 new tokens (the last needs no slot) */
    assert_int_equal(acc_generate(f.engine, prompt, 10, &o, &r, &err), ACC_OK);
    assert_int_equal(r.n_ids, 3);
    assert_string_equal(r.stop_reason, "length");
    acc_generate_result_free(&r);

    int32_t long_prompt[13] = {1};
    assert_int_equal(acc_generate(f.engine, long_prompt, 13, &o, &r, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "context"));
    assert_int_equal(acc_generate(f.engine, prompt, 0, &o, &r, &err), ACC_ERR_INPUT);
    int32_t bad_id[2] = {1, 100000};
    assert_int_equal(acc_generate(f.engine, bad_id, 2, &o, &r, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "vocabulary"));
    const char *empty_stop[] = {""};
    o.stop_strings = empty_stop;
    o.n_stop_strings = 1;
    assert_int_equal(acc_generate(f.engine, prompt, 10, &o, &r, &err), ACC_ERR_INPUT);
    o.n_stop_strings = 0;
    o.sampling.top_p = 0;
    assert_int_equal(acc_generate(f.engine, prompt, 10, &o, &r, &err), ACC_ERR_INPUT);
    o.sampling.top_p = 1;
    o.max_new_tokens = 0;
    assert_int_equal(acc_generate(f.engine, prompt, 10, &o, &r, &err), ACC_OK);
    assert_int_equal(r.n_ids, 0);
    assert_int_equal(r.text_size, 0);
    acc_generate_result_free(&r);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_matches_reference_and_streams),
        cmocka_unit_test(test_sampled_pieces_are_complete_utf8),
        cmocka_unit_test(test_stop_string_cuts_text),
        cmocka_unit_test(test_context_and_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
