/*
 * test_explore_calibrate.c — `explore calibrate`: the least-squares solver
 * on problems with known answers, the formulas the calibration added to the
 * performance model (smooth roofline, direct all-reduce, LM head, per-layer
 * and per-collective overheads) pinned by hand, the recovery of known
 * efficiency factors from synthetic points (also through "share", one
 * hardware taking another's fitted factors), the measured-file format and
 * its errors (gqa_kv_reads, the per-device metric), the presets'
 * Calibration: lines, and the validation set's test-split MAPE (<= 10%).
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

#include "explore/explore_calibrate.h"

static void near(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.12g, want %.12g (rel %.3g)", got, want, rel);
}

static void test_linear_solve(void **state)
{
    (void)state;
    /* 2x + y - z = 8, -3x - y + 2z = -11, -2x + y + 2z = -3  ->  (2, 3, -1) */
    double a[9] = {2, 1, -1, -3, -1, 2, -2, 1, 2};
    double b[3] = {8, -11, -3};
    assert_int_equal(xlsq_linear_solve(a, b, 3), 0);
    near(b[0], 2, 1e-12);
    near(b[1], 3, 1e-12);
    near(b[2], -1, 1e-12);
    double s[4] = {1, 2, 2, 4}, t[2] = {1, 2};
    assert_int_equal(xlsq_linear_solve(s, t, 2), -1); /* singular */
}

/* y = a * exp(b * x) + c sampled exactly at x = 0..9 */
static acc_status exp_residuals(void *ctx, const double *x, double *r, acc_error *err)
{
    (void)ctx;
    (void)err;
    for (int i = 0; i < 10; i++) {
        double want = 2.5 * exp(-0.3 * i) + 0.7;
        r[i] = x[0] * exp(x[1] * i) + x[2] - want;
    }
    return ACC_OK;
}

static void test_lsq_recovers_exponential(void **state)
{
    (void)state;
    double x[3] = {1, -0.1, 0}, lo[3] = {0, -2, -5}, hi[3] = {10, 0, 5};
    xlsq_problem p = {.n_params = 3, .n_resid = 10, .lo = lo, .hi = hi, .fn = exp_residuals};
    xlsq_report rep;
    acc_error err = {0};
    assert_int_equal(xlsq_solve(&p, x, &rep, &err), ACC_OK);
    near(x[0], 2.5, 1e-6);
    near(x[1], -0.3, 1e-6);
    near(x[2], 0.7, 1e-6);
    assert_true(rep.cost < 1e-15 && rep.cost0 > 1);
    /* bounds hold: with b forced <= -0.5 the fit stops at the bound */
    double x2[3] = {1, -1, 0}, hi2[3] = {10, -0.5, 5};
    p.hi = hi2;
    assert_int_equal(xlsq_solve(&p, x2, &rep, &err), ACC_OK);
    near(x2[1], -0.5, 1e-9);
}

static void test_roofline_and_direct_allreduce(void **state)
{
    (void)state;
    near(xroofline_time(3, 4, 0), 4, 0); /* plain roofline: max */
    near(xroofline_time(3, 4, NAN), 4, 0);
    near(xroofline_time(3, 4, 1), 7, 0);       /* no overlap: sum */
    near(xroofline_time(3, 4, 0.5), 5, 1e-12); /* sqrt(9 + 16) */
    near(xroofline_time(4, 4, 1.0 / 3), 4 * cbrt(2), 1e-12);
    near(xroofline_time(0, 0, 0.5), 0, 0);
    /* direct (switch) all-reduce of 1 MB over 8 nodes, 100 GB/s, 2 us per hop:
     * 2 * (2e-6 + 7/8 * 1e6 / 1e11) = 2 * (2e-6 + 8.75e-6) = 21.5 us */
    xio link = {.present = 1, .bandwidth = 100e9, .init_time = 2e-6};
    const xio *links[1] = {&link};
    near(xallreduce_time(8, 1e6, links, 1, 1, XAR_DIRECT), 21.5e-6, 1e-12);
    near(xallreduce_time(1, 1e6, links, 1, 1, XAR_DIRECT), 0, 0);
}

static void test_lm_head_in_sizes_and_flops(void **state)
{
    (void)state;
    xllm m = {.num_layers = 2,
              .d = 64,
              .num_heads = 4,
              .d_head = NAN,
              .d_ff = 256,
              .heads_per_kv_cache = 1,
              .bytes_per_number = 2,
              .weight_bits = NAN,
              .kv_bits = NAN,
              .vocab_size = 1000};
    snprintf(m.act, sizeof m.act, "gelu");
    acc_error err = {0};
    assert_int_equal(xllm_update(&m, &err), ACC_OK);
    /* per layer 4 * 64^2 + 2 * 64 * 256 = 49152; embedding + head 2 * 1000 * 64 */
    near(m.embed_size, 128000, 0);
    near(m.model_size, 2 * 49152 + 128000, 0);
    /* decode at ctx 10: 2 * layers * weights + attention 2*2*64*10*2 + head 2*64*1000 */
    near(xllm_generate_flops(&m, 10, ACC_EXPLORE_FIX_ALL),
         2 * 2 * 49152.0 + 2 * 2 * 64 * 10 * 2 + 2 * 64 * 1000, 1e-15);
    m.tied_embeddings = 1;
    assert_int_equal(xllm_update(&m, &err), ACC_OK);
    near(m.embed_size, 64000, 0);
}

static char *write_temp(const char *text, const char *suffix)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/accinf_calib_%d_XXXXXX%s", (int)getpid(), suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

/* Synthetic points generated from known factors: the fit must find them. */
static void test_fit_recovers_known_factors(void **state)
{
    (void)state;
    acc_error err = {0};
    char hw_path[1024];
    snprintf(hw_path, sizeof hw_path, "%s/hw/a100-80gb-sxm.yaml", ACCINF_EXAMPLES);
    xhw hw;
    assert_int_equal(xhw_load(&hw, hw_path, &err), ACC_OK);
    xsysconf truth = hw.eff;
    truth.compute_perf_efficiency = 0.55;
    truth.weight_bandwidth_efficiency = 0.72;
    truth.roofline_softness = 0.4;
    truth.layer_overhead_sec = 2.0e-5;
    truth.collective_overhead_sec = 1.2e-5;
    truth.decode_overhead_sec = 3.0e-4;
    static const struct {
        const char *model;
        int metric, batch, L, G, t;
    } shapes[] = {
        {"model-llama2-7b.yaml", XM_DECODE_TOK_S, 1, 5, 200, 1},
        {"model-llama2-7b.yaml", XM_DECODE_TOK_S, 1, 5, 200, 2},
        {"model-llama2-7b.yaml", XM_DECODE_TOK_S, 1, 5, 200, 8},
        {"model-llama2-70b.yaml", XM_DECODE_TOK_S, 1, 5, 200, 4},
        {"model-llama2-70b.yaml", XM_DECODE_TOK_S, 1, 5, 200, 8},
        {"model-gpt-j-6b.yaml", XM_DECODE_TOK_S, 1, 128, 128, 1},
        {"model-llama2-7b.yaml", XM_FIRST_TOKEN_MS, 1, 128, 1, 1},
        {"model-llama2-7b.yaml", XM_FIRST_TOKEN_MS, 1, 512, 1, 1},
        {"model-llama2-7b.yaml", XM_FIRST_TOKEN_MS, 1, 2048, 1, 1},
        {"model-gpt-j-6b.yaml", XM_THROUGHPUT_TOK_S, 32, 128, 128, 1},
        {"model-llama2-7b.yaml", XM_DECODE_TOK_S, 64, 128, 128, 1},
    };
    size_t n = sizeof shapes / sizeof *shapes;
    char *json = malloc(16384);
    size_t used = (size_t)snprintf(json, 16384,
                                   "{\"fit\": {\"a100-80gb-sxm\": [\"compute\", \"bandwidth\", "
                                   "\"softness\", \"layer\", \"collective\", \"decode\"]},\n"
                                   " \"points\": [\n");
    for (size_t i = 0; i < n; i++) {
        char model_path[1024];
        snprintf(model_path, sizeof model_path, "%s/hw/%s", ACCINF_EXAMPLES, shapes[i].model);
        char *text = NULL;
        size_t size = 0;
        assert_int_equal(acc_read_file(model_path, &text, &size, &err), ACC_OK);
        xllm model;
        assert_int_equal(xmodel_load_text(model_path, text, size, &model, &err), ACC_OK);
        free(text);
        xmeasure pt = {.metric = (xmetric)shapes[i].metric,
                       .batch = shapes[i].batch,
                       .input_len = shapes[i].L,
                       .output_len = shapes[i].G,
                       .t = shapes[i].t,
                       .p = 1,
                       .devices = shapes[i].t,
                       .weight_bits = NAN,
                       .kv_bits = NAN};
        double v;
        assert_int_equal(xmeasure_predict(&pt, &model, &hw, &truth, &v, &err), ACC_OK);
        used += (size_t)snprintf(json + used, 16384 - used,
                                 "%s{\"hardware\": \"%s\", \"model\": \"%s\", \"metric\": \"%s\", "
                                 "\"value\": %.17g, \"batch\": %d, \"input_len\": %d, "
                                 "\"output_len\": %d, \"t\": %d}\n",
                                 i ? "," : "", hw_path, model_path,
                                 xmetric_name((xmetric)shapes[i].metric), v, shapes[i].batch,
                                 shapes[i].L, shapes[i].G, shapes[i].t);
    }
    snprintf(json + used, 16384 - used, "]}\n");
    char *points = write_temp(json, ".json");
    free(json);
    acc_explore_calibrate_options opts;
    acc_explore_calibrate_options_init(&opts);
    opts.measured_path = points;
    acc_explore_calibration res;
    assert_int_equal(acc_explore_calibrate(&opts, NULL, &res, &err), ACC_OK);
    assert_int_equal(res.n_hardware, 1);
    near(res.factors[0][XEFF_COMPUTE], 0.55, 2e-3);
    near(res.factors[0][XEFF_BANDWIDTH], 0.72, 2e-3);
    near(res.factors[0][XEFF_SOFTNESS], 0.4, 5e-3);
    near(res.factors[0][XEFF_LAYER], 2.0e-5, 1e-2);
    near(res.factors[0][XEFF_COLLECTIVE], 1.2e-5, 2e-2);
    near(res.factors[0][XEFF_DECODE], 3.0e-4, 2e-2);
    assert_true(res.mape_calibrate < 0.05);
    /* --no-fit with the file's (different) factors misses the points */
    opts.no_fit = 1;
    assert_int_equal(acc_explore_calibrate(&opts, NULL, &res, &err), ACC_OK);
    assert_true(res.mape_calibrate > 5);
    unlink(points);
    free(points);
    xhw_free(&hw);
}

/* The published validation set: fit on its calibrate split; every hardware
 * with test points keeps its test MAPE within the bound docs/EXPLORE.md
 * states: issue 4's 10% for the A100, H100 and TPU v4 and over all test
 * points; the H200 (10.35%) is reported there as above it, and bounded here
 * just above its measured value so that a regression shows.  Each
 * calibrated preset states the factors this fit finds (the H200's shared
 * ones included). */
static void test_validation_set(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/hw/validation.json", ACCINF_EXAMPLES);
    acc_explore_calibrate_options opts;
    acc_explore_calibrate_options_init(&opts);
    opts.measured_path = path;
    acc_explore_calibration res;
    acc_error err = {0};
    assert_int_equal(acc_explore_calibrate(&opts, NULL, &res, &err), ACC_OK);
    assert_true(res.n_test >= 37);
    assert_true(res.n_calibrate >= 12);
    if (!(res.mape_test <= 10)) /* 7.15% over all chips */
        fail_msg("test MAPE %.2f%% is above 10%%", res.mape_test);
    static const struct {
        const char *name;
        size_t min_test;
        double bound;
        int calibrated;
    } chips[] = {
        {"a100-80gb-sxm", 15, 10, 1},
        {"h100-sxm", 15, 10, 1},
        {"h200", 6, 10.5, 1},
        {"tpuv4", 1, 10, 0},
    };
    for (size_t k = 0; k < sizeof chips / sizeof *chips; k++) {
        size_t h = 0;
        while (h < res.n_hardware && strcmp(res.hardware[h], chips[k].name) != 0)
            h++;
        if (h == res.n_hardware)
            fail_msg("no points for %s", chips[k].name);
        assert_true(res.n_test_hw[h] >= chips[k].min_test);
        if (!(res.mape_test_hw[h] <= chips[k].bound))
            fail_msg("%s: test MAPE %.2f%% is above %.1f%%", chips[k].name, res.mape_test_hw[h],
                     chips[k].bound);
        if (!chips[k].calibrated) {
            assert_int_equal(res.n_calibrate_hw[h], 0);
            continue;
        }
        assert_true(res.n_calibrate_hw[h] >= 3);
        /* the preset states the factors this fit finds */
        char hw_path[1024];
        snprintf(hw_path, sizeof hw_path, "%s/hw/%s.yaml", ACCINF_EXAMPLES, chips[k].name);
        xhw hw;
        assert_int_equal(xhw_load(&hw, hw_path, &err), ACC_OK);
        for (int p = 0; p < XEFF_COUNT; p++) {
            double preset = *xsysconf_eff(&hw.eff, (xeff_param)p);
            if (isnan(preset))
                continue;
            /* efficiencies to 0.1%; overheads (stated to 4 digits) to 1% */
            int overhead =
                p == XEFF_LAYER || p == XEFF_PREFILL || p == XEFF_DECODE || p == XEFF_COLLECTIVE;
            if (preset == 0)
                near(res.factors[h][p] + 1, 1, 1e-9);
            else
                near(res.factors[h][p], preset, overhead ? 1e-2 : 1e-3);
        }
        xhw_free(&hw);
    }
}

static acc_status parse_text(const char *text, xmeasured *m, acc_error *err)
{
    return xmeasured_parse("m.json", text, strlen(text), m, err);
}

static void test_measured_format(void **state)
{
    (void)state;
    acc_error err = {0};
    xmeasured m;
    /* accinf bench --json merged with an envelope: two points */
    const char *bench = "{\"model\": \"demo\", \"architecture\": \"LlamaForCausalLM\", \"pp\": 512,"
                        " \"tg\": 128, \"pp_tok_s\": 900.5, \"tg_tok_s\": 40.25,"
                        " \"hardware\": \"h100-sxm\", \"model_config\": \"m.yaml\"}";
    assert_int_equal(parse_text(bench, &m, &err), ACC_OK);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.points[0].metric, XM_PREFILL_TOK_S);
    near(m.points[0].input_len, 512, 0);
    near(m.points[0].value, 900.5, 0);
    assert_int_equal(m.points[1].metric, XM_DECODE_TOK_S);
    near(m.points[1].input_len, 4, 0);
    near(m.points[1].output_len, 128, 0);
    near(m.points[1].t, 1, 0);
    assert_string_equal(m.points[1].model, "m.yaml");
    xmeasured_free(&m);
    /* the bench object nested under "bench", with a batch and a TP width */
    const char *nested = "[{\"bench\": {\"pp\": 64, \"pp_tok_s\": 10, \"tg_tok_s\": null},"
                         " \"model_config\": \"m.yaml\", \"devices\": 4, \"split\": \"test\"}]";
    assert_int_equal(parse_text(nested, &m, &err), ACC_OK);
    assert_int_equal(m.n, 1);
    near(m.points[0].t, 4, 0);
    assert_int_equal(m.points[0].test, 1);
    xmeasured_free(&m);
    /* compute_bits is read; unset it stays NAN (the chip's word size) */
    const char *fp8 = "[{\"model\": \"m.yaml\", \"metric\": \"first_token_ms\", \"value\": 7,"
                      " \"input_len\": 128, \"compute_bits\": 8, \"weight_bits\": 8},"
                      " {\"model\": \"m.yaml\", \"metric\": \"first_token_ms\", \"value\": 7,"
                      " \"input_len\": 128}]";
    assert_int_equal(parse_text(fp8, &m, &err), ACC_OK);
    near(m.points[0].compute_bits, 8, 0);
    assert_true(isnan(m.points[1].compute_bits));
    xmeasured_free(&m);
    /* gqa_kv_reads (default shared), the per-device metric and "share" */
    const char *engine =
        "{\"fit\": {\"b\": [\"bandwidth\"]},"
        " \"share\": {\"b\": {\"from\": \"a\", \"factors\": [\"compute\", \"layer\"]}},"
        " \"points\": [{\"model\": \"m.yaml\", \"metric\": \"throughput_tok_s_per_device\","
        " \"value\": 5, \"input_len\": 8, \"t\": 2, \"gqa_kv_reads\": \"per_query_head\"},"
        " {\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 5, \"input_len\": 8,"
        " \"gqa_kv_reads\": \"shared\"}, {\"model\": \"m.yaml\", \"metric\": \"decode_ms\","
        " \"value\": 5, \"input_len\": 8}]}";
    assert_int_equal(parse_text(engine, &m, &err), ACC_OK);
    assert_int_equal(m.points[0].metric, XM_THROUGHPUT_PER_DEVICE);
    assert_int_equal(m.points[0].kv_reads_per_query_head, 1);
    assert_int_equal(m.points[1].kv_reads_per_query_head, 0);
    assert_int_equal(m.points[2].kv_reads_per_query_head, 0);
    assert_int_equal(m.n_share, 1);
    assert_string_equal(m.share[0].hardware, "b");
    assert_string_equal(m.share[0].from, "a");
    assert_int_equal(m.share[0].mask, (1u << XEFF_COMPUTE) | (1u << XEFF_LAYER));
    xmeasured_free(&m);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"points\": [", "m.json:1:"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"tok_s\", \"value\": 1, \"input_len\": 1}]",
         "points[0]: metric"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": -1, \"input_len\": 1}]",
         "points[0].value: must be greater than zero"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1}]", "input_len"},
        {"[{\"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1}]", "missing \"model\""},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1,"
         " \"batch\": 1.5}]",
         "whole numbers"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1,"
         " \"colour\": 1}]",
         "unknown key 'colour'"},
        {"{\"points\": [], \"fit\": {\"x\": [\"speed\"]}}", "unknown factor 'speed'"},
        {"{\"points\": []}", "no measured points"},
        {"{\"pp_tok_s\": 5, \"model_config\": \"m.yaml\"}", "without pp"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1,"
         " \"t\": 4, \"devices\": 2}]",
         "more than devices"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1,"
         " \"compute_bits\": -8}]",
         "points[0].compute_bits: must be greater than zero"},
        {"[{\"model\": \"m.yaml\", \"metric\": \"decode_ms\", \"value\": 1, \"input_len\": 1,"
         " \"gqa_kv_reads\": \"sometimes\"}]",
         "points[0]: gqa_kv_reads: expected"},
        {"{\"points\": [], \"share\": {\"a\": {\"from\": \"a\", \"factors\": [\"compute\"]}}}",
         "share.a: from: a hardware cannot share its own factors"},
        {"{\"points\": [], \"share\": {\"a\": {\"from\": \"b\"}}}", "share.a: expected"},
        {"{\"points\": [], \"share\": {\"a\": {\"from\": \"b\", \"factors\": [\"speed\"]}}}",
         "unknown factor 'speed'"},
        {"{\"points\": [], \"shared\": 1}", "unknown top-level key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(parse_text(bad[i].text, &m, &err), ACC_ERR_INPUT);
        if (!strstr(err.message, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, bad[i].want);
        assert_true(strncmp(err.message, "m.json", 6) == 0);
    }
    unsigned mask;
    assert_int_equal(xeff_parse_list("compute, decode,collective_overhead_sec", &mask, &err),
                     ACC_OK);
    assert_int_equal(mask, (1u << XEFF_COMPUTE) | (1u << XEFF_DECODE) | (1u << XEFF_COLLECTIVE));
}

/* A hardware file's Efficiency section becomes the systems' defaults, and
 * a point that does not fit in memory is refused. */
static void test_efficiency_section_and_memory(void **state)
{
    (void)state;
    acc_error err = {0};
    char hw_path[1024], model_path[1024];
    snprintf(hw_path, sizeof hw_path, "%s/hw/h100-sxm.yaml", ACCINF_EXAMPLES);
    snprintf(model_path, sizeof model_path, "%s/hw/model-llama2-70b.yaml", ACCINF_EXAMPLES);
    xhw hw;
    assert_int_equal(xhw_load(&hw, hw_path, &err), ACC_OK);
    assert_int_equal(hw.eff.allreduce_algo, XAR_DIRECT);
    assert_true(hw.eff.weight_bandwidth_efficiency > 0.5 && hw.eff.weight_bandwidth_efficiency <= 1);
    near(hw.eff.io_bandwidth_efficiency, 1, 0); /* unset: reallm's default */
    char *text = NULL;
    size_t size = 0;
    assert_int_equal(acc_read_file(model_path, &text, &size, &err), ACC_OK);
    xllm model;
    assert_int_equal(xmodel_load_text(model_path, text, size, &model, &err), ACC_OK);
    free(text);
    xmeasure pt = {.metric = XM_DECODE_TOK_S,
                   .batch = 1,
                   .input_len = 5,
                   .output_len = 200,
                   .t = 1,
                   .p = 1,
                   .devices = 1,
                   .weight_bits = NAN,
                   .kv_bits = NAN};
    snprintf(pt.name, sizeof pt.name, "70b on one H100");
    double v;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw, &hw.eff, &v, &err), ACC_ERR_INPUT);
    assert_non_null(strstr(err.message, "do not fit"));
    /* at TP2 it fits; halving the bandwidth efficiency slows decoding */
    pt.t = pt.devices = 2;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw, &hw.eff, &v, &err), ACC_OK);
    xsysconf slow = hw.eff;
    slow.weight_bandwidth_efficiency /= 2;
    double v_slow;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw, &slow, &v_slow, &err), ACC_OK);
    assert_true(v_slow < 0.8 * v); /* the per-layer and all-reduce times stay */
    /* FP8 tensor cores (compute_bits 8) double the peak: a compute-bound
     * prefill gets faster, by at most 2x; the loaded design is untouched */
    double perf_before = hw.chip.perf;
    pt.metric = XM_FIRST_TOKEN_MS;
    pt.input_len = 2048;
    pt.output_len = 1;
    double ft16, ft8;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw, &hw.eff, &ft16, &err), ACC_OK);
    pt.compute_bits = 8;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw, &hw.eff, &ft8, &err), ACC_OK);
    assert_true(ft8 < 0.8 * ft16);
    assert_true(ft8 > 0.5 * ft16);
    near(hw.chip.perf, perf_before, 0);
    xhw_free(&hw);
}

/* "share": the second hardware takes the first one's fitted factors and
 * fits only its own; recovered from synthetic points of known factors.
 * The per-device metric is the throughput divided by the devices. */
static void test_share_and_per_device(void **state)
{
    (void)state;
    acc_error err = {0};
    const char *names[2] = {"h100-sxm", "h200"};
    xhw hw[2];
    xsysconf truth[2];
    for (int k = 0; k < 2; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/hw/%s.yaml", ACCINF_EXAMPLES, names[k]);
        assert_int_equal(xhw_load(&hw[k], path, &err), ACC_OK);
        truth[k] = hw[k].eff;
        truth[k].compute_perf_efficiency = 0.6;
        truth[k].layer_overhead_sec = 3.0e-5;
    }
    truth[0].weight_bandwidth_efficiency = 0.9;
    truth[1].weight_bandwidth_efficiency = 0.7;
    char model_path[1024];
    snprintf(model_path, sizeof model_path, "%s/hw/model-llama2-7b.yaml", ACCINF_EXAMPLES);
    char *text = NULL;
    size_t size = 0;
    assert_int_equal(acc_read_file(model_path, &text, &size, &err), ACC_OK);
    xllm model;
    assert_int_equal(xmodel_load_text(model_path, text, size, &model, &err), ACC_OK);
    free(text);
    static const struct {
        int hw, metric, batch, L, G;
    } shapes[] = {
        {0, XM_FIRST_TOKEN_MS, 1, 2048, 1}, {0, XM_FIRST_TOKEN_MS, 1, 128, 1},
        {0, XM_DECODE_TOK_S, 1, 5, 200},    {0, XM_DECODE_TOK_S, 16, 128, 256},
        {1, XM_DECODE_TOK_S, 1, 5, 200},    {1, XM_DECODE_TOK_S, 8, 64, 64},
    };
    char *json = malloc(8192);
    size_t used = (size_t)snprintf(
        json, 8192,
        "{\"fit\": {\"h100-sxm\": [\"compute\", \"bandwidth\", \"layer\"],"
        " \"h200\": [\"compute\", \"bandwidth\"]},"
        " \"share\": {\"h200\": {\"from\": \"h100-sxm\", \"factors\": [\"compute\", \"layer\"]}},"
        " \"points\": [\n");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        xmeasure pt = {.metric = (xmetric)shapes[i].metric,
                       .batch = shapes[i].batch,
                       .input_len = shapes[i].L,
                       .output_len = shapes[i].G,
                       .t = 1,
                       .p = 1,
                       .devices = 1,
                       .weight_bits = NAN,
                       .kv_bits = NAN,
                       .compute_bits = NAN};
        int k = shapes[i].hw;
        double v;
        assert_int_equal(xmeasure_predict(&pt, &model, &hw[k], &truth[k], &v, &err), ACC_OK);
        used += (size_t)snprintf(json + used, 8192 - used,
                                 "%s{\"hardware\": \"%s\", \"model\": \"%s\", \"metric\": "
                                 "\"%s\", \"value\": %.17g, \"batch\": %d, \"input_len\": %d, "
                                 "\"output_len\": %d}\n",
                                 i ? "," : "", hw[k].path, model_path,
                                 xmetric_name((xmetric)shapes[i].metric), v, shapes[i].batch,
                                 shapes[i].L, shapes[i].G);
    }
    snprintf(json + used, 8192 - used, "]}\n");
    char *points = write_temp(json, ".json");
    free(json);
    acc_explore_calibrate_options opts;
    acc_explore_calibrate_options_init(&opts);
    opts.measured_path = points;
    acc_explore_calibration res;
    assert_int_equal(acc_explore_calibrate(&opts, NULL, &res, &err), ACC_OK);
    assert_int_equal(res.n_hardware, 2);
    assert_string_equal(res.hardware[1], "h200");
    near(res.factors[0][XEFF_COMPUTE], 0.6, 2e-3);
    near(res.factors[0][XEFF_BANDWIDTH], 0.9, 2e-3);
    near(res.factors[0][XEFF_LAYER], 3.0e-5, 2e-2);
    /* shared, not refitted (compute is in h200's fit list but shared wins) */
    near(res.factors[1][XEFF_COMPUTE], res.factors[0][XEFF_COMPUTE], 0);
    near(res.factors[1][XEFF_LAYER], res.factors[0][XEFF_LAYER], 0);
    near(res.factors[1][XEFF_BANDWIDTH], 0.7, 2e-3);
    assert_true(res.mape_calibrate < 0.05);
    unlink(points);
    free(points);
    /* a share whose source has no points (and no -hw file) is an error */
    char lone_json[2600];
    snprintf(lone_json, sizeof lone_json,
             "{\"share\": {\"h200\": {\"from\": \"tpuv4\", \"factors\": [\"compute\"]}},"
             " \"points\": [{\"hardware\": \"%s\", \"model\": \"%s\", \"metric\": "
             "\"decode_ms\", \"value\": 5, \"input_len\": 8}]}",
             hw[1].path, model_path);
    char *lone = write_temp(lone_json, ".json");
    opts.measured_path = lone;
    memset(&err, 0, sizeof err);
    acc_status st = acc_explore_calibrate(&opts, NULL, &res, &err);
    unlink(lone);
    free(lone);
    assert_int_equal(st, ACC_ERR_INPUT);
    if (!strstr(err.message, "share.h200: from: hardware 'tpuv4' has no points"))
        fail_msg("error: %s", err.message);

    /* the per-device metric: throughput over the devices, exactly */
    xmeasure pt = {.metric = XM_THROUGHPUT_TOK_S,
                   .batch = 8,
                   .input_len = 128,
                   .output_len = 64,
                   .t = 2,
                   .p = 1,
                   .devices = 2,
                   .weight_bits = NAN,
                   .kv_bits = NAN,
                   .compute_bits = NAN};
    double total, per_device;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw[1], &hw[1].eff, &total, &err), ACC_OK);
    pt.metric = XM_THROUGHPUT_PER_DEVICE;
    assert_int_equal(xmeasure_predict(&pt, &model, &hw[1], &hw[1].eff, &per_device, &err),
                     ACC_OK);
    near(per_device, total / 2, 1e-15);
    xhw_free(&hw[0]);
    xhw_free(&hw[1]);
}

/* Every preset says where its factors come from; exactly the ones without
 * a fit of their own say "uncalibrated" (explore warns for those). */
static void test_preset_calibration_lines(void **state)
{
    (void)state;
    assert_true(xcalibration_is_uncalibrated("uncalibrated: copied"));
    assert_true(xcalibration_is_uncalibrated("UNCALIBRATED"));
    assert_false(xcalibration_is_uncalibrated("calibrated: 5 points"));
    assert_false(xcalibration_is_uncalibrated("uncal"));
    assert_false(xcalibration_is_uncalibrated(""));
    static const struct {
        const char *name;
        int uncalibrated;
    } presets[] = {
        {"a100-80gb-sxm", 0}, {"h100-sxm", 0}, {"h200", 0},
        {"tpuv4", 1},         {"b200", 1},     {"tpuv5p", 1},
    };
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        char path[1024];
        acc_error err = {0};
        snprintf(path, sizeof path, "%s/hw/%s.yaml", ACCINF_EXAMPLES, presets[i].name);
        xhw hw;
        assert_int_equal(xhw_load(&hw, path, &err), ACC_OK);
        if (!hw.in.hw_calibration[0])
            fail_msg("%s: no Calibration: line", presets[i].name);
        if (xcalibration_is_uncalibrated(hw.in.hw_calibration) != presets[i].uncalibrated)
            fail_msg("%s: Calibration: '%s'", presets[i].name, hw.in.hw_calibration);
        xhw_free(&hw);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_solve),
        cmocka_unit_test(test_lsq_recovers_exponential),
        cmocka_unit_test(test_roofline_and_direct_allreduce),
        cmocka_unit_test(test_lm_head_in_sizes_and_flops),
        cmocka_unit_test(test_fit_recovers_known_factors),
        cmocka_unit_test(test_validation_set),
        cmocka_unit_test(test_measured_format),
        cmocka_unit_test(test_efficiency_section_and_memory),
        cmocka_unit_test(test_share_and_per_device),
        cmocka_unit_test(test_preset_calibration_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
