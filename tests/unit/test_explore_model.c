/*
 * test_explore_model.c — every formula of the explorer pinned with values
 * worked out by hand: yield, dies per wafer, loan interest, TCO parts, IO
 * and HBM derivations, chip area, package cost, model sizes and FLOPs,
 * all-reduce times, the roofline of one decode step, mapping enumeration,
 * and the effect of each defect fix on a small GQA/SwiGLU model.
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

static void test_yield_and_wafer(void **state)
{
    (void)state;
    near(xdie_yield(100, 0.001, 10), 1 / pow(1.01, 10), 1e-12); /* 0.905287 */
    near(xdie_yield(0, 0.001, 10), 1.0, 0);
    /* 100 mm squares on a 300 mm wafer: two rows of two straddle the diameter */
    near(xdies_per_wafer(10000, 300, 0), 4, 0);
    /* 50 mm squares: rows of 5,5,3 on one side and 5,3 on the other (worked by hand) */
    near(xdies_per_wafer(2500, 300, 0), 21, 0);
    near(xdies_per_wafer(0, 300, 0), 0, 0);
}

static void test_interest_and_tco(void **state)
{
    (void)state;
    /* 1000 $ over 12 monthly payments at 1%/month: 88.8488 $ each */
    near(xinterest_paid(1000, 0.12, 1), 66.1854642, 1e-8);
    xconstants c;
    xconstants_default(&c);
    xtco t;
    xtco_eval(&c.tco, 1000, 10000, 1.5, &t);
    near(t.dc_amortization, 10.0 * 1000 * 1.5 / 12, 1e-12);                /* 1250 */
    near(t.dc_opex, 0.04 * 1000 * 1.5 * 12, 1e-12);                        /* 720 */
    near(t.srv_power, 0.067 / 1000 * 24 * 30 * 1000 * 1.5 * 12, 1e-12);    /* 868.32 */
    near(t.pue_overhead, t.srv_power * 0.5, 1e-12);                        /* 434.16 */
    near(t.srv_opex, 500, 1e-12);
    near(t.srv_interest, xinterest_paid(10000, 0.08, 1.5), 1e-12);
    near(t.total, t.fix_part + t.power_part, 1e-12);
}

static void test_io_hbm_chip(void **state)
{
    (void)state;
    xio io = {.num = 2, .bandwidth_per_io = 150e9, .area_per_io = 5, .tdp_per_io = 0.25};
    xio_update(&io);
    near(io.bandwidth, 300e9, 0);
    near(io.area, 10, 0);
    near(io.tdp, 0.5, 0);
    xhbm hbm = {.channel_bytes = 2147483648.0, .channel_width = 128, .num_channels = 8,
                .bit_rate = 3865470566.0, .pj_per_byte = 31.2, .x = 7.75, .y = 11.87,
                .stack_cost = 120, .cost_per_gb = 7.5};
    assert_int_equal(xhbm_update(&hbm, NULL), ACC_OK);
    near(hbm.bandwidth, 3865470566.0 * 128 * 8 / 8, 1e-15); /* 494.78 GB/s */
    near(hbm.cap, 16.0 * 1024 * 1024 * 1024, 0);
    near(hbm.tdp, 494780232448.0 * 31.2e-12, 1e-12);
    near(hbm.cost, 120, 0);
    hbm.stack_cost = NAN; /* priced by capacity instead */
    xhbm_update(&hbm, NULL);
    near(hbm.cost, 16 * 7.5, 1e-12);

    /* TPUv5p-like chip: SRAM 300 MB x 0.45 = 135 mm2, MACs 459 x 0.7 = 321.3 mm2,
     * IO 10 mm2, other 70 + 48 x 1.04 mm2; core = sum / 0.95; die = (sqrt + 0.35)^2 */
    xconstants c;
    xconstants_default(&c);
    xchip chip = {.dataflow = XDF_ROOFLINE, .freq = 1e9, .bytes_per_word = 2, .thermal_eval = 1,
                  .perf = 459e12, .sram = 300e6, .sram_bw = 2e12, .area = NAN,
                  .mac_ratio = NAN, .operational_intensity = NAN, .other_area = 70,
                  .core_area_ratio = 0.95, .num_sa = 1, .acc_depth = 1e100, .hbm_channels = 48,
                  .mem_3d_vault_tsvs = NAN, .macs_density = 0.7, .w_per_tops = 0.36, .vdd = 0.8,
                  .pkg2pkg_io = io};
    chip.pkg2pkg_io.present = 1;
    xchip_update(&chip, &c.chip);
    assert_true(chip.valid);
    double core = (135 + 321.3 + 10 + 70 + 48 * 1.04) / 0.95;
    double side = sqrt(core) + 0.35;
    near(chip.area, side * side, 1e-12); /* 634.5849 mm2 */
    near(chip.tdp, 459 * 0.36 + 0.5, 1e-12);
    double yield = xdie_yield(chip.area, 0.001, 10);
    double dpw = xdies_per_wafer(chip.area, 300, 0.1);
    near(chip.cost, 10000 / dpw / yield * 1.01, 1e-12);
    near(chip.sa_width, floor(sqrt(floor(459e12 / 1e9 / 2))), 0);

    /* the same chip from its area: the inverse path gives back perf and SRAM */
    xchip inv = chip;
    inv.perf = inv.sram = inv.sram_bw = NAN;
    inv.area = chip.area;
    inv.mac_ratio = chip.mac_area / (chip.mac_area + chip.sram_area);
    inv.operational_intensity = 100;
    xchip_update(&inv, &c.chip);
    assert_true(inv.valid);
    near(inv.perf, 459e12, 1e-9);
    near(inv.sram, 300e6, 1e-9);
    near(inv.sram_bw, 459e12 / 2 / 100 * 2, 1e-9);

    /* too big a die is pruned with a reason */
    xchip big = chip;
    big.perf = 2000e12;
    big.area = NAN;
    xchip_update(&big, &c.chip);
    assert_false(big.valid);
    assert_non_null(strstr(big.invalid_reason, "maximum die area"));
}

static void test_package_cost(void **state)
{
    (void)state;
    xconstants c;
    xconstants_default(&c);
    /* two 100 mm2 chips on organic substrate: area 800 mm2 (> 289 -> 1.75 layers) */
    xchip chip = {.area = 100, .x = 10, .y = 10, .perf = 1e14, .tdp = 10, .sram = 1e6,
                  .cost = 50, .tops = 100, .sram_mb = 1, .mem_3d_vault_tsvs = NAN};
    xio io = {.num = 1, .bandwidth_per_io = 1e9};
    chip.pkg2pkg_io = io;
    xpkg pkg = {.chip = &chip, .num_chips = 2, .si = -1, .thermal_eval = 1,
                .custom_max_power_density = NAN};
    xpkg_update(&pkg, &c.pkg);
    assert_true(pkg.valid);
    near(pkg.area, 200 * 4.0, 0);
    double bonding = 0.99 * 0.99;
    double packaging = 800 * 0.005 * 1.75 / bonding + 2 * 50 * (1 / bonding - 1);
    near(pkg.cost, 2 * 50 + packaging, 1e-12);
    /* heat source: ceil(sqrt 2) chips per side x 10 mm x 1.2 */
    near(pkg.heatsource_length, 24, 1e-12);
    near(pkg.io.bandwidth, 2e9, 0);
}

static void llm(xllm *m, double layers, double d, double heads, double hpkv, double dff,
                const char *act)
{
    memset(m, 0, sizeof *m);
    m->num_layers = layers;
    m->d = d;
    m->num_heads = heads;
    m->d_head = NAN;
    m->d_ff = dff;
    m->heads_per_kv_cache = hpkv;
    m->bytes_per_number = 2;
    m->weight_bits = m->kv_bits = NAN;
    strcpy(m->act, act);
    assert_int_equal(xllm_update(m, NULL), ACC_OK);
}

static void test_model_sizes_and_flops(void **state)
{
    (void)state;
    xllm gpt3;
    llm(&gpt3, 96, 12288, 96, 1, NAN, "gelu");
    near(gpt3.model_size, 12.0 * 12288 * 12288 * 96, 0); /* 173.9e9 */
    near(gpt3.kv_per_token, 96 * 2 * 12288, 0);
    /* prefill of 10 tokens: 2 x params x 10 + 4 x layers x d x 10^2 */
    near(xllm_prefill_flops(&gpt3, 10, 0), 2 * gpt3.model_size * 10 + 96 * 4 * 12288 * 100.0, 1e-12);
    near(xllm_prefill_flops(&gpt3, 10, ACC_EXPLORE_FIX_CAUSAL),
         2 * gpt3.model_size * 10 + 96 * 4 * 12288 * 100.0 * 11 / 20, 1e-12);

    /* Llama-2-70B shape: GQA 8 KV heads, SwiGLU width 28672 */
    xllm l2;
    llm(&l2, 80, 8192, 64, 8, 28672, "swiglu");
    double layer = 8192.0 * 8192 * 2 + 2 * 8192.0 * 1024 + 3 * 8192.0 * 28672;
    near(l2.model_size, 80 * layer, 1e-12); /* 68.7e9 without embeddings */
    near(l2.kv_per_token, 80 * 2 * 1024, 0);
    /* reallm's FLOP count leaves out the gate projection */
    double without_gate = 2 * 80 * (layer - 8192.0 * 28672);
    near(xllm_generate_flops(&l2, 0, 0), without_gate, 1e-12);
    near(xllm_generate_flops(&l2, 0, ACC_EXPLORE_FIX_GLU), 2 * l2.model_size, 1e-12);
}

static void test_allreduce(void **state)
{
    (void)state;
    xio link = {.bandwidth = 1e9, .init_time = 1e-6};
    xio fast = {.bandwidth = 1e12, .init_time = 1e-9};
    const xio *links[] = {&fast, &link};
    /* ring: 2 (p-1) (alpha + n / (p B)) */
    near(xallreduce_time(4, 1e6, links, 2, 1, XAR_RING), 6 * (1e-6 + 2.5e-4), 1e-12);
    /* 2D ring over 16: 2 (4-1) (2 alpha + n / (4 B)) */
    near(xallreduce_time(16, 1e6, links, 2, 1, XAR_2D_RING), 6 * (2e-6 + 2.5e-4), 1e-12);
    /* 3D ring over 64: 2 (4-1) (3 alpha + n / (4 B)); efficiency halves the bandwidth */
    near(xallreduce_time(64, 1e6, links, 2, 0.5, XAR_3D_RING), 6 * (3e-6 + 5e-4), 1e-12);
    near(xallreduce_time(1, 1e6, links, 2, 1, XAR_RING), 0, 0);
    near(xallreduce_time(8, 1e6, links, 2, 1, XAR_LOCAL_RING_8), 14e-6 + 1.75e-3, 1e-12);
}

/* One server of 4 single-chip packages with plain numbers, to pin the
 * decode step by hand. */
typedef struct toy {
    xconstants c;
    xchip chip;
    xpkg pkg;
    xserver srv;
    xsysconf conf;
    xllm model;
    xsystem sys;
} toy;

static void toy_build(toy *t, unsigned fixes, double hpkv, const char *act)
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
    llm(&t->model, 4, 1024, 8, hpkv, 4096, act);
    t->conf = (xsysconf){.num_servers = 1, .kv_cache_ratio = NAN, .max_ctx_len_batch_1 = NAN,
                         .max_tco = NAN, .max_batch = 8, .eval_len = {100, 21},
                         .energy_model = 1, .compute_perf_efficiency = 1,
                         .io_bandwidth_efficiency = 1, .weight_bandwidth_efficiency = 1,
                         .allreduce_algo = XAR_RING};
    t->sys = (xsystem){.srv = &t->srv, .model = &t->model, .conf = &t->conf, .fixes = fixes};
    xsystem_update(&t->sys);
    assert_true(t->sys.valid);
}

static void test_decode_step_by_hand(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_NONE, 1, "gelu");
    near(t.sys.num_chips, 4, 0);
    near(t.sys.weight_bw_per_chip, 1e12, 0);
    near(t.sys.other_tdp, 100, 1e-12);
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf perf;
    xperf_eval(&t.sys, &mp, 1, 100, 21, &perf);
    /* decode, batch 1, t = 4: every product is bound by loading its right operand
     * at 1 TB/s (2 bytes per value); context 100 + 21/2 = 110.5 */
    double d = 1024, ctx = 110.5;
    double loads = d * (3 * d / 4) + (d / 4) * ctx + ctx * (d / 4) + (d / 4) * d +
                   d * (4096 / 4) + (4096 / 4) * d;
    double layer_mem = loads * 2 / 1e12;
    /* two ring all-reduces of d values over 4 chips at 100 GB/s, 1 us start-up */
    double allreduce = 2 * 3 * (1e-6 + d * 2 / 4 / 100e9);
    double stage2stage = d * 2 / 50e9 + 2e-6;
    double token = 4 * (layer_mem + 2 * allreduce) + stage2stage;
    near(perf.generate_latency, token * 21, 1e-12);
    near(perf.generate_throughput, 1 / token, 1e-12);
    near(perf.generate_io, (token - 4 * layer_mem) / token * perf.generate_latency, 1e-9);
    near(perf.generate_compute, 0, 0);
}

static void test_fixes_on_gqa_swiglu(void **state)
{
    (void)state;
    toy base, fixed;
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf a, b;
    toy_build(&base, ACC_EXPLORE_FIX_NONE, 4, "swiglu");
    xperf_eval(&base.sys, &mp, 1, 100, 21, &a);
    /* GQA fix: the QKV GEMM is d + 2 d/4 wide, K and V reads shrink 4x */
    toy_build(&fixed, ACC_EXPLORE_FIX_GQA, 4, "swiglu");
    xperf_eval(&fixed.sys, &mp, 1, 100, 21, &b);
    double d = 1024, ctx = 110.5;
    double saved = (d * (3 * d / 4) - d * ((d + d / 2) / 4)) + 2 * (d / 4) * ctx * 0.75;
    double layers = 4, steps = 21;
    near(a.generate_latency - b.generate_latency, saved * 2 / 1e12 * layers * steps, 1e-9);
    /* TCO fix: the per-token TCO is multiplied back by the batch */
    toy_build(&fixed, ACC_EXPLORE_FIX_TCO_BATCH, 4, "swiglu");
    xperf_eval(&base.sys, &mp, 4, 100, 21, &a);
    xperf_eval(&fixed.sys, &mp, 4, 100, 21, &b);
    near(b.generate_tco_per_token, a.generate_tco_per_token * 4, 1e-12);
    near(b.capex, a.capex, 1e-12);
}

/* An engine whose decode attention reads K/V once per query head (the
 * point key gqa_kv_reads: per_query_head): decode K and V traffic is the
 * MHA amount, 4x the shared reads of 4 query heads per KV head; prefill and
 * the KV capacity do not change. */
static void test_kv_reads_per_query_head(void **state)
{
    (void)state;
    toy shared, per_head;
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf a, b;
    toy_build(&shared, ACC_EXPLORE_FIX_ALL, 4, "swiglu");
    toy_build(&per_head, ACC_EXPLORE_FIX_ALL, 4, "swiglu");
    per_head.model.kv_reads_per_query_head = 1;
    xperf_eval(&shared.sys, &mp, 1, 100, 21, &a);
    xperf_eval(&per_head.sys, &mp, 1, 100, 21, &b);
    /* per chip and layer, Q.K^T and S.V each read (d/t) x ctx values of 2
     * bytes at 1 TB/s: shared, a quarter of that; both memory-bound here */
    double d = 1024, ctx = 110.5, t = 4, layers = 4, steps = 21;
    double extra = 2 * (d / t) * ctx * (1 - 1.0 / 4) * 2 / 1e12;
    near(b.generate_latency - a.generate_latency, extra * layers * steps, 1e-9);
    near(1 / b.generate_throughput - 1 / a.generate_throughput, extra * layers, 1e-9);
    near(b.prefill_latency, a.prefill_latency, 1e-12);
    near(per_head.model.kv_per_token_byte, shared.model.kv_per_token_byte, 0);
}

static void test_fixed_overheads(void **state)
{
    (void)state;
    toy t;
    xmapping mp = {.t = 4, .p = 1, .micro_batch = 1, .prefill_micro_batch = 1};
    xperf a, b;
    toy_build(&t, ACC_EXPLORE_FIX_ALL, 1, "gelu");
    xperf_eval(&t.sys, &mp, 1, 100, 21, &a);
    t.conf.prefill_overhead_sec = 0.005;
    t.conf.decode_overhead_sec = 0.001;
    xperf_eval(&t.sys, &mp, 1, 100, 21, &b);
    near(b.prefill_latency - a.prefill_latency, 0.005, 1e-9);
    near(b.generate_latency - a.generate_latency, 21 * 0.001, 1e-9);
    near(1 / b.generate_throughput - 1 / a.generate_throughput, 0.001, 1e-9);
}

static void test_mappings(void **state)
{
    (void)state;
    toy t;
    toy_build(&t, ACC_EXPLORE_FIX_NONE, 1, "gelu");
    xmapping maps[64];
    /* 4 layers: pipeline depths 1, 2, 3 (ceil 4/3 = 2 = ceil 4/2, skipped), 4;
     * one server: p > 1 must divide evenly over servers (1 does), t_pkg = 4 / p */
    size_t n = xsystem_mappings(&t.sys, 4, 121, maps, 64);
    /* micro-batch pairs for batch 4: (1,1) (2,1) (2,2) (4,1) (4,2) (4,4) = 6 per depth */
    assert_int_equal(n, 3 * 6);
    near(maps[0].t, 4, 0);
    near(maps[6].p, 2, 0);
    near(maps[6].t, 2, 0);
    near(maps[12].p, 4, 0);
    near(maps[12].t, 1, 0);
    /* a KV cache that does not fit removes every mapping */
    assert_int_equal(xsystem_mappings(&t.sys, 1e6, 121, maps, 64), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yield_and_wafer),
        cmocka_unit_test(test_interest_and_tco),
        cmocka_unit_test(test_io_hbm_chip),
        cmocka_unit_test(test_package_cost),
        cmocka_unit_test(test_model_sizes_and_flops),
        cmocka_unit_test(test_allreduce),
        cmocka_unit_test(test_decode_step_by_hand),
        cmocka_unit_test(test_fixes_on_gqa_swiglu),
        cmocka_unit_test(test_kv_reads_per_query_head),
        cmocka_unit_test(test_fixed_overheads),
        cmocka_unit_test(test_mappings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
