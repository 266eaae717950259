/*
 * test_validate.c — validation without a model: datasets (ShareGPT, RAG
 * JSONL, directories, their errors), case selection and prompt sampling
 * on the AIU worked example's criteria, the reference store (round trip,
 * corrupt, stale, other version), the top-k cross entropy and the case
 * summary.
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

#include "accinf/program.h"
#include "accinf/validate.h"

static void expect_message(const acc_error *err, const char *needle)
{
    if (!strstr(err->message, needle))
        fail_msg("message '%s' lacks '%s'", err->message, needle);
}

/* ---- datasets ---- */

static void test_sharegpt(void **state)
{
    (void)state;
    const char *text = "[{\"conversations\":[{\"from\":\"human\",\"value\":\"first\"},"
                       "{\"from\":\"gpt\",\"value\":\"answer\"}]},"
                       "{\"conversations\":[]},{\"id\":3},"
                       "{\"conversations\":[{\"value\":\"second\"}]}]";
    acc_dataset d;
    acc_error err = {0};
    assert_int_equal(acc_dataset_parse(ACC_DATASET_SHAREGPT, text, strlen(text), "s.json", &d,
                                       &err),
                     ACC_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.prompts[0], "first");
    assert_string_equal(d.prompts[1], "second");
    acc_dataset_free(&d);
    assert_int_equal(acc_dataset_parse(ACC_DATASET_SHAREGPT, "{}", 2, "s.json", &d, &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "s.json: expected a JSON array");
    assert_int_equal(acc_dataset_parse(ACC_DATASET_SHAREGPT, "[1,", 3, "s.json", &d, &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "s.json:1:");
    assert_int_equal(acc_dataset_parse(ACC_DATASET_SHAREGPT, "[]", 2, "s.json", &d, &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "no prompts");
    const char bad_utf8[] = "[{\"conversations\":[{\"value\":\"a\\udc00\"}]}]";
    assert_int_equal(acc_dataset_parse(ACC_DATASET_SHAREGPT, bad_utf8, strlen(bad_utf8), "s.json",
                                       &d, &err),
                     ACC_ERR_INPUT);
}

static void test_rag_jsonl(void **state)
{
    (void)state;
    const char *text = "\"plain string\"\n\n{\"question\":\"q?\",\"id\":1}\r\n"
                       "{\"prompt\":\"p\",\"text\":\"t\"}\n";
    acc_dataset d;
    acc_error err = {0};
    assert_int_equal(acc_dataset_parse(ACC_DATASET_RAG_FACTOID, text, strlen(text), "r.jsonl", &d,
                                       &err),
                     ACC_OK);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.prompts[0], "plain string");
    assert_string_equal(d.prompts[1], "q?");
    assert_string_equal(d.prompts[2], "p");
    acc_dataset_free(&d);
    const char *bad = "\"ok\"\n{\"prompt\": 3}\n";
    assert_int_equal(acc_dataset_parse(ACC_DATASET_RAG_FACTOID, bad, strlen(bad), "r.jsonl", &d,
                                       &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "r.jsonl:2:");
    const char *broken = "\"ok\"\n\"unterminated\n";
    assert_int_equal(acc_dataset_parse(ACC_DATASET_RAG_FACTOID, broken, strlen(broken), "r.jsonl",
                                       &d, &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "r.jsonl:2:");
}

static void test_custom_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/accinf-test-dataset-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    acc_dataset d;
    acc_error err = {0};
    assert_int_equal(acc_dataset_load(ACC_DATASET_CUSTOM, dir, &d, &err), ACC_ERR_INPUT);
    expect_message(&err, "no prompt files");
    snprintf(path, sizeof path, "%s/b.txt", dir);
    assert_int_equal(acc_write_file_atomic(path, "second", 6, &err), ACC_OK);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    assert_int_equal(acc_write_file_atomic(path, "first", 5, &err), ACC_OK);
    assert_int_equal(acc_dataset_load(ACC_DATASET_CUSTOM, dir, &d, &err), ACC_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.prompts[0], "first");
    assert_string_equal(d.prompts[1], "second");
    acc_dataset_free(&d);
    /* a directory is not a sharegpt file, a file is not a custom dataset */
    assert_int_equal(acc_dataset_load(ACC_DATASET_SHAREGPT, dir, &d, &err), ACC_ERR_INPUT);
    expect_message(&err, "is a directory");
    assert_int_equal(acc_dataset_load(ACC_DATASET_CUSTOM, path, &d, &err), ACC_ERR_INPUT);
    expect_message(&err, "must be a directory");
    unlink(path);
    snprintf(path, sizeof path, "%s/b.txt", dir);
    unlink(path);
    rmdir(dir);
    assert_int_equal(acc_dataset_load(ACC_DATASET_CUSTOM, "/nonexistent/x", &d, &err),
                     ACC_ERR_INPUT);
    expect_message(&err, "no such file");
    acc_dataset_type type;
    assert_int_equal(acc_dataset_type_parse("rag_factoid", &type, &err), ACC_OK);
    assert_int_equal(type, ACC_DATASET_RAG_FACTOID);
    assert_int_equal(acc_dataset_type_parse("squad", &type, &err), ACC_ERR_INPUT);
}

/* ---- cases ---- */

static const acc_program_criteria example_programs[4] = {
    {2, 512, 2, 512}, {1, 512, 1, 512}, {2, 256, 2, 256}, {1, 256, 1, 256}};
static const acc_criteria example = {(acc_program_criteria *)example_programs, 4};

/* prompts of the given lengths; token t of prompt i is 1000*i + t */
typedef struct prompt_set {
    int32_t *ids[16];
    int lengths[16];
    int n;
} prompt_set;

static void prompts_make(prompt_set *p, const int *lengths, int n)
{
    p->n = n;
    for (int i = 0; i < n; i++) {
        p->lengths[i] = lengths[i];
        p->ids[i] = malloc((size_t)lengths[i] * sizeof(int32_t));
        for (int t = 0; t < lengths[i]; t++)
            p->ids[i][t] = 1000 * i + t;
    }
}

static void prompts_free(prompt_set *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->ids[i]);
}

static acc_case_options example_options(void)
{
    acc_case_options o = {.criteria = &example, .max_batch = 2, .max_context = 512,
                          .new_tokens = 8, .batch_tkv_limit = 1024, .allow_truncation = 1,
                          .min_prompt_len = 32, .seed = 0};
    return o;
}

static acc_status select_cases(const acc_case_options *o, const char *const *spec_texts,
                               int n_specs, const prompt_set *p, acc_validate_case **cases,
                               int *n, acc_error *err)
{
    acc_program_spec specs[8];
    for (int i = 0; i < n_specs; i++)
        assert_int_equal(acc_program_spec_parse(spec_texts[i], &specs[i], err), ACC_OK);
    return acc_cases_select(o, specs, n_specs, (const int32_t *const *)p->ids, p->lengths, p->n,
                            cases, n, err);
}

static void test_cases_each_program(void **state)
{
    (void)state;
    prompt_set p;
    const int lengths[] = {40, 100, 300, 20, 500};
    prompts_make(&p, lengths, 5);
    acc_case_options o = example_options();
    acc_validate_case *cases;
    int n;
    acc_error err = {0};
    const char *star[] = {"*"};
    assert_int_equal(select_cases(&o, star, 1, &p, &cases, &n, &err), ACC_OK);
    assert_int_equal(n, 4);
    /* program order; each the first shape (ascending batch, then length) */
    assert_int_equal(cases[0].program, 0);
    assert_int_equal(cases[0].batch, 2);
    assert_int_equal(cases[0].prompt_len, 256);
    assert_int_equal(cases[1].program, 1);
    assert_int_equal(cases[1].batch, 1);
    assert_int_equal(cases[1].prompt_len, 256);
    assert_int_equal(cases[3].program, 3);
    assert_int_equal(cases[3].prompt_len, 64);
    for (int c = 0; c < n; c++) {
        /* prompt 0 pads to exactly L; the rest fit in L */
        assert_true(cases[c].prompt_lengths[0] > cases[c].prompt_len - 64);
        for (int s = 0; s < cases[c].batch; s++) {
            assert_true(cases[c].prompt_lengths[s] <= cases[c].prompt_len);
            assert_true(cases[c].prompt_lengths[s] >= 32);
            int src = cases[c].prompt_index[s];
            assert_memory_equal(cases[c].prompt_ids[s], p.ids[src],
                                (size_t)cases[c].prompt_lengths[s] * sizeof(int32_t));
        }
        assert_string_equal(cases[c].spec, "*");
    }
    /* (1,64) takes the 40-token prompt, (1,256) cuts the 300 or 500 one */
    assert_int_equal(cases[3].prompt_lengths[0], 40);
    assert_int_equal(cases[1].prompt_lengths[0], 256);
    acc_cases_free(cases, n);
    prompts_free(&p);
}

static void test_cases_constraints(void **state)
{
    (void)state;
    prompt_set p;
    const int lengths[] = {40, 100, 150, 300, 420, 60};
    prompts_make(&p, lengths, 6);
    acc_case_options o = example_options();
    acc_validate_case *cases;
    int n;
    acc_error err = {0};
    const char *specs[] = {"0:2,>=384", "2:==2,<=128", "?", "1:1,>300"};
    assert_int_equal(select_cases(&o, specs, 4, &p, &cases, &n, &err), ACC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(cases[0].program, 0);
    assert_int_equal(cases[0].prompt_len, 384);
    assert_int_equal(cases[1].program, 2);
    assert_int_equal(cases[1].prompt_len, 64);
    /* '?': the first shape at all, (1, 64) of program 3 */
    assert_int_equal(cases[2].program, 3);
    assert_int_equal(cases[2].batch, 1);
    assert_int_equal(cases[3].program, 1);
    assert_int_equal(cases[3].prompt_len, 320);
    acc_cases_free(cases, n);

    /* large batches first really puts them first */
    o.prioritize_large_batch = 1;
    const char *any[] = {"?"};
    assert_int_equal(select_cases(&o, any, 1, &p, &cases, &n, &err), ACC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(cases[0].batch, 2);
    assert_int_equal(cases[0].program, 2);
    acc_cases_free(cases, n);
    prompts_free(&p);
}

static void test_cases_homogeneous(void **state)
{
    (void)state;
    prompt_set p;
    const int lengths[] = {440, 380, 330, 270, 200};
    prompts_make(&p, lengths, 5);
    acc_case_options o = example_options();
    o.enforce_homogeneous = 1;
    acc_validate_case *cases;
    int n;
    acc_error err = {0};
    const char *specs[] = {"0:2,==448"};
    assert_int_equal(select_cases(&o, specs, 1, &p, &cases, &n, &err), ACC_OK);
    assert_int_equal(n, 1);
    /* sizes L, then L-64 .. down to the power of two below L */
    assert_int_equal(cases[0].n_enforced, 2);
    assert_int_equal(cases[0].enforced_sizes[0], 448);
    assert_int_equal(cases[0].enforced_sizes[1], 384);
    assert_int_equal(cases[0].prompt_lengths[0], 440);
    /* 380 and 330 both pad to 384 */
    assert_true(cases[0].prompt_lengths[1] == 380 || cases[0].prompt_lengths[1] == 330);
    acc_cases_free(cases, n);
    prompts_free(&p);
}

static void test_cases_errors(void **state)
{
    (void)state;
    prompt_set p;
    const int lengths[] = {40, 50, 10};
    prompts_make(&p, lengths, 3);
    acc_case_options o = example_options();
    acc_validate_case *cases;
    int n;
    acc_error err = {0};
    const char *long_one[] = {"1"};
    assert_int_equal(select_cases(&o, long_one, 1, &p, &cases, &n, &err), ACC_ERR_INPUT);
    expect_message(&err, "no prompt long enough for program 1");
    expect_message(&err, "the longest has 50");
    assert_null(cases);
    const char *missing[] = {"7"};
    assert_int_equal(select_cases(&o, missing, 1, &p, &cases, &n, &err), ACC_ERR_INPUT);
    expect_message(&err, "program 7 does not exist");
    const char *impossible[] = {"3:2,64"};
    assert_int_equal(select_cases(&o, impossible, 1, &p, &cases, &n, &err), ACC_ERR_INPUT);
    expect_message(&err, "no shape with batch >=2");
    /* without truncation a long prompt cannot stand in for a shorter size */
    const int long_lengths[] = {300, 500};
    prompt_set q;
    prompts_make(&q, long_lengths, 2);
    o.allow_truncation = 0;
    const char *three[] = {"3"};
    assert_int_equal(select_cases(&o, three, 1, &q, &cases, &n, &err), ACC_ERR_INPUT);
    expect_message(&err, "no prompt long enough");
    o.allow_truncation = 1;
    assert_int_equal(select_cases(&o, three, 1, &q, &cases, &n, &err), ACC_OK);
    assert_int_equal(cases[0].prompt_lengths[0], 64);
    acc_cases_free(cases, n);
    prompts_free(&q);
    prompts_free(&p);
}

/* ---- reference store ---- */

static void fill_reference(acc_reference *ref)
{
    for (int i = 0; i < ref->batch * ref->new_tokens; i++) {
        ref->tokens[i] = 7 * i;
        for (int j = 0; j < ref->top_k; j++) {
            ref->top_ids[i * ref->top_k + j] = 7 * i + j;
            ref->top_logits[i * ref->top_k + j] = 1.0f / (float)(j + 3) - 0.123456789f * (float)i;
        }
    }
}

static void test_reference_store(void **state)
{
    (void)state;
    acc_error err = {0};
    acc_reference ref, back;
    assert_int_equal(acc_reference_alloc(&ref, 2, 3, 4, &err), ACC_OK);
    fill_reference(&ref);
    char path[] = "/tmp/accinf-test-ref-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *key = "1111111111111111111111111111111111111111111111111111111111111111";
    assert_int_equal(acc_reference_save(path, key, &ref, &err), ACC_OK);
    assert_int_equal(acc_reference_load(path, key, 2, 3, 4, &back, &err), ACC_OK);
    assert_memory_equal(back.tokens, ref.tokens, 6 * sizeof(int32_t));
    assert_memory_equal(back.top_ids, ref.top_ids, 24 * sizeof(int32_t));
    assert_memory_equal(back.top_logits, ref.top_logits, 24 * sizeof(float)); /* exact */
    acc_reference_free(&back);

    /* stale: written for another key */
    const char *other = "2222222222222222222222222222222222222222222222222222222222222222";
    assert_int_equal(acc_reference_load(path, other, 2, 3, 4, &back, &err), ACC_ERR_INPUT);
    expect_message(&err, "stale reference");
    /* another shape than asked for */
    assert_int_equal(acc_reference_load(path, key, 2, 5, 4, &back, &err), ACC_ERR_INPUT);
    expect_message(&err, "new_tokens is not 5");

    char *text;
    size_t size;
    assert_int_equal(acc_read_file(path, &text, &size, &err), ACC_OK);
    /* one changed digit in the body */
    char *corrupt = malloc(size);
    memcpy(corrupt, text, size);
    char *body = strchr(corrupt, '\n') + 1;
    char *digit = strpbrk(body + 10, "123456789");
    *digit = *digit == '9' ? '8' : (char)(*digit + 1);
    assert_int_equal(acc_write_file_atomic(path, corrupt, size, &err), ACC_OK);
    assert_int_equal(acc_reference_load(path, key, 2, 3, 4, &back, &err), ACC_ERR_INPUT);
    expect_message(&err, "checksum");
    /* cut short */
    assert_int_equal(acc_write_file_atomic(path, text, size / 2, &err), ACC_OK);
    assert_int_equal(acc_reference_load(path, key, 2, 3, 4, &back, &err), ACC_ERR_INPUT);
    expect_message(&err, "corrupt reference");
    /* another format version */
    char *versioned = malloc(size + 1);
    memcpy(versioned, text, size);
    char *v = strstr(versioned, "\"version\":1");
    v[10] = '9';
    assert_int_equal(acc_write_file_atomic(path, versioned, size, &err), ACC_OK);
    assert_int_equal(acc_reference_load(path, key, 2, 3, 4, &back, &err), ACC_ERR_INPUT);
    expect_message(&err, "format version 9");
    free(versioned);
    free(corrupt);
    free(text);
    unlink(path);
    acc_reference_free(&ref);
}

/* A checksum-valid file whose logit overflows a float is corrupt, not inf
 * (the fuzz_reference finding); read from memory with acc_reference_parse. */
static void test_reference_parse_overflow(void **state)
{
    (void)state;
    const char *key = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *bodies[2] = {
        "{\"batch\":1,\"new_tokens\":1,\"top_k\":1,\"tokens\":[[3]],\"top_ids\":[3],"
        "\"top_logits\":[1.5]}",
        "{\"batch\":1,\"new_tokens\":1,\"top_k\":1,\"tokens\":[[3]],\"top_ids\":[3],"
        "\"top_logits\":[1e39]}"};
    for (int b = 0; b < 2; b++) {
        char checksum[65], file[512];
        acc_sha256_hex(bodies[b], strlen(bodies[b]), checksum);
        int n = snprintf(file, sizeof file,
                         "{\"format\":\"accinf-reference\",\"version\":1,\"key\":\"%s\","
                         "\"checksum\":\"%s\"}\n%s",
                         key, checksum, bodies[b]);
        acc_error err = {0};
        acc_reference ref;
        acc_status st = acc_reference_parse(file, (size_t)n, "mem", key, 1, 1, 1, &ref, &err);
        if (b == 0) {
            assert_int_equal(st, ACC_OK);
            assert_true(ref.top_logits[0] == 1.5f);
            acc_reference_free(&ref);
        } else {
            assert_int_equal(st, ACC_ERR_INPUT);
            expect_message(&err, "mem: corrupt reference: top_logits[0] is not a finite float");
            assert_null(ref.top_logits);
        }
    }
}

static void test_reference_key(void **state)
{
    (void)state;
    int32_t a[3] = {1, 2, 3}, b[3] = {1, 2, 4};
    int32_t *ids[1] = {a};
    int lengths[1] = {3}, sizes[2] = {64, 0}, programs[1] = {0};
    acc_validate_case c = {.batch = 1, .prompt_len = 64, .prompt_ids = ids,
                           .prompt_lengths = lengths, .enforced_sizes = sizes, .n_enforced = 1,
                           .programs = programs, .n_steps = 1};
    char k1[65], k2[65];
    acc_reference_key("m", &c, 8, 20, k1);
    acc_reference_key("m", &c, 8, 20, k2);
    assert_string_equal(k1, k2);
    ids[0] = b;
    acc_reference_key("m", &c, 8, 20, k2);
    assert_string_not_equal(k1, k2);
    ids[0] = a;
    c.n_enforced = 2; /* enforced sizes are part of the key */
    acc_reference_key("m", &c, 8, 20, k2);
    assert_string_not_equal(k1, k2);
    c.n_enforced = 1;
    acc_reference_key("other model", &c, 8, 20, k2);
    assert_string_not_equal(k1, k2);
    acc_reference_key("m", &c, 9, 20, k2);
    assert_string_not_equal(k1, k2);
}

/* ---- metrics ---- */

static void test_top_k(void **state)
{
    (void)state;
    const float v[6] = {0.5f, 2.0f, NAN, 2.0f, -1.0f, 3.0f};
    int32_t idx[4];
    acc_top_k(v, 6, 4, idx);
    assert_int_equal(idx[0], 5);
    assert_int_equal(idx[1], 1); /* ties: lower index first */
    assert_int_equal(idx[2], 3);
    assert_int_equal(idx[3], 0);
    int32_t all[6];
    acc_top_k(v, 6, 6, all);
    assert_int_equal(all[4], 4);
    assert_int_equal(all[5], -1); /* only 5 are not NaN */
}

static void test_cross_entropy(void **state)
{
    (void)state;
    float row[8] = {1.0f, 3.0f, 0.5f, 2.0f, -1.0f, 0.0f, 4.0f, 1.5f};
    int32_t ids[4];
    acc_top_k(row, 8, 4, ids);
    float ref[4];
    for (int j = 0; j < 4; j++)
        ref[j] = row[ids[j]];
    /* identical: the entropy of the top-4 distribution, below ln 4 */
    double lse = log(exp(4.0) + exp(3.0) + exp(2.0) + exp(1.5));
    double entropy = 0;
    for (int j = 0; j < 4; j++)
        entropy -= exp(ref[j] - lse) * (ref[j] - lse);
    assert_float_equal(acc_top_k_cross_entropy(ids, ref, 4, row), entropy, 1e-12);
    assert_true(entropy < log(4.0));
    /* a flat reference gives ln k whatever the candidate */
    float flat[4] = {2, 2, 2, 2};
    assert_float_equal(acc_top_k_cross_entropy(ids, flat, 4, row), log(4.0), 1e-12);
    /* a candidate peaked where the reference is unlikely costs a lot */
    float cand[8] = {0};
    cand[ids[3]] = 50.0f;
    double ce = acc_top_k_cross_entropy(ids, ref, 4, cand);
    assert_float_equal(ce, -(ref[3] - lse), 1e-9);
    assert_true(ce > log(4.0));
    /* the candidate's logits outside the top ids do not matter */
    float shifted[8];
    memcpy(shifted, row, sizeof row);
    shifted[4] = 100.0f;
    assert_float_equal(acc_top_k_cross_entropy(ids, ref, 4, shifted), entropy, 1e-12);
}

static void test_case_stats(void **state)
{
    (void)state;
    double ce[10] = {0.1, 0.2, 3.5, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    acc_case_stats s;
    acc_error err = {0};
    assert_int_equal(acc_case_stats_compute(ce, 10, 3.0, 0.1, &s, &err), ACC_OK);
    assert_int_equal(s.failures, 1);
    assert_float_equal(s.failure_rate, 0.1, 1e-12);
    assert_true(s.passed); /* a rate equal to the threshold passes */
    assert_float_equal(s.p99_ce, 3.5, 0);
    assert_float_equal(s.max_ce, 3.5, 0);
    assert_float_equal(s.mean_ce, 8.0 / 10, 1e-12);
    assert_int_equal(acc_case_stats_compute(ce, 10, 0.85, 0.1, &s, &err), ACC_OK);
    assert_int_equal(s.failures, 2);
    assert_false(s.passed);
    ce[0] = NAN;
    assert_int_equal(acc_case_stats_compute(ce, 10, 3.0, 0.1, &s, &err), ACC_OK);
    assert_int_equal(s.failures, 2); /* NaN fails */
    assert_int_equal(acc_case_stats_compute(ce, 0, 3.0, 0.1, &s, &err), ACC_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sharegpt),          cmocka_unit_test(test_rag_jsonl),
        cmocka_unit_test(test_custom_dir),        cmocka_unit_test(test_cases_each_program),
        cmocka_unit_test(test_cases_constraints), cmocka_unit_test(test_cases_homogeneous),
        cmocka_unit_test(test_cases_errors),      cmocka_unit_test(test_reference_store),
        cmocka_unit_test(test_reference_parse_overflow),
        cmocka_unit_test(test_reference_key),     cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_cross_entropy),     cmocka_unit_test(test_case_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
