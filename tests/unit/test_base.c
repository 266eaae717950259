/*
 * test_base.c — errors, UTF-8 validation, f16/bf16 conversion, atomic write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accinf/base.h"
#include "accinf/tensor.h"

static void test_error_wrap_prepends_context(void **state)
{
    (void)state;
    acc_error err = {0};
    assert_int_equal(acc_error_set(&err, ACC_ERR_INPUT, "bad magic"), ACC_ERR_INPUT);
    acc_error_wrap(&err, "%s", "model.gguf");
    assert_string_equal(err.message, "model.gguf: bad magic");
    assert_int_equal(err.status, ACC_ERR_INPUT);
}

static void test_utf8_validation(void **state)
{
    (void)state;
    size_t bad = 0;
    assert_true(acc_utf8_valid("h\xc3\xa9llo \xf0\x9f\x98\x80", 11, &bad));
    assert_false(acc_utf8_valid("ab\xc3", 3, &bad));
    assert_int_equal(bad, 2);
    assert_false(acc_utf8_valid("\xc0\xaf", 2, &bad)); /* overlong */
    assert_false(acc_utf8_valid("\xed\xa0\x80", 3, &bad)); /* surrogate */
}

static void test_half_conversions_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float value = acc_f16_to_f32((uint16_t)h);
        if (value != value)
            continue; /* nan */
        assert_int_equal(acc_f32_to_f16(value), h);
    }
    assert_true(acc_bf16_to_f32(acc_f32_to_bf16(1.5f)) == 1.5f);
    assert_int_equal(acc_f32_to_bf16(1.00390625f), 0x3F80); /* ties to even */
    assert_true(acc_f16_to_f32(acc_f32_to_f16(70000.0f)) > 65504.0f); /* inf */
}

static void test_atomic_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/accinf-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    acc_error err = {0};
    char *path = acc_path_join(dir, "out.txt", &err);
    assert_int_equal(acc_write_file_atomic(path, "hello", 5, &err), ACC_OK);
    char *text = NULL;
    size_t size = 0;
    assert_int_equal(acc_read_file(path, &text, &size, &err), ACC_OK);
    assert_int_equal(size, 5);
    assert_string_equal(text, "hello");
    free(text);
    unlink(path);
    rmdir(dir);
    free(path);
    assert_int_equal(acc_read_file("/nonexistent/file", &text, &size, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "/nonexistent/file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_wrap_prepends_context),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_half_conversions_round_trip),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
