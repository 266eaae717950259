/*
 * test_program_map.c — the pure program mapping and the criteria file:
 * the AIU driver's worked example (criteria {2x512, 1x512, 2x256, 1x256},
 * granularity = max, batch-tkv limit 1024, batch <= 2, context 512),
 * program switches over 65 new tokens, the tie rule, batch ordering,
 * the real 36-program criteria file, default criteria and parse errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "accinf/program.h"

static const acc_program_criteria example_programs[4] = {
    {2, 512, 2, 512}, {1, 512, 1, 512}, {2, 256, 2, 256}, {1, 256, 1, 256}};
static const acc_criteria example = {(acc_program_criteria *)example_programs, 4};

static int shape_program(const acc_shape_map *map, int batch, int len)
{
    for (int i = 0; i < map->n; i++)
        if (map->shapes[i].batch == batch && map->shapes[i].prompt_len == len)
            return map->shapes[i].programs[0];
    return -2;
}

static void test_worked_example(void **state)
{
    (void)state;
    acc_shape_map map;
    acc_error err;
    assert_int_equal(acc_shape_map_build(&example, 2, 512, 8, 1024, 0, &map, &err), ACC_OK);
    assert_int_equal(map.n_steps, 1);
    /* program 3 <- (1,64),(1,128),(1,192); program 1 <- (1,256..448) */
    for (int L = 64; L <= 192; L += 64)
        assert_int_equal(shape_program(&map, 1, L), 3);
    for (int L = 256; L <= 448; L += 64)
        assert_int_equal(shape_program(&map, 1, L), 1);
    /* program 2 <- (2,64..192); program 0 <- (2,256..448) */
    for (int L = 64; L <= 192; L += 64)
        assert_int_equal(shape_program(&map, 2, L), 2);
    for (int L = 256; L <= 448; L += 64)
        assert_int_equal(shape_program(&map, 2, L), 0);
    /* L runs over range(64, 512 - 8, 64): 7 lengths x 2 batches, nothing else */
    assert_int_equal(map.n, 14);
    assert_int_equal(shape_program(&map, 1, 512), -2);
    /* ascending batch, then length */
    assert_int_equal(map.shapes[0].batch, 1);
    assert_int_equal(map.shapes[0].prompt_len, 64);
    assert_int_equal(map.shapes[13].batch, 2);
    acc_shape_map_free(&map);

    assert_int_equal(acc_shape_map_build(&example, 2, 512, 8, 1024, 1, &map, &err), ACC_OK);
    assert_int_equal(map.shapes[0].batch, 2);
    assert_int_equal(map.shapes[0].prompt_len, 64);
    assert_int_equal(map.shapes[7].batch, 1);
    acc_shape_map_free(&map);
}

static void test_program_switch(void **state)
{
    (void)state;
    int seq[2];
    assert_int_equal(acc_program_steps(65), 2);
    assert_int_equal(acc_program_steps(64), 1);
    assert_int_equal(acc_program_steps(8), 1);
    assert_int_equal(acc_program_sequence(&example, 1, 192, 65, 1024, seq), 0);
    assert_int_equal(seq[0], 3);
    assert_int_equal(seq[1], 1);
    acc_shape_map map;
    acc_error err;
    assert_int_equal(acc_shape_map_build(&example, 2, 512, 65, 1024, 0, &map, &err), ACC_OK);
    assert_int_equal(map.n_steps, 2);
    int found = 0;
    for (int i = 0; i < map.n; i++) {
        if (map.shapes[i].batch == 1 && map.shapes[i].prompt_len == 192) {
            assert_int_equal(map.shapes[i].programs[0], 3);
            assert_int_equal(map.shapes[i].programs[1], 1);
            found = 1;
        }
        /* (2,448) would need tkv 513 at its second step: never listed */
        assert_false(map.shapes[i].prompt_len >= 448);
    }
    assert_true(found);
    acc_shape_map_free(&map);
}

static void test_feasibility_and_cost(void **state)
{
    (void)state;
    const acc_program_criteria *p = &example_programs[0];
    assert_true(acc_program_feasible(p, 2, 449, 1024));
    assert_false(acc_program_feasible(p, 2, 513, 0));   /* tkv > max_tkv */
    assert_false(acc_program_feasible(p, 3, 64, 0));    /* batch > max_batch */
    assert_false(acc_program_feasible(p, 2, 513, 2048));
    assert_false(acc_program_feasible(&example_programs[2], 2, 200, 256)); /* b*t > limit */
    assert_int_equal(acc_program_padding(p, 1, 65), 2 * 512 - 65);
    assert_int_equal(acc_program_padding(&example_programs[3], 1, 256), 0);
    assert_int_equal(acc_program_pick(&example, 3, 64, 0), -1);
    /* tie: equal padding goes to the larger batch granularity */
    acc_program_criteria tie_programs[2] = {{4, 256, 1, 256}, {4, 256, 2, 256}};
    acc_criteria tie = {tie_programs, 2};
    assert_int_equal(acc_program_padding(&tie_programs[0], 2, 256),
                     acc_program_padding(&tie_programs[1], 2, 256));
    assert_int_equal(acc_program_pick(&tie, 2, 256, 0), 1);
    /* ... and an equal granularity keeps the lower id */
    acc_program_criteria same_programs[2] = {{4, 256, 2, 256}, {4, 256, 2, 256}};
    acc_criteria same = {same_programs, 2};
    assert_int_equal(acc_program_pick(&same, 2, 256, 0), 0);
}

static void test_real_criteria_file(void **state)
{
    (void)state;
    acc_criteria c;
    acc_error err;
    assert_int_equal(acc_criteria_load(ACCINF_FIXTURES "/criteria/dpp-all-criterion.json", &c,
                                       &err),
                     ACC_OK);
    assert_int_equal(c.n, 36);
    assert_int_equal(c.programs[0].max_batch, 4);
    assert_int_equal(c.programs[0].max_tkv, 32768);
    assert_int_equal(c.programs[35].max_tkv, 24576);
    /* batch 1, short prompt: 1 x 4096 (id 21) and 2 x 2048 (id 22) pad the
     * same; the tie goes to the larger batch granularity */
    assert_int_equal(acc_program_pick(&c, 1, 65, 0), 22);
    assert_int_equal(acc_program_pick(&c, 1, 2100, 0), 21);
    /* batch 32 at tkv 3000: 32 x 3072 (id 32) beats 32 x 4096 (id 3) */
    assert_int_equal(acc_program_pick(&c, 32, 3000, 0), 32);
    /* round trip through JSON */
    char *json = acc_criteria_to_json(&c, &err);
    assert_non_null(json);
    acc_criteria back;
    assert_int_equal(acc_criteria_parse(json, strlen(json), "round-trip", &back, &err), ACC_OK);
    assert_int_equal(back.n, 36);
    assert_memory_equal(back.programs, c.programs, 36 * sizeof *c.programs);
    free(json);
    acc_criteria_free(&back);
    acc_criteria_free(&c);
}

static void expect_parse_error(const char *text, const char *needle)
{
    acc_criteria c;
    acc_error err = {0};
    acc_status st = acc_criteria_parse(text, strlen(text), "p.json", &c, &err);
    assert_int_equal(st, ACC_ERR_INPUT);
    if (!strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
    assert_null(c.programs);
}

static void test_criteria_errors(void **state)
{
    (void)state;
    expect_parse_error("{\"programs\": [", "p.json:1:");
    expect_parse_error("[]", "expected an object");
    expect_parse_error("{}", "missing \"programs\"");
    expect_parse_error("{\"programs\": {}}", "programs: expected an array");
    expect_parse_error("{\"programs\": []}", "empty");
    expect_parse_error("{\"programs\": [1]}", "programs[0]: expected an object");
    expect_parse_error("{\"programs\": [{\"max_batch\":1,\"max_tkv\":64,\"batch_granularity\":1}]}",
                       "programs[0]: missing 'tkv_granularity'");
    expect_parse_error("{\"programs\": [{\"max_batch\":1,\"max_tkv\":64,\"batch_granularity\":1,"
                       "\"tkv_granularity\":64},{\"max_batch\":0,\"max_tkv\":64,"
                       "\"batch_granularity\":1,\"tkv_granularity\":64}]}",
                       "programs[1].max_batch: expected an integer");
    expect_parse_error("{\"programs\": [{\"max_batch\":1,\"max_tkv\":\"64\",\"batch_granularity\":1,"
                       "\"tkv_granularity\":64}]}",
                       "programs[0].max_tkv");
    expect_parse_error("{\"programs\": [], \"programs\": []}", "p.json:1:");
}

static void test_default_criteria(void **state)
{
    (void)state;
    acc_criteria c;
    acc_error err;
    assert_int_equal(acc_criteria_default(2, 1024, 0, &c, &err), ACC_OK);
    /* batches 1, 2 x tkv 1024, 512, 256 */
    assert_int_equal(c.n, 6);
    for (int i = 0; i < c.n; i++) {
        assert_int_equal(c.programs[i].batch_granularity, c.programs[i].max_batch);
        assert_int_equal(c.programs[i].tkv_granularity, c.programs[i].max_tkv);
        assert_int_equal(c.programs[i].max_tkv % 64, 0);
    }
    /* every shape of the context gets a program */
    acc_shape_map map;
    assert_int_equal(acc_shape_map_build(&c, 2, 1024, 8, 0, 0, &map, &err), ACC_OK);
    assert_int_equal(map.n, 2 * 15);
    acc_shape_map_free(&map);
    acc_criteria_free(&c);
    /* a limit drops the large ones */
    assert_int_equal(acc_criteria_default(4, 1000, 1024, &c, &err), ACC_OK);
    for (int i = 0; i < c.n; i++)
        assert_true((int64_t)c.programs[i].max_batch * c.programs[i].max_tkv <= 1024);
    acc_criteria_free(&c);
    assert_int_equal(acc_criteria_default(0, 1024, 0, &c, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_criteria_default(2, 1024, 100, &c, &err), ACC_ERR_INPUT);
}

static void test_shape_map_errors(void **state)
{
    (void)state;
    acc_shape_map map;
    acc_error err;
    assert_int_equal(acc_shape_map_build(&example, 0, 512, 8, 0, 0, &map, &err), ACC_ERR_INPUT);
    assert_int_equal(acc_shape_map_build(&example, 2, 512, 512, 0, 0, &map, &err), ACC_ERR_INPUT);
    /* nothing fits: an empty map, not an error */
    assert_int_equal(acc_shape_map_build(&example, 2, 512, 8, 10, 0, &map, &err), ACC_OK);
    assert_int_equal(map.n, 0);
    acc_shape_map_free(&map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),     cmocka_unit_test(test_program_switch),
        cmocka_unit_test(test_feasibility_and_cost), cmocka_unit_test(test_real_criteria_file),
        cmocka_unit_test(test_criteria_errors),    cmocka_unit_test(test_default_criteria),
        cmocka_unit_test(test_shape_map_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
