/*
 * explore_model.h — the explorer's typed world: technology constants, chip,
 * package (HBM / 3D memory), server, TCO, LLM and system descriptions, and
 * the functions that evaluate them.  Numbers are doubles throughout (the
 * reallm formulas mix integer and real arithmetic; doubles reproduce them).
 * An unset optional input is NAN.  Units follow reallm: bytes, bytes/s,
 * FLOP/s, mm and mm2, watts, dollars, seconds.
 */
#ifndef ACCINF_EXPLORE_MODEL_H
#define ACCINF_EXPLORE_MODEL_H

#include "accinf/base.h"
#include "accinf/explore.h"
#include "explore/explore_lendist.h"
#include "explore/explore_yaml.h"

#include <stddef.h>

#define XNAME 64
#define XMAX_THRESHOLDS 8

/* ---- constants (the -c file; defaults are reallm's 7nm_default.yaml) ---- */

typedef struct xconst_chip {
    double sram_density, macs_density, w_per_tops, max_power_density, padring_width;
    double max_die_area, D0, alpha, wafer_diameter, wafer_dicing_gap, wafer_cost;
    double testing_cost_overhead, hbm_phy_ctrl_area_per_channel;
    double mem_3d_tsv_ctrl_area_per_vault, mem_3d_ctrl_area_per_vault, mem_3d_area_per_tsv;
    double mem_3d_test_area_per_vault;
} xconst_chip;

typedef struct xconst_pkg {
    double max_die_area, max_power_density, os_area_scale_factor, os_cost_per_mm2;
    size_t n_layer_factors; /* os_layer_scale_factor, in file order */
    double layer_threshold[XMAX_THRESHOLDS], layer_factor[XMAX_THRESHOLDS];
    double os_bonding_yield, c4_bump_cost_per_mm2, si_area_scale_factor, si_wafer_cost;
    double si_bonding_yield, si_D0, si_alpha;
} xconst_pkg;

typedef struct xconst_srv {
    double PCBCost, PCBPartsCost, DCDCCostPerAmp, DCDCMaxCurrent, DCDCEfficiency, MaxDCDCCost;
    double FanPower, FanCost, APPPower, APPCost, PSUCostPerW, PSUEfficiency, PSUOutputVoltage;
    double MaxPSUCost, ChassisCost, EthernetCost, SrvLife, SrvMaxPower, LaneAreaMin, LaneAreaMax;
} xconst_srv;

typedef struct xconst_tco {
    double ElectricityCost, InterestRate, DCCapex, DCAmortPeriod, DCOpex, PUE, SrvOpexRate,
        SrvAvgPwr;
} xconst_tco;

typedef struct xconst_energy {
    double sram_wgt, sram_act, dram, hbm2, stacked_dram, fma_fp16; /* pJ */
} xconst_energy;

typedef struct xconstants {
    xconst_chip chip;
    xconst_pkg pkg;
    xconst_srv srv;
    xconst_tco tco;
    xconst_energy energy;
} xconstants;

void xconstants_default(xconstants *c);

/* ---- IO links ------------------------------------------------------------ */

typedef struct xio {
    int present;
    char io_type[16];
    double num, bandwidth_per_io, area_per_io, tdp_per_io, pj_per_byte, init_time;
    /* derived */
    double bandwidth, area, tdp;
} xio;

void xio_update(xio *io);

/* ---- memories ------------------------------------------------------------ */

typedef struct xhbm {
    int present;
    char config[XNAME];
    double channel_bytes, channel_width, bit_rate, num_channels;
    double cost_per_gb, pj_per_byte, vdd, x, y, stack_cost;
    /* derived */
    double cap, bandwidth, tdp, area, cost;
} xhbm;

typedef struct xmem3d {
    int present;
    char config[XNAME], mem_type[XNAME];
    double tsvs, layer_bytes, layer_area, layer_cost, num_layers, density, tsv_area;
    double bit_rate, pj_per_bit, pj_per_byte, vdd;
    /* derived */
    int is_sram;
    double cap, bandwidth, tdp, area, cost;
} xmem3d;

acc_status xhbm_update(xhbm *hbm, acc_error *err);
acc_status xmem3d_update(xmem3d *mem, acc_error *err);

/* ---- chip ---------------------------------------------------------------- */

typedef enum xdataflow { XDF_ROOFLINE = 0, XDF_WS, XDF_LLMCOMPASS } xdataflow;

typedef struct xchip {
    char chip_id[XNAME], tech[16];
    xdataflow dataflow;
    xio pkg2pkg_io, chip2chip_io;
    double freq, bytes_per_word;
    int thermal_eval;
    double perf, sram, sram_bw;            /* either these three ... */
    double area, mac_ratio, operational_intensity; /* ... or these */
    double other_area, core_area_ratio, num_sa, acc_depth;
    double hbm_channels, mem_3d_vaults, mem_3d_vault_tsvs;
    double macs_density, w_per_tops, vdd;
    /* derived */
    int valid;
    char invalid_reason[160];
    double io_area, sram_area, mac_area, sram_mb, tdp, core_tdp, power_density;
    double die_yield, dpw, cost, tops, sram_bw_TB_per_sec, x, y, sa_width;
} xchip;

/* Evaluates a chip in place (area, tdp, yield, cost); sets valid/invalid_reason. */
void xchip_update(xchip *chip, const xconst_chip *c);

double xdie_yield(double area, double D0, double alpha);
double xdies_per_wafer(double die_area, double wafer_diameter, double dicing_gap);

/* ---- package ------------------------------------------------------------- */

typedef struct xpkg {
    const xchip *chip;
    double num_chips;
    xhbm hbm;
    xmem3d mem_3d;
    int si;           /* -1 unset */
    int thermal_eval; /* default 1 */
    double custom_max_power_density;
    /* derived */
    int valid;
    char invalid_reason[160];
    xio io;
    double num_hbm_stacks, perf, tdp, sram, dram, total_mem, dram_bw_per_chip;
    double tops, sram_mb, dram_gb, dram_bw_TB_per_sec;
    double total_die_area, area, heatsource_length, heatsource_width, power_density, cost;
} xpkg;

void xpkg_update(xpkg *pkg, const xconst_pkg *c);

/* ---- heatsink (ASIC Clouds model) --------------------------------------- */

typedef struct xheatsink {
    int valid;
    double cost, max_power;
} xheatsink;

void xheatsink_design(double heatsource_length_mm, double heatsource_width_mm,
                      double packages_per_lane, xheatsink *out);

/* ---- TCO ------------------------------------------------------------------ */

typedef struct xtco {
    double dc_amortization, dc_interest, dc_opex, srv_power, pue_overhead;
    double srv_amortization, srv_interest, srv_opex, total, fix_part, power_part;
} xtco;

void xtco_eval(const xconst_tco *c, double server_tdp, double server_cost, double server_life,
               xtco *out);
double xinterest_paid(double borrowing, double annual_rate, double years);

/* ---- server --------------------------------------------------------------- */

typedef struct xserver {
    const xpkg *pkg;
    const xconstants *constants; /* set by xserver_update */
    double packages_per_lane, num_lanes;
    int thermal_eval;
    double custom_max_power, package_max_power_factor;
    xio io;
    /* derived */
    int valid;
    char invalid_reason[160];
    xheatsink hs;
    double num_packages, num_chips, core_tdp, other_tdp, tdp, cost;
    double perf, sram, dram, tops, sram_mb, total_mem;
    double cost_dcdc, cost_psu;
    xtco tco;
} xserver;

void xserver_update(xserver *srv, const xconstants *c);

/* ---- LLM ------------------------------------------------------------------ */

typedef struct xllm {
    char name[XNAME], act[16];
    double num_layers, d, num_heads, d_head, d_ff, heads_per_kv_cache, bytes_per_number;
    /* beyond reallm */
    double num_experts, experts_per_token; /* MoE: 0/0 = dense */
    double vocab_size;                     /* 0: no embedding / LM head (reallm) */
    int tied_embeddings;                   /* LM head shares the embedding table */
    double weight_bits, kv_bits;           /* NAN = bytes_per_number * 8 */
    /* an engine whose decode attention reads each KV head once per query
     * head of its group (no GQA sharing of the reads; the cache is still
     * stored per KV head): decode K/V traffic as if MHA (calibration points'
     * "gqa_kv_reads": "per_query_head"; 0 = shared, the default) */
    int kv_reads_per_query_head;
    /* derived */
    int glu;
    double q_size, kv_size, o_size, atten_size, ffn_size, glu_size;
    double embed_size; /* embedding + LM-head weights (vocab x d, once if tied) */
    double model_size, model_size_byte, kv_per_token, kv_per_token_byte;
    double weight_bytes, kv_bytes; /* bytes per weight / per cached value */
} xllm;

acc_status xllm_update(xllm *m, acc_error *err);
/* FLOPs of a prefill of ctx tokens / of one decode step at context ctx. */
double xllm_prefill_flops(const xllm *m, double ctx, unsigned fixes);
double xllm_generate_flops(const xllm *m, double ctx, unsigned fixes);

/* ---- system and performance --------------------------------------------- */

typedef enum xallreduce {
    XAR_RING = 0, XAR_2D_RING, XAR_3D_RING, XAR_LOCAL_4D_16, XAR_LOCAL_2D_16,
    XAR_LOCAL_RING_16, XAR_LOCAL_RING_8,
    XAR_DIRECT /* beyond reallm: all-to-all switch (NVSwitch): reduce-scatter + all-gather in 2 hops */
} xallreduce;

typedef struct xmapping {
    double t, p, micro_batch, prefill_micro_batch;
} xmapping;

/* Continuous batching (beyond reallm; docs/EXPLORE.md). */
typedef struct xcbatch_conf {
    int on;
    double chunk_tokens; /* prompt tokens a step may take (Sarathi's chunk budget) */
    double concurrency;  /* sequences decoding together; 0: sweep 1, 2, 4 ... max_batch */
    double arrival_rate; /* requests per second; 0: not given */
} xcbatch_conf;

/* One expanded system configuration (the -s file). */
typedef struct xsysconf {
    double num_servers, kv_cache_ratio, max_ctx_len_batch_1, max_tco;
    double max_batch;
    double eval_len[2];
    int energy_model;
    double compute_perf_efficiency, io_bandwidth_efficiency, weight_bandwidth_efficiency;
    double prefill_overhead_sec, decode_overhead_sec; /* beyond reallm: fixed costs */
    /* beyond reallm (0 or NAN = off): KV-cache reads at their own achieved
     * bandwidth (else the weights'), the softness s of the roofline that
     * combines a product's compute and memory time as (c^(1/s) + m^(1/s))^s
     * (0: max, 1: sum), a fixed cost per layer per forward pass (kernel launches)
     * and per collective (launch and synchronisation) */
    double kv_bandwidth_efficiency, roofline_softness;
    double layer_overhead_sec, collective_overhead_sec;
    xallreduce allreduce_algo;
    int has_allreduce_algo; /* given in the file (else the hardware's, else ring) */
    int has_default_mapping;
    xmapping default_mapping;
    /* beyond reallm: request-length distributions (eval_len then holds their
     * means); len_in / len_out are single points for reallm's eval_len */
    int has_dist;
    xlendist len_in, len_out;
    double kv_percentile; /* percent of requests whose KV must fit */
    double kv_ctx;        /* the context that is: quantile of input + output */
    xcbatch_conf cb;
} xsysconf;

typedef struct xsystem {
    const xserver *srv;
    const xllm *model;
    const xsysconf *conf;
    unsigned fixes;
    /* derived */
    int valid;
    char invalid_reason[160];
    double num_servers, total_mem, kv_cache_ratio, max_ctx_len_batch_1, max_tco;
    double num_packages, num_chips, weight_bw_per_chip, kv_bw_per_chip;
    double perf, tdp, core_tdp, other_tdp;
} xsystem;

void xsystem_update(xsystem *sys);

/* Result of one (system, mapping, batch) point. */
typedef struct xperf {
    xmapping mapping;
    double batch, prefill_len, generate_len;
    double prefill_latency, generate_latency;
    double prefill_throughput, generate_throughput;
    double prefill_utilization, generate_utilization;
    double prefill_power, generate_power;
    double prefill_energy, generate_energy; /* joules, core */
    double prefill_tco_per_token, generate_tco_per_token;
    double prefill_io, prefill_compute, prefill_mem, generate_io, generate_compute, generate_mem;
    double capex, opex, srv_tco_total;
    double energy_per_token; /* joules per output token, whole system incl. other power */
    /* serving view: time to first token, time per output token (decode
     * step interval), completed requests per second, sequences decoding
     * together, prompt tokens per step (continuous batching; 0 static) */
    double ttft, tpot, requests_per_sec, concurrency, prefill_chunk;
} xperf;

void xperf_eval(const xsystem *sys, const xmapping *mapping, double batch, double prefill_len,
                double generate_len, xperf *out);
/* Expected performance of static batches over length distributions: each
 * batch holds one (input, output) point, input and output independent;
 * rates and TCO per token are ratios of expectations. */
void xperf_eval_mix(const xsystem *sys, const xmapping *mapping, double batch,
                    const xlendist *in, const xlendist *out_len, xperf *out);

/* One step of a continuous batch: dec_seqs sequences decode one token at
 * mean context dec_ctx while pf_tokens prompt tokens (a chunk) attend to
 * pf_ctx positions on average; logits are computed for `logits` rows. */
typedef struct xstep {
    double dec_seqs, dec_ctx, pf_tokens, pf_ctx, logits;
} xstep;

typedef struct xstep_result {
    double time;        /* token interval: max(pass, stages x stage) + decode overhead */
    double core_energy; /* joules of the step, all micro-batches */
    double io, compute, mem, utilization;
} xstep_result;

void xstep_eval(const xsystem *sys, const xmapping *mapping, const xstep *step,
                xstep_result *out);
double xsystem_tco_per_second(const xsystem *sys, double srv_power, double utilization,
                              xtco *tco);

/* Continuous-batching steady state (explore_cbatch.c) at a concurrency, or
 * at the concurrency that serves conf->cb.arrival_rate.  Returns 0, or -1
 * with why filled when the point cannot be served. */
int xcbatch_eval(const xsystem *sys, const xmapping *mapping, double concurrency, xperf *out,
                 char *why, size_t why_cap);
int xcbatch_solve_rate(const xsystem *sys, const xmapping *mapping, double rate, xperf *out,
                       char *why, size_t why_cap);
/* The most sequences a mapping can keep decoding: KV memory at kv_ctx, the
 * chunk budget (prompt tokens per step below chunk_tokens), max_batch. */
double xcbatch_max_concurrency(const xsystem *sys, const xmapping *mapping);

/* A product's time from its compute and memory times: max (s <= 0 or NAN:
 * the plain roofline), the smooth roofline (c^(1/s) + m^(1/s))^s for
 * kernels that overlap loads and math only partly, c + m at s >= 1. */
double xroofline_time(double comp, double mem, double s);

/* All-reduce time of num_bytes over num_nodes through the slowest link. */
double xallreduce_time(double num_nodes, double num_bytes, const xio *const *links,
                       size_t nlinks, double io_efficiency, xallreduce algo);

/* Candidate mappings for a batch (reallm gen_mappings, with its KV-capacity
 * check).  Writes at most cap; returns how many exist. */
size_t xsystem_mappings(const xsystem *sys, double batch, double min_ctx_len, xmapping *out,
                        size_t cap);

/* ---- input loading -------------------------------------------------------- */

typedef struct xinputs {
    xarena arena;
    xconstants constants;
    char hw_name[XNAME];
    /* the hardware file's `Calibration:` line (where its Efficiency factors
     * come from); "uncalibrated..." makes explore warn; empty: not given */
    char hw_calibration[256];
    xchip *chips;       /* chip configurations (before evaluation) */
    size_t n_chips;
    xpkg *pkgs;         /* package configurations (chip pointer unset) */
    size_t n_pkgs;
    xserver *srvs;      /* server configurations (pkg pointer unset) */
    size_t n_srvs;
    xllm *models;
    size_t n_models;
    xsysconf *sysconfs;
    size_t n_sysconfs;
    int has_hw_eff;   /* the hardware file has an Efficiency section */
    xsysconf hw_eff;  /* its factors (unset ones NAN) and allreduce_algo */
} xinputs;

typedef struct xinput_text {
    const char *name; /* display name for errors */
    const char *text; /* NULL = not given */
    size_t size;
} xinput_text;

/* Parses the four inputs; constants and system fall back to reallm's
 * defaults when text is NULL.  max_points bounds hardware x system variants
 * before anything is expanded (0 = no bound). */
acc_status xinputs_load(xinputs *in, const xinput_text *hw, const xinput_text *model,
                        const xinput_text *constants, const xinput_text *system,
                        double max_points, acc_error *err);
void xinputs_free(xinputs *in);

/* Efficiency factors: keys of the system file, of the hardware file's
 * optional Efficiency section (defaults for every system on that hardware)
 * and the parameters `explore calibrate` fits. */
typedef enum xeff_param {
    XEFF_COMPUTE = 0, XEFF_BANDWIDTH, XEFF_KV_BANDWIDTH, XEFF_IO, XEFF_SOFTNESS, XEFF_LAYER,
    XEFF_PREFILL, XEFF_DECODE, XEFF_COLLECTIVE, XEFF_COUNT
} xeff_param;

typedef struct xeff_info {
    const char *key;   /* system / Efficiency key */
    const char *short_name; /* --fit name */
    double def, lo, hi, scale; /* reallm default, fit bounds, typical size */
} xeff_info;

const xeff_info *xeff_info_get(xeff_param p);
double *xsysconf_eff(xsysconf *s, xeff_param p);
/* Fills the efficiency fields a system file left unset (NAN) from the
 * hardware's Efficiency section (hw_eff, may be NULL), then from reallm's
 * defaults (efficiencies 1, overheads 0, plain roofline). */
void xsysconf_resolve(xsysconf *s, const xsysconf *hw_eff);

/* Whether a `Calibration:` line marks the factors as uncalibrated (it
 * starts with "uncalibrated", any case). */
int xcalibration_is_uncalibrated(const char *calibration);

/* Reads one un-swept Model section (for calibration points). */
acc_status xmodel_load_text(const char *name, const char *text, size_t size, xllm *out,
                            acc_error *err);

/* Individual section parsers (exposed for tests). */
acc_status xconstants_parse(const xnode *root, xconstants *c, acc_error *err);

#endif
