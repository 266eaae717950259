/*
 * test_program_presets.c — compile presets composed like CM variations:
 * group defaults, one choice per group, combinations overriding in order of
 * specificity, conflicts between equally specific combinations, and the
 * errors of a bad presets file (with line:column).  Uses the shipped
 * examples/presets/cpu.yaml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "compile/presets.h"

static acc_presets *load_example(void)
{
    acc_presets *p = NULL;
    acc_error err = {0};
    if (acc_presets_load(ACCINF_EXAMPLES "/presets/cpu.yaml", &p, &err) != ACC_OK)
        fail_msg("%s", err.message);
    return p;
}

static void expect_setting(const acc_setting *s, int n, const char *name, const char *value,
                           const char *origin)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s[i].name, name) == 0) {
            assert_string_equal(s[i].value, value);
            if (origin)
                assert_string_equal(s[i].origin, origin);
            return;
        }
    }
    fail_msg("no setting %s", name);
}

static void test_defaults(void **state)
{
    (void)state;
    acc_presets *p = load_example();
    acc_setting *s;
    int n;
    acc_error err = {0};
    assert_int_equal(acc_presets_resolve(p, NULL, 0, &s, &n, &err), ACC_OK);
    /* scenario and dtype have defaults; batch, threads and context do not */
    assert_int_equal(n, 2);
    expect_setting(s, n, "max_batch", "1", "default preset singlestream");
    expect_setting(s, n, "dtype", "f32", "default preset f32");
    /* sorted by name */
    assert_string_equal(s[0].name, "dtype");
    acc_settings_free(s, n);
    acc_presets_free(p);
}

static void test_choices_and_specificity(void **state)
{
    (void)state;
    acc_presets *p = load_example();
    acc_setting *s;
    int n;
    acc_error err = {0};
    const char *offline_t1[] = {"offline", "t1"};
    assert_int_equal(acc_presets_resolve(p, offline_t1, 2, &s, &n, &err), ACC_OK);
    expect_setting(s, n, "max_batch", "4", "combination offline+t1");
    expect_setting(s, n, "threads", "1", "preset t1");
    acc_settings_free(s, n);
    /* the three-way combination is more specific than offline+t1 */
    const char *three[] = {"t1", "ctx256", "offline"};
    assert_int_equal(acc_presets_resolve(p, three, 3, &s, &n, &err), ACC_OK);
    expect_setting(s, n, "max_batch", "2", "combination offline+ctx256+t1");
    expect_setting(s, n, "prefill_chunk", "256", "combination offline+ctx256");
    expect_setting(s, n, "max_context", "256", "preset ctx256");
    acc_settings_free(s, n);
    /* the same preset twice is one choice */
    const char *twice[] = {"server", "server"};
    assert_int_equal(acc_presets_resolve(p, twice, 2, &s, &n, &err), ACC_OK);
    expect_setting(s, n, "batch_tkv_limit", "4096", "preset server");
    acc_settings_free(s, n);
    /* a batch choice and a scenario both set max_batch: the later group wins */
    const char *batch[] = {"server", "b8"};
    assert_int_equal(acc_presets_resolve(p, batch, 2, &s, &n, &err), ACC_OK);
    expect_setting(s, n, "max_batch", "8", "preset b8");
    acc_settings_free(s, n);
    acc_presets_free(p);
}

static void test_resolve_errors(void **state)
{
    (void)state;
    acc_presets *p = load_example();
    acc_setting *s;
    int n;
    acc_error err = {0};
    const char *two[] = {"offline", "server"};
    assert_int_equal(acc_presets_resolve(p, two, 2, &s, &n, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "both from group 'scenario'"));
    assert_null(s);
    const char *unknown[] = {"turbo"};
    assert_int_equal(acc_presets_resolve(p, unknown, 1, &s, &n, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "--preset turbo: unknown preset (known: singlestream"));
    acc_presets_free(p);

    /* equally specific combinations that disagree */
    const char *yaml = "groups:\n"
                       "  a: {presets: {a1: {threads: 1}}}\n"
                       "  b: {presets: {b1: {threads: 2}}}\n"
                       "  c: {presets: {c1: {threads: 3}}}\n"
                       "combinations:\n"
                       "  a1+b1: {max_batch: 2}\n"
                       "  b1+c1: {max_batch: 4}\n";
    assert_int_equal(acc_presets_parse(yaml, strlen(yaml), "y", &p, &err), ACC_OK);
    const char *all[] = {"a1", "b1", "c1"};
    assert_int_equal(acc_presets_resolve(p, all, 3, &s, &n, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "equally specific and set max_batch to 2 and 4"));
    const char *ab[] = {"a1", "b1"};
    assert_int_equal(acc_presets_resolve(p, ab, 2, &s, &n, &err), ACC_OK);
    expect_setting(s, n, "max_batch", "2", NULL);
    expect_setting(s, n, "threads", "2", "preset b1"); /* later group */
    acc_settings_free(s, n);
    acc_presets_free(p);
}

static void expect_parse_error(const char *yaml, const char *needle)
{
    acc_presets *p = NULL;
    acc_error err = {0};
    assert_int_equal(acc_presets_parse(yaml, strlen(yaml), "p.yaml", &p, &err), ACC_ERR_INPUT);
    if (!strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
    assert_null(p);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("groups: [1, 2", "p.yaml:");
    expect_parse_error("- 1\n", "expected a mapping with 'groups:'");
    expect_parse_error("groups: 3\n", "groups: expected a mapping");
    expect_parse_error("groups:\n  g: {default: x}\n", "groups.g: needs 'presets:'");
    expect_parse_error("groups:\n  g: {presets: {a: {speed: 1}}}\n",
                       "p.yaml:2:21: groups.g.presets.a: unknown setting 'speed'");
    expect_parse_error("groups:\n  g: {presets: {a: {max_batch: many}}}\n",
                       "max_batch: 'many' is not a non-negative integer");
    expect_parse_error("groups:\n  g: {default: b, presets: {a: {threads: 1}}}\n",
                       "groups.g.default: 'b' is not a preset of the group");
    expect_parse_error("groups:\n  g: {presets: {a: {threads: 1}}}\n  h: {presets: {a: {}}}\n",
                       "preset 'a' is defined twice");
    expect_parse_error("groups:\n  g: {presets: {a: {threads: 1}}}\ncombinations:\n  a+z: {}\n",
                       "combinations.a+z: unknown preset 'z'");
    expect_parse_error("groups:\n  g: {presets: {a: {threads: 1}, b: {threads: 2}}}\n"
                       "combinations:\n  a+b: {threads: 3}\n",
                       "two presets of group 'g' can never be chosen together");
    expect_parse_error("groups:\n  g: {presets: {a: {threads: 1}}}\ncombinations:\n  a: {}\n",
                       "name two or more presets");
    expect_parse_error("groups:\n  g: {presets: {a: {threads: 1}}}\nextra: 1\n",
                       "unknown top-level key");
}

static void test_settings_set(void **state)
{
    (void)state;
    acc_setting *s = NULL;
    int n = 0;
    acc_error err = {0};
    assert_int_equal(acc_settings_set(&s, &n, "threads", "2", "flag", &err), ACC_OK);
    assert_int_equal(acc_settings_set(&s, &n, "dtype", "f32", "default", &err), ACC_OK);
    assert_int_equal(acc_settings_set(&s, &n, "threads", "4", "preset t4", &err), ACC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(s[0].name, "dtype");
    assert_string_equal(acc_settings_get(s, n, "threads"), "4");
    assert_null(acc_settings_get(s, n, "max_batch"));
    assert_true(acc_setting_known("batch_tkv_limit"));
    assert_false(acc_setting_known("turbo"));
    acc_settings_free(s, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_choices_and_specificity),
        cmocka_unit_test(test_resolve_errors), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_settings_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
