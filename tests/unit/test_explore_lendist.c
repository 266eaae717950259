/*
 * test_explore_lendist.c — request-length distributions pinned by hand:
 * moments of pairs, integer-uniform and truncated-normal lengths, their
 * equal-probability points, CDFs, the KV percentile of input + output,
 * histogram files, the system-file keys (a `dist` mapping is one value,
 * not a sweep; the scalar eval_len is unchanged) and their errors.
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

#include "explore/explore_config.h"
#include "explore/explore_lendist.h"
#include "explore/explore_model.h"

static void near(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.12g, want %.12g (rel %.3g)", got, want, rel);
}

/* Parses YAML text whose top-level key `x` holds the distribution. */
static acc_status parse_dist(xarena *arena, const char *file, const char *yaml, xlen_src *s,
                             acc_error *err)
{
    xnode *root;
    acc_status status = xyaml_parse(arena, file, yaml, strlen(yaml), &root, err);
    if (status)
        return status;
    return xlen_src_parse(xnode_get(root, "x"), "input_len", s, err);
}

static void test_pairs(void **state)
{
    (void)state;
    xarena arena = {0};
    xlen_src s;
    acc_error err = {0};
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: pairs, pairs: [[2048, 3], [128, 1]]}\n",
                                &s, &err),
                     ACC_OK);
    /* weights 1:3 normalise to 0.25 / 0.75, sorted by length */
    xlendist d;
    xlen_discretize(&s, &d);
    assert_int_equal(d.n, 2);
    near(d.len[0], 128, 0);
    near(d.w[0], 0.25, 0);
    near(d.len[1], 2048, 0);
    near(d.mean, 0.25 * 128 + 0.75 * 2048, 1e-15);            /* 1568 */
    near(d.mean_sq, 0.25 * 16384 + 0.75 * 4194304.0, 1e-15); /* 3149824 */
    near(xlen_src_cdf(&s, 127), 0, 0);
    near(xlen_src_cdf(&s, 128), 0.25, 0);
    near(xlen_src_cdf(&s, 5000), 1, 0);
    assert_string_equal(d.desc, "pairs(2)");
    xlen_src_free(&s);

    /* four equal pairs into 2 bins: each bin the mean of its two lengths */
    assert_int_equal(parse_dist(&arena, "t.yaml",
                                "x: {dist: pairs, bins: 2, pairs: [[10, 1], [20, 1], [30, 1], "
                                "[40, 1]]}\n",
                                &s, &err),
                     ACC_OK);
    xlen_discretize(&s, &d);
    assert_int_equal(d.n, 2);
    near(d.len[0], 15, 0);
    near(d.len[1], 35, 0);
    near(d.w[0], 0.5, 0);
    near(d.mean, 25, 0);
    xlen_src_free(&s);
    xarena_free(&arena);
}

static void test_uniform(void **state)
{
    (void)state;
    xarena arena = {0};
    xlen_src s;
    acc_error err = {0};
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: uniform, min: 1, max: 10, bins: 3}\n",
                                &s, &err),
                     ACC_OK);
    xlendist d;
    xlen_discretize(&s, &d);
    /* 1..10 in three groups of 3, 3, 4 integers: means 2, 5, 8.5 */
    assert_int_equal(d.n, 3);
    near(d.len[0], 2, 0);
    near(d.w[0], 0.3, 1e-15);
    near(d.len[1], 5, 0);
    near(d.len[2], 8.5, 0);
    near(d.w[2], 0.4, 1e-15);
    near(d.mean, 5.5, 0);
    near(d.mean_sq, 38.5, 1e-15); /* (1 + 4 + ... + 100) / 10 */
    near(xlen_src_cdf(&s, 3.5), 0.3, 1e-15);
    near(xlen_src_cdf(&s, 0), 0, 0);
    near(xlen_src_cdf(&s, 10), 1, 0);
    /* fewer integers than bins: every integer is a point */
    xlen_src_free(&s);
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: uniform, min: 7, max: 9}\n", &s, &err),
                     ACC_OK);
    xlen_discretize(&s, &d);
    assert_int_equal(d.n, 3);
    near(d.len[1], 8, 0);
    xarena_free(&arena);
}

static void test_normal(void **state)
{
    (void)state;
    xarena arena = {0};
    xlen_src s;
    acc_error err = {0};
    /* truncated at mean +- 4 std by default: symmetric, so the mean stays;
     * variance std^2 (1 - 2 * 4 phi(4) / Z), Z = Phi(4) - Phi(-4) */
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: normal, mean: 1000, std: 200, bins: 2}\n",
                                &s, &err),
                     ACC_OK);
    xlendist d;
    xlen_discretize(&s, &d);
    near(d.mean, 1000, 1e-12);
    near(d.mean_sq - 1e6, 39957.17161489895, 1e-9);
    near(d.min, 200, 0);
    near(d.max, 1800, 0);
    /* halves at their conditional means: 1000 +- 200 (phi(0) - phi(4)) / (Phi(4) - 1/2) */
    assert_int_equal(d.n, 2);
    near(d.len[1], 1159.533485317455, 1e-9);
    near(d.len[0], 2000 - 1159.533485317455, 1e-9);
    near(d.w[0], 0.5, 0);
    /* cut at 1 below: a = -0.99, b = 4; mean 100 + 100 (phi(a) - phi(b)) / Z */
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: normal, mean: 100, std: 100}\n", &s,
                                &err),
                     ACC_OK);
    xlen_discretize(&s, &d);
    near(d.mean, 129.116935809091, 1e-11);
    near(d.mean_sq - d.mean * d.mean, 6261.666648980799, 1e-9);
    double m = 0;
    for (size_t i = 0; i < d.n; i++)
        m += d.w[i] * d.len[i];
    near(m, d.mean, 1e-6); /* the points keep the mean (up to the quantile search) */
    xarena_free(&arena);
}

static void test_sum_quantile(void **state)
{
    (void)state;
    xarena arena = {0};
    xlen_src l, g;
    acc_error err = {0};
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: pairs, pairs: [[128, 1], [2048, 1]]}\n",
                                &l, &err),
                     ACC_OK);
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: pairs, pairs: [[64, 9], [1024, 1]]}\n",
                                &g, &err),
                     ACC_OK);
    /* sums 192 (.45), 1152 (.05), 2112 (.45), 3072 (.05) */
    near(xlen_sum_quantile(&l, &g, 0.99), 3072, 0);
    near(xlen_sum_quantile(&l, &g, 0.90), 2112, 0);
    near(xlen_sum_quantile(&l, &g, 0.50), 1152, 0);
    near(xlen_sum_quantile(&l, &g, 0.45), 192, 0);
    near(xlen_sum_quantile(&l, &g, 1.0), 3072, 0);
    xlen_src_free(&l);
    xlen_src_free(&g);

    /* reallm's fixed lengths: the context is L + G whatever the percentile */
    xlen_src_point(&l, 2048);
    xlen_src_point(&g, 256);
    near(xlen_sum_quantile(&l, &g, 0.99), 2304, 0);

    /* uniform 64..4096 (4033 values) + {64: .7, 512: .3}: at x = 4474,
     * .7 + .3 (3962 - 63) / 4033 = .990045 >= .99; at 4473, .989970 */
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: uniform, min: 64, max: 4096}\n", &l,
                                &err),
                     ACC_OK);
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: pairs, pairs: [[64, .7], [512, .3]]}\n",
                                &g, &err),
                     ACC_OK);
    near(xlen_sum_quantile(&l, &g, 0.99), 4474, 0);
    xlen_src_free(&g);

    /* normal(1000, 100) + 100: Phi(z) = .99 Z + Phi(-4) gives z = 2.3256, ceil(1332.56) */
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: normal, mean: 1000, std: 100}\n", &l,
                                &err),
                     ACC_OK);
    xlen_src_point(&g, 100);
    near(xlen_sum_quantile(&l, &g, 0.99), 1333, 0);
    /* two normals (the 4000-point grid): numerical convolution gives 1460 */
    assert_int_equal(parse_dist(&arena, "t.yaml", "x: {dist: normal, mean: 200, std: 50}\n", &g,
                                &err),
                     ACC_OK);
    double q = xlen_sum_quantile(&l, &g, 0.99);
    assert_true(q >= 1460 && q <= 1461);
    xarena_free(&arena);
}

static void test_histogram(void **state)
{
    (void)state;
    char dir[] = "/tmp/accinf-lendist-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], yaml_name[256];
    snprintf(path, sizeof path, "%s/lengths.txt", dir);
    snprintf(yaml_name, sizeof yaml_name, "%s/system.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# length weight\n100, 1\n300\t3 # heavy\n\n200 0\n", f);
    fclose(f);
    xarena arena = {0};
    xlen_src s;
    acc_error err = {0};
    /* the file is found next to the YAML that names it */
    assert_int_equal(parse_dist(&arena, yaml_name, "x: {dist: histogram, file: lengths.txt}\n", &s,
                                &err),
                     ACC_OK);
    xlendist d;
    xlen_discretize(&s, &d);
    assert_int_equal(d.n, 3);
    near(d.mean, 0.25 * 100 + 0.75 * 300, 1e-15); /* 250 */
    near(xlen_src_cdf(&s, 250), 0.25, 1e-15);
    xlen_src_free(&s);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("100 1\n300 x\n", f);
    fclose(f);
    assert_int_equal(parse_dist(&arena, yaml_name, "x: {dist: histogram, file: lengths.txt}\n", &s,
                                &err),
                     ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "lengths.txt:2: expected 'length weight'"));
    assert_int_equal(parse_dist(&arena, yaml_name, "x: {dist: histogram, file: missing.txt}\n", &s,
                                &err),
                     ACC_ERR_INPUT);
    if (!strstr(err.message, "system.yaml:1:28: file: cannot read histogram"))
        fail_msg("got '%s'", err.message);
    assert_int_equal(parse_dist(&arena, yaml_name, "x: {dist: histogram, file: /dev/zero}\n", &s,
                                &err),
                     ACC_ERR_INPUT);
    remove(path);
    rmdir(dir);
    xarena_free(&arena);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *message;
    } cases[] = {
        {"x: {dist: zipf}\n", "t.yaml:1:11: dist: unknown distribution 'zipf'"},
        {"x: {min: 1}\n", "t.yaml:1:4: input_len: missing key 'dist'"},
        {"x: {dist: uniform, min: 5, max: 2}\n", "uniform needs whole numbers min <= max"},
        {"x: {dist: uniform, min: 5, mean: 2, max: 9}\n",
         "t.yaml:1:34: input_len: key 'mean' does not apply to dist 'uniform'"},
        {"x: {dist: pairs, pairs: [[10, 0]]}\n", "weights must add up to more than zero"},
        {"x: {dist: pairs, pairs: [10, 20]}\n", "each entry is a [length, weight] pair"},
        {"x: {dist: normal, mean: 100, std: 0}\n", "std: must be greater than zero"},
        {"x: {dist: normal, mean: 100, std: 10, min: 500}\n", "holds no probability"},
        {"x: {dist: uniform, min: 1, max: 9, bins: 0}\n", "bins: a whole number from 1 to 32"},
        {"x: {dist: uniform, min: 1, max: 9, color: red}\n", "unknown key 'color' in input_len"},
        {"x: [100, 200]\n", "a list of lengths is a sweep"},
        {"x: 0\n", "a length must be between 1 and 1e9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        xarena arena = {0};
        xlen_src s;
        acc_error err = {0};
        if (parse_dist(&arena, "t.yaml", cases[i].yaml, &s, &err) != ACC_ERR_INPUT)
            fail_msg("case %zu accepted: %s", i, cases[i].yaml);
        if (!strstr(err.message, cases[i].message))
            fail_msg("case %zu: got '%s', want '%s'", i, err.message, cases[i].message);
        xarena_free(&arena);
    }
}

/* The system file: distributions are one value each; a list of them sweeps. */
static void test_system_keys(void **state)
{
    (void)state;
    const char *yaml = "num_servers: 1\n"
                       "max_batch: 64\n"
                       "eval_len: [[128, 32]]\n"
                       "input_len: [{dist: pairs, pairs: [[128, 1], [2048, 1]]},\n"
                       "            {dist: uniform, min: 64, max: 4096}]\n"
                       "output_len: {dist: pairs, pairs: [[64, 9], [1024, 1]]}\n"
                       "kv_percentile: 90\n";
    xarena arena = {0};
    acc_error err = {0};
    xnode *root;
    assert_int_equal(xyaml_parse(&arena, "s.yaml", yaml, strlen(yaml), &root, &err), ACC_OK);
    double count;
    assert_int_equal(xsweep_count(root, &count, &err), ACC_OK);
    near(count, 2, 0);
    xnode **variants;
    size_t n;
    assert_int_equal(xsweep_expand(&arena, root, &variants, &n, &err), ACC_OK);
    assert_int_equal(n, 2);
    xsysconf s;
    assert_int_equal(xconfig_sys(variants[0], &s, &err), ACC_OK);
    assert_true(s.has_dist);
    near(s.eval_len[0], 1088, 0); /* the means replace eval_len */
    near(s.eval_len[1], 0.9 * 64 + 0.1 * 1024, 1e-15);
    near(s.kv_ctx, 2112, 0); /* the 90th percentile of the sums above */
    assert_int_equal(xconfig_sys(variants[1], &s, &err), ACC_OK);
    assert_string_equal(s.len_in.desc, "uniform(64..4096)");
    assert_int_equal(s.len_in.n, XLEN_DEFAULT_BINS);

    /* reallm's scalar form: no distribution, KV for L + G, eval_len as given */
    const char *plain = "num_servers: 1\neval_len: [256, 64]\n";
    assert_int_equal(xyaml_parse(&arena, "p.yaml", plain, strlen(plain), &root, &err), ACC_OK);
    assert_int_equal(xconfig_sys(root, &s, &err), ACC_OK);
    assert_false(s.has_dist);
    assert_false(s.cb.on);
    near(s.eval_len[0], 256, 0);
    near(s.eval_len[1], 64, 0);
    near(s.kv_ctx, 320, 0);
    assert_int_equal(s.len_in.n, 1);

    const char *bad = "num_servers: 1\nkv_percentile: 120\n";
    assert_int_equal(xyaml_parse(&arena, "b.yaml", bad, strlen(bad), &root, &err), ACC_OK);
    assert_int_equal(xconfig_sys(root, &s, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "kv_percentile: a percentage up to 100"));
    const char *cb = "num_servers: 1\nmax_batch: 16\n"
                     "continuous_batching: {concurrency: 32}\n";
    assert_int_equal(xyaml_parse(&arena, "c.yaml", cb, strlen(cb), &root, &err), ACC_OK);
    assert_int_equal(xconfig_sys(root, &s, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "c.yaml:3:22: continuous_batching.concurrency: 32 is "
                                        "above max_batch 16"));
    const char *both = "num_servers: 1\n"
                       "continuous_batching: {concurrency: 8, arrival_rate: 2, chunk: 5}\n";
    assert_int_equal(xyaml_parse(&arena, "d.yaml", both, strlen(both), &root, &err), ACC_OK);
    assert_int_equal(xconfig_sys(root, &s, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "unknown key 'chunk' in continuous_batching"));
    xarena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),     cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_normal),    cmocka_unit_test(test_sum_quantile),
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_system_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
