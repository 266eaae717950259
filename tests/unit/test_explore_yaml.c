/*
 * test_explore_yaml.c — the explorer's reading of reallm YAML: sweep
 * semantics (cartesian order, associated_explore zipping), and every class
 * of bad input (syntax, unknown key, wrong type, negative value, empty sweep,
 * sweep over --max-points, alias bombs) reported as FILE:LINE:COL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/explore.h"
#include "explore/explore_model.h"
#include "explore/explore_yaml.h"

#define HW_BASE                                                                                \
    "Name: t\n"                                                                                \
    "Chip:\n"                                                                                  \
    "  chip_id: c\n"                                                                           \
    "  tech: 7nm\n"                                                                            \
    "  dataflow: roofline\n"                                                                   \
    "  perf: 100.0e+12\n"                                                                      \
    "  sram: 100.0e+6\n"                                                                       \
    "  sram_bw: 1.0e+12\n"                                                                     \
    "  pkg2pkg_io: {io_type: p2p, num: 2, bandwidth_per_io: 1.0e+11}\n"

#define PKG_SRV                                                                                \
    "Package:\n"                                                                               \
    "  num_chips: 1\n"                                                                         \
    "Server:\n"                                                                                \
    "  packages_per_lane: 2\n"                                                                 \
    "  num_lanes: 2\n"                                                                         \
    "  io: {io_type: s2s, num: 2, bandwidth_per_io: 1.0e+11}\n"

static const char MODEL[] = "Model: {name: m, num_layers: 4, d: 256, num_heads: 4}\n";

static acc_status check(const char *hw, const char *system, double max_points, acc_error *err)
{
    return acc_explore_check_text(hw, strlen(hw), MODEL, strlen(MODEL), NULL, 0, system,
                                  system ? strlen(system) : 0, max_points, err);
}

static void expect_hw_error(const char *hw, const char *needle)
{
    acc_error err = {0};
    acc_status status = check(hw, NULL, 1e6, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle))
        fail_msg("status %d, message '%s', wanted '%s'", status, err.message, needle);
}

static void expect_sys_error(const char *sys, const char *needle)
{
    acc_error err = {0};
    acc_status status = check(HW_BASE PKG_SRV, sys, 1e6, &err);
    if (status != ACC_ERR_INPUT || !strstr(err.message, needle))
        fail_msg("status %d, message '%s', wanted '%s'", status, err.message, needle);
}

static void test_valid_minimal(void **state)
{
    (void)state;
    acc_error err = {0};
    assert_int_equal(check(HW_BASE PKG_SRV, NULL, 1e6, &err), ACC_OK);
}

static void test_syntax_error(void **state)
{
    (void)state;
    expect_hw_error(HW_BASE PKG_SRV "  extra: [1, 2\n", "hw.yaml:");
    expect_hw_error(HW_BASE PKG_SRV "  extra: [1, 2\n", "YAML syntax error");
    expect_hw_error("Chip: {a: 1\n", "hw.yaml:2:1: YAML syntax error");
    expect_hw_error("", "hw.yaml:1:1: empty YAML document");
    expect_hw_error("- 1\n- 2\n", "hw.yaml:1:1: expected a mapping");
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_hw_error(HW_BASE "  frq: 1.0e+9\n" PKG_SRV, "hw.yaml:10:3: unknown key 'frq' in Chip");
    expect_hw_error(HW_BASE PKG_SRV "  colour: red\n", "hw.yaml:16:3: unknown key 'colour' in Server");
    expect_hw_error(HW_BASE PKG_SRV "Rack: 1\n", "hw.yaml:16:1: unknown key 'Rack'");
    expect_sys_error("num_servers: 1\nworkload: {max_batch: 4, seq: 1}\n",
                     "system.yaml:2:26: unknown key 'seq' in workload");
    expect_sys_error("num_servers: 1\ndefault_mapping: {t: 1, q: 2}\n",
                     "system.yaml:2:25: unknown key 'q' in default_mapping");
}

static void test_wrong_type(void **state)
{
    (void)state;
    expect_hw_error(HW_BASE "  freq: fast\n" PKG_SRV, "hw.yaml:10:9: Chip.freq: expected a number");
    expect_hw_error(HW_BASE "  freq: '1.0e+9'\n" PKG_SRV, "got the string '1.0e+9'");
    expect_hw_error(HW_BASE "  thermal_eval: 3\n" PKG_SRV, "Chip.thermal_eval: expected true or false");
    expect_hw_error(HW_BASE "  other_area: {a: 1}\n" PKG_SRV, "expected a number, got a mapping");
    expect_hw_error(HW_BASE "  dataflow2: 1\n" PKG_SRV, "unknown key 'dataflow2'");
    expect_hw_error(HW_BASE "Package: {num_chips: 1.5}\nServer: {packages_per_lane: 1}\n",
                    "hw.yaml:10:22: Package.num_chips: must be a whole number");
    expect_sys_error("num_servers: 1\nworkload:\n  eval_len: [256, 64]\n",
                     "system.yaml:3:14: eval_len: expected an [input_len, output_len] pair");
    expect_sys_error("num_servers: 1\nallreduce_algo: tree\n", "unknown algorithm 'tree'");
}

static void test_negative_and_missing(void **state)
{
    (void)state;
    expect_hw_error(HW_BASE "  other_area: -5\n" PKG_SRV,
                    "hw.yaml:10:15: Chip.other_area: must not be negative");
    expect_hw_error(HW_BASE "  other_area: [1, -5]\n" PKG_SRV, "hw.yaml:10:19: Chip.other_area: must not be negative");
    expect_hw_error(HW_BASE "Package:\n  num_chips: 0\nServer: {packages_per_lane: 1}\n",
                    "Package.num_chips: must be greater than zero");
    expect_hw_error("Chip: {tech: 7nm}\nPackage: {num_chips: 1}\nServer: {packages_per_lane: 1}\n",
                    "missing required key 'dataflow'");
    expect_sys_error("max_batch: 4\n", "give one of num_servers");
}

static void test_empty_sweep(void **state)
{
    (void)state;
    expect_hw_error(HW_BASE "Package:\n  num_chips: []\nServer: {packages_per_lane: 1}\n",
                    "hw.yaml:11:14: num_chips: empty sweep");
    expect_sys_error("num_servers: []\n", "system.yaml:1:14: num_servers: empty sweep");
}

static void test_max_points(void **state)
{
    (void)state;
    const char *hw = HW_BASE "  other_area: [1, 2, 3, 4, 5, 6]\n" PKG_SRV;
    acc_error err = {0};
    assert_int_equal(check(hw, "num_servers: [1, 2]\n", 12, &err), ACC_OK);
    assert_int_equal(check(hw, "num_servers: [1, 2]\n", 11, &err), ACC_ERR_INPUT);
    if (!strstr(err.message, "hw.yaml:10:15: sweep of 12 design points") ||
        !strstr(err.message, "--max-points 11"))
        fail_msg("message '%s'", err.message);
}

static void test_alias_bomb_and_duplicates(void **state)
{
    (void)state;
    expect_hw_error("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                    "YAML nodes after expanding aliases");
    expect_hw_error(HW_BASE "  tech: 5nm\n" PKG_SRV, "hw.yaml:10:3: duplicate key 'tech'");
}

/* Expands `text` (one mapping) and returns the variants' value of `key` as
 * text, joined by spaces. */
static void expand_values(const char *text, const char *keys, char *out, size_t cap)
{
    xarena arena = {0};
    acc_error err = {0};
    xnode *root, **variants;
    size_t n;
    assert_int_equal(xyaml_parse(&arena, "s.yaml", text, strlen(text), &root, &err), ACC_OK);
    if (xsweep_expand(&arena, root, &variants, &n, &err) != ACC_OK)
        fail_msg("%s", err.message);
    double counted;
    assert_int_equal(xsweep_count(root, &counted, &err), ACC_OK);
    assert_true(counted == (double)n);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char copy[64];
        snprintf(copy, sizeof copy, "%s", keys);
        for (char *k = strtok(copy, ","); k; k = strtok(NULL, ",")) {
            const xnode *v = xnode_get(variants[i], k);
            strncat(out, v && v->kind == XNODE_SCALAR ? v->text : "?", cap - strlen(out) - 1);
        }
        strncat(out, " ", cap - strlen(out) - 1);
    }
    xarena_free(&arena);
}

static void test_sweep_semantics(void **state)
{
    (void)state;
    char out[512];
    /* cartesian product, first key slowest */
    expand_values("a: [1, 2]\nb: [3, 4]\nc: 5\n", "a,b,c", out, sizeof out);
    assert_string_equal(out, "135 145 235 245 ");
    /* associated_explore: mappings keyed by the driver's values are picked in step */
    expand_values("associated_explore: config\nconfig: [X, Y, Z]\nch: {X: 8, Y: 8, Z: 12}\n"
                  "rate: 2\n",
                  "config,ch,rate", out, sizeof out);
    assert_string_equal(out, "X82 Y82 Z122 ");
    /* lists as long as the driver are zipped; a nested sweep still multiplies */
    expand_values("associated_explore: a\na: [1, 2]\nb: [5, 6]\nc: {X: [7, 8]}\n", "a,b", out,
                  sizeof out);
    assert_string_equal(out, "15 15 26 26 ");
    /* a list of mappings contributes every variant of every element */
    xarena arena = {0};
    acc_error err = {0};
    xnode *root;
    double n;
    const char *text = "hbm:\n  - {a: [1, 2], b: 3}\n  - {a: 4}\nx: [1, 2, 3]\n";
    assert_int_equal(xyaml_parse(&arena, "s.yaml", text, strlen(text), &root, &err), ACC_OK);
    assert_int_equal(xsweep_count(root, &n, &err), ACC_OK);
    assert_true(n == 9);
    xarena_free(&arena);
}

static void test_sweep_errors(void **state)
{
    (void)state;
    expect_sys_error("num_servers: 1\nassociated_explore: k\n", "no key 'k'");
    expect_sys_error("associated_explore: num_servers\nnum_servers: [1, 2]\nmax_batch: [4, 8, 16]\n",
                     "system.yaml:3:12: max_batch: list of 3 values cannot be zipped with 'num_servers'");
    expect_sys_error("associated_explore: n\nn: [a, b]\nnum_servers: {a: 1}\n",
                     "system.yaml:3:14: num_servers: no entry for associated value 'b'");
}

/* Every reference input of reallm v1 loads with its system file. */
static void test_reference_inputs_load(void **state)
{
    (void)state;
    static const char *const hw[] = {"b200", "cc_3d_baseline", "h100", "hbm_explore",
                                     "hw_example", "llmcompass_example", "tpuv4", "tpuv5p"};
    static const char *const models[] = {"bloom", "gopher", "gpt2", "gpt3", "llama2",
                                         "llama3-405B", "llama3-70B", "megatron", "mtnlg", "palm"};
    char path[1024];
    char *consts;
    size_t consts_size;
    acc_error err = {0};
    snprintf(path, sizeof path, "%s/reallm/inputs/hardware/constant/7nm_default.yaml",
             ACCINF_FIXTURES);
    assert_int_equal(acc_read_file(path, &consts, &consts_size, &err), ACC_OK);
    for (size_t h = 0; h < sizeof hw / sizeof *hw; h++) {
        char *hw_text, *sys_text;
        size_t hw_size, sys_size;
        snprintf(path, sizeof path, "%s/reallm/inputs/hardware/config/%s.yaml", ACCINF_FIXTURES,
                 hw[h]);
        assert_int_equal(acc_read_file(path, &hw_text, &hw_size, &err), ACC_OK);
        snprintf(path, sizeof path, "%s/reallm/inputs/software/system/%s.yaml", ACCINF_FIXTURES,
                 strcmp(hw[h], "hw_example") ? hw[h] : "sys_default");
        assert_int_equal(acc_read_file(path, &sys_text, &sys_size, &err), ACC_OK);
        for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
            char *model_text;
            size_t model_size;
            snprintf(path, sizeof path, "%s/reallm/inputs/software/model/%s.yaml",
                     ACCINF_FIXTURES, models[m]);
            assert_int_equal(acc_read_file(path, &model_text, &model_size, &err), ACC_OK);
            if (acc_explore_check_text(hw_text, hw_size, model_text, model_size, consts,
                                       consts_size, sys_text, sys_size, 1e6, &err) != ACC_OK)
                fail_msg("%s + %s: %s", hw[h], models[m], err.message);
            free(model_text);
        }
        free(hw_text);
        free(sys_text);
    }
    free(consts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_minimal),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_negative_and_missing),
        cmocka_unit_test(test_empty_sweep),
        cmocka_unit_test(test_max_points),
        cmocka_unit_test(test_alias_bomb_and_duplicates),
        cmocka_unit_test(test_sweep_semantics),
        cmocka_unit_test(test_sweep_errors),
        cmocka_unit_test(test_reference_inputs_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
