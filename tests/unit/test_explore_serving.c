/*
 * test_explore_serving.c — serving-side models pinned by hand on a toy
 * system (4 chips of 100 TFLOP/s and 1 TB/s, tensor-parallel 4): the
 * expected static-batch performance over length distributions (ratios of
 * expectations), one continuous-batching step (decode rows plus a prompt
 * chunk) product by product, and the steady state: flow balance, mean step
 * time, M/G/1 time to first token, the arrival-rate solve and the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "explore/explore_model.h"

static void near(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.12g, want %.12g (rel %.3g)", got, want, rel);
}

typedef struct toy {
    xconstants c;
    xchip chip;
    xpkg pkg;
    xserver srv;
    xsysconf conf;
    xllm model;
    xsystem sys;
} toy;

static void toy_lengths(toy *t, double L, double G)
{
    xlen_src a, b;
    xlen_src_point(&a, L);
    xlen_src_point(&b, G);
    xlen_discretize(&a, &t->conf.len_in);
    xlen_discretize(&b, &t->conf.len_out);
    t->conf.eval_len[0] = L;
    t->conf.eval_len[1] = G;
    t->conf.kv_ctx = L + G;
}

static void toy_build(toy *t, unsigned fixes)
{
    memset(t, 0, sizeof *t);
    xconstants_default(&t->c);
    t->chip = (xchip){.perf = 100e12, .sram = 1e9, .sram_bw = 1e12, .freq = 1e9, .tops = 100,
                      .tdp = 100, .core_tdp = 100, .vdd = 0.8, .area = 400, .x = 20, .y = 20,
                      .mem_3d_vault_tsvs = NAN, .sram_mb = 1000, .cost = 100};
    t->chip.pkg2pkg_io = (xio){.present = 1, .num = 1, .bandwidth = 100e9, .init_time = 1e-6};
    t->pkg = (xpkg){.chip = &t->chip, .num_chips = 1, .perf = 100e12, .sram = 1e9,
                    .total_mem = 1e9, .tdp = 100, .heatsource_length = 24};
    t->pkg.io = t->chip.pkg2pkg_io;
    t->srv = (xserver){.pkg = &t->pkg, .constants = &t->c, .num_packages = 4, .num_chips = 4,
                       .perf = 4e14, .total_mem = 4e9, .tdp = 500, .core_tdp = 400, .cost = 5000};
    t->srv.io = (xio){.present = 1, .num = 1, .bandwidth = 50e9, .init_time = 2e-6};
    xtco_eval(&t->c.tco, 500, 5000, 1.5, &t->srv.tco);
    xllm *m = &t->model;
    m->num_layers = 4;
    m->d = 1024;
    m->num_heads = 8;
    m->d_head = NAN;
    m->d_ff = 4096;
    m->heads_per_kv_cache = 1;
    m->bytes_per_number = 2;
    m->weight_bits = m->kv_bits = NAN;
    strcpy(m->act, "gelu");
    assert_int_equal(xllm_update(m, NULL), ACC_OK);
    t->conf = (xsysconf){.num_servers = 1, .kv_cache_ratio = NAN, .max_ctx_len_batch_1 = NAN,
                         .max_tco = NAN, .max_batch = 8, .energy_model = 1,
                         .compute_perf_efficiency = 1, .io_bandwidth_efficiency = 1,
                         .weight_bandwidth_efficiency = 1, .allreduce_algo = XAR_RING,
                         .kv_percentile = 99};
    t->conf.cb = (xcbatch_conf){.on = 1, .chunk_tokens = 512};
    toy_lengths(t, 100, 21);
    t->sys = (xsystem){.srv = &t->srv, .model = &t->model, .conf = &t->conf, .fixes = fixes};
    xsystem_update(&t->sys);
    assert_true(t->sys.valid);
}

static double rl(double ops, double bytes)
{
    return fmax(ops / 1e14, bytes / 1e12); /* one chip: 100 TFLOP/s, 1 TB/s */
}

/* One step by hand: B decoding rows at context ctx and P prompt tokens
 * attending to pf positions, t = 4 (each chip a quarter of every matrix),
 * 2 bytes per value, two ring all-reduces per layer, 4 layers. */
static double step_by_hand(double B, double ctx, double P, double pf)
{
    double d = 1024, R = B + P;
    double layer = rl(R * d * 768 * 2, d * 768 * 2)        /* QKV */
                   + 2 * rl(B * 256 * ctx * 2, B * 256 * ctx * 2) /* QK, SV of the decodes */
                   + rl(R * 256 * d * 2, 256 * d * 2)      /* attention out */
                   + 2 * rl(R * d * 1024 * 2, d * 1024 * 2); /* FC1, FC2 */
    if (P > 0)
        layer += 2 * rl(P * 256 * pf * 2, 256 * pf * 2); /* the chunk's QK, SV */
    double allreduce = 2 * 3 * (1e-6 + R * d * 2 / 4 / 100e9);
    double stage2stage = R * d * 2 / 50e9 + 2e-6;
    return 4 * (layer + 2 * allreduce) + stage2stage;
}

static void test_step_by_hand(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_NONE);
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xstep_result r;
    /* no prompt tokens: the static decode step (context 100 + 21/2) */
    xstep st = {.dec_seqs = 1, .dec_ctx = 110.5, .logits = 1};
    xstep_eval(&t.sys, &mp, &st, &r);
    near(r.time, step_by_hand(1, 110.5, 0, 0), 1e-12);
    xperf perf;
    xperf_eval(&t.sys, &mp, 1, 100, 21, &perf);
    near(r.time, perf.tpot, 1e-12);
    /* 8 decodes and a 512-token chunk: the chunk turns the weight products
     * compute-bound (520 rows) */
    st = (xstep){.dec_seqs = 8, .dec_ctx = 320.5, .pf_tokens = 512, .pf_ctx = 128.5, .logits = 10};
    xstep_eval(&t.sys, &mp, &st, &r);
    near(r.time, step_by_hand(8, 320.5, 512, 128.5), 1e-12);
    assert_true(r.compute > 0 && r.io > 0);
    near(r.io + r.compute + r.mem, r.time, 1e-9);
    /* a decode overhead adds to every step */
    t.conf.decode_overhead_sec = 1e-3;
    xstep_eval(&t.sys, &mp, &st, &r);
    near(r.time, step_by_hand(8, 320.5, 512, 128.5) + 1e-3, 1e-12);
}

static void test_steady_state(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_NONE);
    toy_lengths(&t, 256, 128);
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf p;
    char why[200];
    assert_int_equal(xcbatch_eval(&t.sys, &mp, 8, &p, why, sizeof why), 0);
    /* 8 / 128 requests finish per step, 16 prompt tokens enter: a full
     * 512-token chunk in rho = 1/32 of the steps */
    double per_step = 8.0 / 128, rho = 16.0 / 512;
    double dec_ctx = 256 + (128.0 * 128 + 128) / (2 * 128); /* 320.5 */
    double pf_ctx = (256.0 * 256 + 256) / (2 * 256);        /* 128.5 */
    double full = step_by_hand(8, dec_ctx, 512, pf_ctx), dec = step_by_hand(8, dec_ctx, 0, 0);
    double T = rho * full + (1 - rho) * dec;
    near(p.tpot, T, 1e-12);
    near(p.generate_throughput, 8 / T, 1e-12);
    near(p.requests_per_sec, per_step / T, 1e-12);
    near(p.prefill_chunk, 16, 1e-15);
    near(p.generate_latency, 128 * T, 1e-12);
    /* M/G/1: lambda = per_step / T, S = (L / C) full steps, one step to the first token */
    double lambda = per_step / T;
    double rho_t = lambda * 256 / 512 * full;
    double wait = lambda * (256.0 * 256) / (512.0 * 512) * full * full / (2 * (1 - rho_t));
    near(p.ttft, wait + full, 1e-12);
    near(p.prefill_latency, p.ttft, 0);
    /* TCO per output token: the system's TCO per second times the time of a token */
    xtco tco;
    double per_sec = xsystem_tco_per_second(&t.sys, p.generate_power, 0, &tco);
    near(p.generate_tco_per_token, per_sec * T / 8, 1e-12);
    near(p.energy_per_token, p.generate_power * T / 8, 1e-12);
    assert_true(p.generate_power > t.sys.other_tdp);

    /* a decoding sequence sampled over time is length-biased: G in {10, 30}
     * gives the mean context 100 + (E[G^2] + E[G]) / (2 E[G]) = 113 */
    xlen_src l;
    xlen_src_point(&l, 100);
    xlen_discretize(&l, &t.conf.len_in);
    t.conf.len_out = (xlendist){.n = 2, .len = {10, 30}, .w = {0.5, 0.5}, .mean = 20,
                                .mean_sq = 500, .min = 10, .max = 30};
    assert_int_equal(xcbatch_eval(&t.sys, &mp, 4, &p, why, sizeof why), 0);
    rho = 4.0 / 20 * 100 / 512;
    full = step_by_hand(4, 113, 512, (1e4 + 100) / 200);
    dec = step_by_hand(4, 113, 0, 0);
    near(p.tpot, rho * full + (1 - rho) * dec, 1e-12);
}

static void test_limits_and_rate(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_NONE);
    toy_lengths(&t, 256, 128);
    t.conf.max_batch = 1024;
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf p;
    char why[200];
    /* the chunk budget: 512 prompt tokens per step serve 512 x 128 / 256 = 256 sequences */
    assert_int_equal(xcbatch_eval(&t.sys, &mp, 256, &p, why, sizeof why), -1);
    assert_non_null(strstr(why, "exceed the chunk budget of 512"));
    /* KV memory: 4 GB less 100.7 MB of weights over 16 KB x 384 per sequence = 620.2 */
    double by_mem = (4e9 - 4 * 12 * 1024.0 * 1024 * 2) / (384 * 16384.0);
    t.conf.cb.chunk_tokens = 4096;
    near(xcbatch_max_concurrency(&t.sys, &mp), by_mem, 1e-12);
    assert_int_equal(xcbatch_eval(&t.sys, &mp, 621, &p, why, sizeof why), -1);
    assert_non_null(strstr(why, "does not fit"));
    t.conf.cb.chunk_tokens = 512;
    near(xcbatch_max_concurrency(&t.sys, &mp), 256, 1e-12);

    /* an arrival rate: the concurrency that serves it */
    xperf top;
    assert_int_equal(xcbatch_eval(&t.sys, &mp, 200, &top, why, sizeof why), 0);
    double rate = top.requests_per_sec;
    assert_int_equal(xcbatch_solve_rate(&t.sys, &mp, rate, &p, why, sizeof why), 0);
    near(p.requests_per_sec, rate, 1e-7);
    near(p.concurrency, 200, 1e-6);
    assert_int_equal(xcbatch_solve_rate(&t.sys, &mp, rate / 10, &p, why, sizeof why), 0);
    near(p.requests_per_sec, rate / 10, 1e-7);
    near(p.generate_throughput, rate / 10 * 128, 1e-7); /* tokens/s = rate x E[G] */
    assert_true(p.concurrency < 20);
    assert_int_equal(xcbatch_solve_rate(&t.sys, &mp, rate * 10, &p, why, sizeof why), -1);
    assert_non_null(strstr(why, "above this mapping's capacity"));
}

static void test_mixture(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_ALL);
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 2, .prefill_micro_batch = 1};
    /* a single point is the plain evaluation */
    xperf a, b, mix;
    xperf_eval(&t.sys, &mp, 4, 100, 21, &a);
    xperf_eval_mix(&t.sys, &mp, 4, &t.conf.len_in, &t.conf.len_out, &mix);
    near(mix.prefill_latency, a.prefill_latency, 1e-15);
    near(mix.generate_latency, a.generate_latency, 1e-15);
    near(mix.generate_throughput, a.generate_throughput, 1e-14);
    near(mix.generate_tco_per_token, a.generate_tco_per_token, 1e-14);
    near(mix.energy_per_token, a.energy_per_token, 1e-14);

    /* inputs 100 or 300 tokens, half each; 21 output tokens */
    xlendist in = {.n = 2, .len = {100, 300}, .w = {0.5, 0.5}, .mean = 200, .mean_sq = 5e4};
    xperf_eval(&t.sys, &mp, 4, 300, 21, &b);
    xperf_eval_mix(&t.sys, &mp, 4, &in, &t.conf.len_out, &mix);
    near(mix.prefill_len, 200, 0);
    near(mix.prefill_latency, (a.prefill_latency + b.prefill_latency) / 2, 1e-14);
    near(mix.generate_latency, (a.generate_latency + b.generate_latency) / 2, 1e-14);
    /* rates are ratios of expectations: tokens over time */
    near(mix.prefill_throughput, 4 * 200 / mix.prefill_latency, 1e-14);
    near(mix.generate_throughput, 2 * 4 * 21 / (21 * a.tpot + 21 * b.tpot), 1e-14);
    double joules = (a.prefill_power * a.prefill_latency + a.generate_power * a.generate_latency +
                     b.prefill_power * b.prefill_latency + b.generate_power * b.generate_latency) /
                    2;
    near(mix.energy_per_token, joules / (4 * 21), 1e-14);
    /* TCO: the mixture's mean power sets TCO/s; per token = TCO/s x E[time] / (batch E[G]) */
    double time = (a.prefill_latency + a.generate_latency + b.prefill_latency +
                   b.generate_latency) / 2;
    xtco tco;
    double per_sec = xsystem_tco_per_second(&t.sys, joules / time, 0, &tco);
    near(mix.generate_tco_per_token, per_sec * time / (4 * 21), 1e-14);
    /* the longer prompts cost more per token than the short ones alone */
    assert_true(mix.generate_tco_per_token > a.generate_tco_per_token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_by_hand),
        cmocka_unit_test(test_steady_state),
        cmocka_unit_test(test_limits_and_rate),
        cmocka_unit_test(test_mixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
