/*
 * test_tokenizer_fixtures.c — accinf's tokenizer against ids and texts
 * produced by Hugging Face `tokenizers` (tests/fixtures/tokenizers/NAME/
 * cases.json and the prompts of tests/fixtures/models/NAME/reference.json):
 * encode with and without special tokens, decode, and round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/tokenizer.h"

static int ids_equal(json_t *expected, const int32_t *ids, size_t n)
{
    if (!json_is_array(expected) || json_array_size(expected) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(expected, i)) != ids[i])
            return 0;
    return 1;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Returns the number of failed checks for one text. */
static int check_encode(const acc_tokenizer *tok, const char *where, json_t *text,
                        json_t *expected, int add_special)
{
    acc_error err = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    acc_status st = acc_tokenizer_encode(tok, json_string_value(text), json_string_length(text),
                                         add_special, &ids, &n, &err);
    int bad = st != ACC_OK || !ids_equal(expected, ids, n);
    if (bad) {
        char *want = json_dumps(expected, JSON_COMPACT);
        fprintf(stderr, "%s: encode(add_special=%d) of %.80s: %s\n  want: %.300s\n", where,
                add_special, json_string_value(text), st ? err.message : "mismatch", want);
        print_ids("got", ids, n);
        free(want);
    }
    free(ids);
    return bad;
}

static int check_case(const acc_tokenizer *tok, const char *where, json_t *c)
{
    json_t *text = json_object_get(c, "text");
    json_t *ids_plain = json_object_get(c, "ids_plain");
    json_t *decoded = json_object_get(c, "decoded");
    int bad = check_encode(tok, where, text, json_object_get(c, "ids"), 1);
    bad += check_encode(tok, where, text, ids_plain, 0);
    size_t n = json_array_size(ids_plain);
    int32_t *ids = calloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(ids_plain, i));
    char *out = NULL;
    size_t size = 0;
    acc_error err = {0};
    acc_status st = acc_tokenizer_decode(tok, ids, n, 0, &out, &size, &err);
    if (st != ACC_OK || size != json_string_length(decoded) ||
        memcmp(out, json_string_value(decoded), size) != 0) {
        fprintf(stderr, "%s: decode of %.80s\n  want: %.200s\n  got:  %.200s\n", where,
                json_string_value(text), json_string_value(decoded), out ? out : err.message);
        bad++;
    }
    /* Where HF's decode gives the text back, a round trip must too. */
    if (st == ACC_OK && size == json_string_length(text) &&
        memcmp(out, json_string_value(text), size) == 0) {
        int32_t *again = NULL;
        size_t n_again = 0;
        if (acc_tokenizer_encode(tok, out, size, 0, &again, &n_again, &err) != ACC_OK ||
            n_again != n || memcmp(again, ids, n * sizeof *ids) != 0) {
            fprintf(stderr, "%s: round trip of %.80s changed the ids\n", where, out);
            bad++;
        }
        free(again);
    }
    free(out);
    free(ids);
    return bad;
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t size = strlen(a) + strlen(b) + strlen(c) + 3;
    char *path = malloc(size);
    snprintf(path, size, "%s/%s/%s", a, b, c);
    return path;
}

static void test_tokenizer_fixture_cases(void **state)
{
    (void)state;
    const char *root = ACCINF_FIXTURES "/tokenizers";
    DIR *dir = opendir(root);
    if (!dir)
        skip();
    int tokenizers = 0, cases = 0, bad = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char *tok_path = join(root, entry->d_name, "tokenizer.json");
        char *cases_path = join(root, entry->d_name, "cases.json");
        acc_error err = {0};
        acc_tokenizer *tok = NULL;
        if (acc_tokenizer_load(tok_path, &tok, &err) != ACC_OK) {
            fprintf(stderr, "%s\n", err.message);
            bad++;
        } else {
            json_error_t jerr;
            json_t *doc = json_load_file(cases_path, JSON_ALLOW_NUL, &jerr);
            assert_non_null(doc);
            json_t *list = json_object_get(doc, "cases");
            for (size_t i = 0; i < json_array_size(list); i++) {
                bad += check_case(tok, entry->d_name, json_array_get(list, i));
                cases++;
            }
            json_decref(doc);
            tokenizers++;
        }
        acc_tokenizer_free(tok);
        free(tok_path);
        free(cases_path);
    }
    closedir(dir);
    fprintf(stderr, "tokenizer fixtures: %d tokenizers, %d cases, %d failures\n", tokenizers,
            cases, bad);
    assert_true(tokenizers > 0);
    assert_int_equal(bad, 0);
}

/* The model fixtures' reference.json holds tokenizer(prompt) ids. */
static void test_tokenizer_model_prompts(void **state)
{
    (void)state;
    const char *root = ACCINF_FIXTURES "/models";
    DIR *dir = opendir(root);
    if (!dir)
        skip();
    int checked = 0, bad = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char *tok_path = join(root, entry->d_name, "tokenizer.json");
        char *ref_path = join(root, entry->d_name, "reference.json");
        json_error_t jerr;
        json_t *ref = json_load_file(ref_path, 0, &jerr);
        acc_error err = {0};
        acc_tokenizer *tok = NULL;
        if (ref && acc_tokenizer_load(tok_path, &tok, &err) != ACC_OK) {
            fprintf(stderr, "%s\n", err.message);
            bad++;
        }
        json_t *list = json_object_get(ref, "cases");
        for (size_t i = 0; tok && i < json_array_size(list); i++) {
            json_t *c = json_array_get(list, i);
            bad += check_encode(tok, entry->d_name, json_object_get(c, "prompt"),
                                json_object_get(c, "ids"), 1);
            checked++;
        }
        acc_tokenizer_free(tok);
        json_decref(ref);
        free(tok_path);
        free(ref_path);
    }
    closedir(dir);
    fprintf(stderr, "model prompts: %d checked, %d failures\n", checked, bad);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_fixture_cases),
        cmocka_unit_test(test_tokenizer_model_prompts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
