/*
 * test_validate_spec.c — the --programs SPEC grammar: ids, '*', '?', every
 * constraint form (N means >= N), and the errors for malformed specs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "accinf/validate.h"

static acc_program_spec parse_ok(const char *text)
{
    acc_program_spec spec;
    acc_error err = {0};
    if (acc_program_spec_parse(text, &spec, &err) != ACC_OK)
        fail_msg("'%s': %s", text, err.message);
    return spec;
}

static void expect_error(const char *text, const char *needle)
{
    acc_program_spec spec;
    acc_error err = {0};
    assert_int_equal(acc_program_spec_parse(text, &spec, &err), ACC_ERR_INPUT);
    if (!strstr(err.message, needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.message, needle);
}

static void test_forms(void **state)
{
    (void)state;
    acc_program_spec s = parse_ok("3");
    assert_int_equal(s.kind, ACC_SPEC_PROGRAM);
    assert_int_equal(s.program, 3);
    assert_int_equal(s.batch.op, ACC_CMP_GE);
    assert_int_equal(s.batch.value, 0);
    s = parse_ok("*");
    assert_int_equal(s.kind, ACC_SPEC_EACH);
    s = parse_ok("?:2,128");
    assert_int_equal(s.kind, ACC_SPEC_ANY);
    assert_int_equal(s.batch.op, ACC_CMP_GE);
    assert_int_equal(s.batch.value, 2);
    assert_int_equal(s.prompt_len.op, ACC_CMP_GE);
    assert_int_equal(s.prompt_len.value, 128);
    s = parse_ok("12:<4,>=256");
    assert_int_equal(s.program, 12);
    assert_int_equal(s.batch.op, ACC_CMP_LT);
    assert_int_equal(s.prompt_len.op, ACC_CMP_GE);
    s = parse_ok("0:>1,<=448");
    assert_int_equal(s.batch.op, ACC_CMP_GT);
    assert_int_equal(s.prompt_len.op, ACC_CMP_LE);
    assert_int_equal(s.prompt_len.value, 448);
    s = parse_ok("*:==2,==64");
    assert_int_equal(s.batch.op, ACC_CMP_EQ);
    assert_int_equal(s.prompt_len.op, ACC_CMP_EQ);
    assert_int_equal(s.prompt_len.value, 64);
}

static void test_holds(void **state)
{
    (void)state;
    acc_constraint ge = {ACC_CMP_GE, 2}, gt = {ACC_CMP_GT, 2}, le = {ACC_CMP_LE, 2},
                   lt = {ACC_CMP_LT, 2}, eq = {ACC_CMP_EQ, 2};
    assert_true(acc_constraint_holds(ge, 2) && !acc_constraint_holds(ge, 1));
    assert_true(acc_constraint_holds(gt, 3) && !acc_constraint_holds(gt, 2));
    assert_true(acc_constraint_holds(le, 2) && !acc_constraint_holds(le, 3));
    assert_true(acc_constraint_holds(lt, 1) && !acc_constraint_holds(lt, 2));
    assert_true(acc_constraint_holds(eq, 2) && !acc_constraint_holds(eq, 3));
    char buf[16];
    acc_constraint_format(le, buf, sizeof buf);
    assert_string_equal(buf, "<=2");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "empty SPEC");
    expect_error("x", "program must be a number");
    expect_error("-1", "program must be a number");
    expect_error("1a", "program must be a number");
    expect_error("**", "program must be a number");
    expect_error("1:", "want <batch>,<prompt length>");
    expect_error("1:2", "want <batch>,<prompt length>");
    expect_error("1:2,", "prompt length constraint is empty");
    expect_error("1:,64", "batch constraint is empty");
    expect_error("1:x,64", "batch constraint 'x'");
    expect_error("1:=2,64", "batch constraint '=2'");
    expect_error("1:<>2,64", "batch constraint '<>2'");
    expect_error("1:2,64,3", "too many fields");
    expect_error("1:2,64:3", "too many fields");
    expect_error("1:2, 64", "prompt length constraint ' 64'");
    expect_error("1:2,99999999999", "up to 10^9");
    expect_error("1:2,<", "prompt length constraint '<'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_holds),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
