/*
 * test_explore_regress.c — reallm v1's regression outputs reproduced from its
 * own inputs (copies in tests/fixtures/reallm): hw_example.csv and
 * llmcompass_example.csv within 0.5% on every numeric column, gpt3.csv
 * within 0.5% everywhere with the defects kept (--reallm-compat), and with
 * each defect fix alone, exactly the columns docs/EXPLORE.md says it moves.
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

#include "accinf/explore.h"

#define MAX_COLS 64
#define MAX_ROWS 128

typedef struct table {
    int ncols, nrows;
    char head[MAX_COLS][48];
    char cell[MAX_ROWS][MAX_COLS][48];
} table;

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static void split(char *line, char out[MAX_COLS][48], int *n)
{
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, ",", &save); tok && *n < MAX_COLS;
         tok = strtok_r(NULL, ",", &save)) {
        char *t = trim(tok);
        if (!*t)
            continue; /* reallm ends every line with ", " */
        snprintf(out[(*n)++], 48, "%s", t);
    }
}

static table *load_csv(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    table *t = calloc(1, sizeof *t);
    char line[8192];
    if (!fgets(line, sizeof line, f))
        fail_msg("%s: empty", path);
    split(line, t->head, &t->ncols);
    while (t->nrows < MAX_ROWS && fgets(line, sizeof line, f)) {
        int n;
        split(line, t->cell[t->nrows], &n);
        if (n)
            t->nrows++;
    }
    fclose(f);
    return t;
}

static int col(const table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (!strcmp(t->head[i], name))
            return i;
    return -1;
}

static int is_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

/* Worst relative error of column `name` over rows (ref scaled by the batch
 * column when scale_by_batch). */
static double column_error(const table *ref, const table *got, const char *name,
                           int scale_by_batch)
{
    int a = col(ref, name), b = col(got, name), batch = col(ref, "batch");
    if (a < 0 || b < 0)
        fail_msg("column %s missing", name);
    assert_int_equal(ref->nrows, got->nrows);
    double worst = 0;
    for (int r = 0; r < ref->nrows; r++) {
        double x, y, k = 1;
        if (!is_number(ref->cell[r][a], &x)) {
            assert_string_equal(ref->cell[r][a], got->cell[r][b]);
            continue;
        }
        assert_true(is_number(got->cell[r][b], &y));
        if (scale_by_batch)
            assert_true(is_number(ref->cell[r][batch], &k));
        x *= k;
        double e = x == 0 ? fabs(y) : fabs(x - y) / fabs(x);
        if (e > worst)
            worst = e;
    }
    return worst;
}

typedef struct run_paths {
    char dir[256], hw_csv[1024], model_csv[1024];
} run_paths;

static void run_explore(const char *hw, const char *model, const char *system, unsigned fixes,
                        run_paths *out)
{
    char hw_path[512], model_path[512], sys_path[512], const_path[512];
    snprintf(hw_path, sizeof hw_path, "%s/reallm/inputs/hardware/config/%s.yaml",
             ACCINF_FIXTURES, hw);
    snprintf(model_path, sizeof model_path, "%s/reallm/inputs/software/model/%s.yaml",
             ACCINF_FIXTURES, model);
    snprintf(sys_path, sizeof sys_path, "%s/reallm/inputs/software/system/%s.yaml",
             ACCINF_FIXTURES, system);
    snprintf(const_path, sizeof const_path, "%s/reallm/inputs/hardware/constant/7nm_default.yaml",
             ACCINF_FIXTURES);
    snprintf(out->dir, sizeof out->dir, "/tmp/accinf-explore-XXXXXX");
    assert_non_null(mkdtemp(out->dir));
    acc_explore_options opts;
    acc_explore_options_init(&opts);
    opts.hw_path = hw_path;
    opts.model_path = model_path;
    opts.system_path = sys_path;
    opts.constants_path = const_path;
    opts.out_dir = out->dir;
    opts.fixes = fixes;
    opts.threads = 2;
    acc_explore_summary summary;
    acc_error err = {0};
    if (acc_explore_run(&opts, &summary, &err) != ACC_OK)
        fail_msg("explore %s %s: %s", hw, model, err.message);
    snprintf(out->hw_csv, sizeof out->hw_csv, "%s", summary.hw_csv);
    snprintf(out->model_csv, sizeof out->model_csv, "%s", summary.model_csv);
}

static void remove_run(const run_paths *p)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
    assert_int_equal(system(cmd), 0);
}

static void expect_all_columns(const char *ref_path, const char *got_path, double tolerance)
{
    table *ref = load_csv(ref_path), *got = load_csv(got_path);
    for (int c = 0; c < ref->ncols; c++) {
        double e = column_error(ref, got, ref->head[c], 0);
        if (e > tolerance)
            fail_msg("%s: column %s off by %.3g%%", ref_path, ref->head[c], e * 100);
    }
    free(ref);
    free(got);
}

static void test_hw_example(void **state)
{
    (void)state;
    run_paths p;
    run_explore("hw_example", "gpt3", "sys_default", ACC_EXPLORE_FIX_ALL, &p);
    expect_all_columns(ACCINF_FIXTURES "/reallm/tests/hw_example/hw_example.csv", p.hw_csv, 0.005);
    remove_run(&p);
}

static void test_llmcompass_example(void **state)
{
    (void)state;
    run_paths p;
    run_explore("llmcompass_example", "llama3-70B", "llmcompass_example", ACC_EXPLORE_FIX_ALL, &p);
    expect_all_columns(ACCINF_FIXTURES "/reallm/tests/llmcompass_example/llmcompass_example.csv",
                       p.hw_csv, 0.005);
    remove_run(&p);
}

static void test_gpt3_compat(void **state)
{
    (void)state;
    run_paths p;
    run_explore("hw_example", "gpt3", "sys_default", ACC_EXPLORE_FIX_NONE, &p);
    expect_all_columns(ACCINF_FIXTURES "/reallm/tests/hw_example/gpt3.csv", p.model_csv, 0.005);
    remove_run(&p);
}

/* Each fix alone: the listed columns move (by at least `min_move`), all
 * others stay within 0.5%.  tco_per_Mtoken under FIX_TCO_BATCH is compared
 * with the reference times the batch. */
typedef struct fix_case {
    unsigned fix;
    const char *moved[6];
    double min_move;
} fix_case;

static void test_gpt3_each_fix(void **state)
{
    (void)state;
    static const fix_case cases[] = {
        {ACC_EXPLORE_FIX_TCO_BATCH, {NULL}, 0},
        {ACC_EXPLORE_FIX_CAUSAL,
         {"prefill_sec", "prefill_compute_sec", "prefill_mem_sec", "opex", "tco_per_Mtoken", NULL},
         1e-4},
        /* gpt3 is MHA, GELU, width 12288, 2 bytes, and its KV cache fits: no change */
        {ACC_EXPLORE_FIX_GQA, {NULL}, 0},
        {ACC_EXPLORE_FIX_GLU, {NULL}, 0},
        {ACC_EXPLORE_FIX_D_HACK, {NULL}, 0},
        {ACC_EXPLORE_FIX_BYTES, {NULL}, 0},
        {ACC_EXPLORE_FIX_KV_CHECK, {NULL}, 0},
    };
    table *ref = load_csv(ACCINF_FIXTURES "/reallm/tests/hw_example/gpt3.csv");
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        run_paths p;
        run_explore("hw_example", "gpt3", "sys_default", cases[k].fix, &p);
        table *got = load_csv(p.model_csv);
        for (int c = 0; c < ref->ncols; c++) {
            const char *name = ref->head[c];
            int moved = 0;
            for (int m = 0; cases[k].moved[m]; m++)
                moved |= !strcmp(cases[k].moved[m], name);
            int by_batch = cases[k].fix == ACC_EXPLORE_FIX_TCO_BATCH && !strcmp(name, "tco_per_Mtoken");
            double e = column_error(ref, got, name, by_batch);
            if (moved && e < cases[k].min_move)
                fail_msg("fix %#x: column %s should move, moved %.3g", cases[k].fix, name, e);
            if (!moved && e > 0.005)
                fail_msg("fix %#x: column %s moved %.3g%%", cases[k].fix, name, e * 100);
        }
        free(got);
        remove_run(&p);
    }
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hw_example),
        cmocka_unit_test(test_llmcompass_example),
        cmocka_unit_test(test_gpt3_compat),
        cmocka_unit_test(test_gpt3_each_fix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
