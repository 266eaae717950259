/*
 * test_program.c — compiled programs on a fixture model: one prefill and
 * one decode program per criteria entry with memory plans, the disk cache
 * (hit on the second compile, settings in the key, a corrupted file
 * detected and replanned, list, clear), the engine running each step on
 * the program that fits and refusing a step none fits, and the debug
 * layer perturbation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/engine.h"
#include "accinf/program.h"

#define MODEL ACCINF_FIXTURES "/models/llama-tiny"

static const acc_program_criteria example_programs[4] = {
    {2, 128, 2, 128}, {1, 128, 1, 128}, {2, 64, 2, 64}, {1, 64, 1, 64}};
static const acc_criteria example = {(acc_program_criteria *)example_programs, 4};

typedef struct fixture {
    acc_model *model;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    acc_error err;
    if (acc_model_open(MODEL, &f->model, &err) != ACC_OK)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/accinf-test-programs-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    acc_error err;
    int removed;
    acc_program_cache_clear(f->dir, &removed, &err);
    char path[128];
    snprintf(path, sizeof path, "%s/programs", f->dir);
    rmdir(path);
    rmdir(f->dir);
    acc_model_close(f->model);
    free(f);
    return 0;
}

static acc_compile_options options_for(const fixture *f)
{
    acc_compile_options o = {.target = "cpu", .dtype = "f32", .criteria = &example,
                             .batch_tkv_limit = 0, .prefill_chunk = 96, .cache_dir = f->dir};
    return o;
}

static void test_compile_and_cache(void **state)
{
    fixture *f = *state;
    acc_error err = {0};
    acc_compile_options o = options_for(f);
    acc_program_set *set;
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    assert_int_equal(acc_program_set_count(set), 8);
    for (int i = 0; i < 8; i++) {
        const acc_program *p = acc_program_set_at(set, i);
        assert_int_equal(p->id, i / 2);
        assert_int_equal(p->phase, i % 2 ? ACC_PHASE_DECODE : ACC_PHASE_PREFILL);
        assert_true(p->arena_bytes > 0);
        assert_int_equal(strlen(p->key), 64);
        if (p->phase == ACC_PHASE_DECODE) {
            assert_int_equal(p->batch_bucket, example_programs[i / 2].max_batch);
            assert_int_equal(p->token_bucket, example_programs[i / 2].max_tkv);
            /* a decode plan is bound for batch rows: far smaller than prefill's */
            assert_true(p->arena_bytes < acc_program_set_at(set, i - 1)->arena_bytes);
        } else {
            assert_int_equal(p->token_bucket, example_programs[i / 2].max_tkv < 96 ? 64 : 96);
        }
    }
    /* distinct buckets, distinct keys; equal buckets share a key */
    assert_string_not_equal(acc_program_set_at(set, 1)->key, acc_program_set_at(set, 3)->key);
    assert_string_equal(acc_program_set_at(set, 0)->key, acc_program_set_at(set, 2)->key);
    assert_int_equal(acc_program_set_max_step_tokens(set), 96);
    char key1[65];
    memcpy(key1, acc_program_set_at(set, 1)->key, 65);
    acc_program_set_free(set);

    /* second compile: every plan from the cache */
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(acc_program_set_at(set, i)->from_cache, 1);
    acc_program_set_free(set);

    /* settings are part of the key */
    acc_setting settings[1] = {{(char *)"threads", (char *)"2", (char *)"flag"}};
    o.settings = settings;
    o.n_settings = 1;
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    assert_string_not_equal(acc_program_set_at(set, 1)->key, key1);
    assert_int_equal(acc_program_set_at(set, 1)->from_cache, 0);
    acc_program_set_free(set);
    o.settings = NULL;
    o.n_settings = 0;

    /* a corrupted cache file is detected, replanned and rewritten */
    char path[256];
    snprintf(path, sizeof path, "%s/programs/%s.json", f->dir, key1);
    char *text;
    size_t size;
    assert_int_equal(acc_read_file(path, &text, &size, &err), ACC_OK);
    char *digit = strpbrk(strchr(text, '\n') + 1, "123456789");
    *digit = *digit == '9' ? '1' : (char)(*digit + 1);
    assert_int_equal(acc_write_file_atomic(path, text, size, &err), ACC_OK);
    free(text);
    acc_cached_program *entries;
    int n;
    assert_int_equal(acc_program_cache_list(f->dir, &entries, &n, &err), ACC_OK);
    /* 2 prefill + 4 decode buckets, twice (without and with the setting) */
    assert_int_equal(n, 12);
    int invalid = 0;
    for (int i = 0; i < n; i++)
        invalid += !entries[i].valid;
    assert_int_equal(invalid, 1);
    acc_program_cache_list_free(entries, n);
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    assert_int_equal(acc_program_set_at(set, 1)->from_cache, 0);
    assert_int_equal(acc_program_set_at(set, 3)->from_cache, 1);
    acc_program_set_free(set);
    assert_int_equal(acc_program_cache_list(f->dir, &entries, &n, &err), ACC_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(entries[i].valid, 1);
    acc_program_cache_list_free(entries, n);

    int removed = 0;
    assert_int_equal(acc_program_cache_clear(f->dir, &removed, &err), ACC_OK);
    assert_int_equal(removed, 12);
    assert_int_equal(acc_program_cache_list(f->dir, &entries, &n, &err), ACC_OK);
    assert_int_equal(n, 0);
    acc_program_cache_list_free(entries, n);
}

static void test_compile_errors(void **state)
{
    fixture *f = *state;
    acc_error err = {0};
    acc_compile_options o = options_for(f);
    acc_program_set *set;
    o.target = "tpu";
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "available: cpu"));
    o.target = "cpu";
    o.dtype = "q4_K_M";
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "f32 programs only"));
}

static void test_pick(void **state)
{
    fixture *f = *state;
    acc_error err = {0};
    acc_compile_options o = options_for(f);
    o.no_cache = 1;
    acc_program_set *set;
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    /* decode follows the AIU mapping */
    assert_int_equal(acc_program_set_pick(set, 1, 1, 1, 40), 2 * 3 + 1);
    assert_int_equal(acc_program_set_pick(set, 1, 2, 2, 40), 2 * 2 + 1);
    assert_int_equal(acc_program_set_pick(set, 1, 1, 1, 100), 2 * 1 + 1);
    assert_int_equal(acc_program_set_pick(set, 1, 2, 2, 100), 2 * 0 + 1);
    assert_int_equal(acc_program_set_pick(set, 1, 3, 3, 10), -1);
    assert_int_equal(acc_program_set_pick(set, 1, 1, 1, 129), -1);
    /* prefill: the smallest token bucket that holds the step */
    assert_int_equal(acc_program_set_at(set, acc_program_set_pick(set, 0, 1, 50, 50))->token_bucket,
                     64);
    assert_int_equal(acc_program_set_at(set, acc_program_set_pick(set, 0, 1, 90, 90))->token_bucket,
                     96);
    assert_int_equal(acc_program_set_pick(set, 0, 1, 97, 97), -1);
    acc_program_set_free(set);
}

static void test_engine_programs(void **state)
{
    fixture *f = *state;
    acc_error err = {0};
    acc_compile_options o = options_for(f);
    o.no_cache = 1;
    acc_program_set *set;
    assert_int_equal(acc_program_set_compile(f->model, &o, &set, &err), ACC_OK);
    acc_engine_options plain = {.threads = 1, .max_context = 200, .max_sequences = 2};
    acc_engine_options with = plain;
    with.programs = set;
    acc_engine *a, *b;
    assert_int_equal(acc_engine_create(f->model, &plain, &a, &err), ACC_OK);
    assert_int_equal(acc_engine_create(f->model, &with, &b, &err), ACC_OK);
    int vocab = acc_model_hparams(f->model)->vocab_size;
    float *la = malloc((size_t)vocab * sizeof *la), *lb = malloc((size_t)vocab * sizeof *lb);
    int32_t prompt[70];
    for (int i = 0; i < 70; i++)
        prompt[i] = (int32_t)(i * 7 % vocab);
    int sa, sb;
    assert_int_equal(acc_engine_seq_create(a, &sa, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_create(b, &sb, &err), ACC_OK);
    assert_int_equal(acc_engine_last_program(b), -1);
    assert_int_equal(acc_engine_forward_one(a, sa, prompt, 70, la, &err), ACC_OK);
    assert_int_equal(acc_engine_forward_one(b, sb, prompt, 70, lb, &err), ACC_OK);
    /* programs pick, they do not change the numbers */
    assert_memory_equal(la, lb, (size_t)vocab * sizeof *la);
    const acc_program *p = acc_program_set_at(set, acc_engine_last_program(b));
    assert_int_equal(p->phase, ACC_PHASE_PREFILL);
    assert_int_equal(p->token_bucket, 96);
    /* decode at tkv 71: batch 1 -> program 1 (1 x 128) */
    assert_int_equal(acc_engine_forward_one(b, sb, prompt, 1, lb, &err), ACC_OK);
    p = acc_program_set_at(set, acc_engine_last_program(b));
    assert_int_equal(p->phase, ACC_PHASE_DECODE);
    assert_int_equal(p->id, 1);
    /* grow to 128 tokens, then a step at tkv 129 fits no program */
    assert_int_equal(acc_engine_forward_one(b, sb, prompt, 57, lb, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_length(b, sb), 128);
    assert_int_equal(acc_engine_forward_one(b, sb, prompt, 1, lb, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "no compiled program fits a decode step"));
    assert_int_equal(acc_engine_seq_length(b, sb), 128);
    acc_engine_destroy(a);
    acc_engine_destroy(b);

    /* the debug perturbation changes the logits; a bad layer is an error */
    acc_engine_options perturbed = plain;
    perturbed.debug_perturb = 1;
    perturbed.debug_perturb_layer = 1;
    assert_int_equal(acc_engine_create(f->model, &perturbed, &a, &err), ACC_OK);
    assert_int_equal(acc_engine_seq_create(a, &sa, &err), ACC_OK);
    assert_int_equal(acc_engine_forward_one(a, sa, prompt, 70, lb, &err), ACC_OK);
    double diff = 0;
    for (int i = 0; i < vocab; i++)
        diff += fabs((double)la[i] - lb[i]);
    assert_true(diff / vocab > 1e-3);
    acc_engine_destroy(a);
    perturbed.debug_perturb_layer = 2;
    assert_int_equal(acc_engine_create(f->model, &perturbed, &a, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "perturb layer: 2"));
    free(la);
    free(lb);
    acc_program_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_and_cache),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_engine_programs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
