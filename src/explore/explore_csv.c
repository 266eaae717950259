/*
 * explore_csv.c — HW.csv (one row per valid server design) and MODEL.csv
 * (per optimisation goal and eval_len: the best system at the target batch,
 * then its best mapping at every batch) with reallm v1's column names, so
 * scripts written for reallm read them unchanged.  Files are written
 * atomically.
 */
#include "explore/explore_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xfmt_double(char *buf, size_t cap, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buf, cap, "%.*g", precision, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A growable text buffer; out-of-memory sticks and is reported once. */
typedef struct textbuf {
    char *data;
    size_t len, cap;
    int failed;
} textbuf;

static void tb_put(textbuf *tb, const char *text)
{
    size_t n = strlen(text);
    if (tb->failed)
        return;
    if (tb->len + n + 1 > tb->cap) {
        size_t cap = tb->cap ? tb->cap * 2 : 4096;
        while (cap < tb->len + n + 1)
            cap *= 2;
        char *grown = realloc(tb->data, cap);
        if (!grown) {
            tb->failed = 1;
            return;
        }
        tb->data = grown;
        tb->cap = cap;
    }
    memcpy(tb->data + tb->len, text, n + 1);
    tb->len += n;
}

static void tb_num(textbuf *tb, double v, int last)
{
    char buf[40];
    xfmt_double(buf, sizeof buf, v);
    tb_put(tb, buf);
    tb_put(tb, last ? "\n" : ",");
}

static acc_status tb_write(textbuf *tb, const char *path, acc_error *err)
{
    acc_status status = tb->failed ? acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path)
                                   : acc_write_file_atomic(path, tb->data, tb->len, err);
    free(tb->data);
    return status;
}

static const char *const HW_HEADER =
    "chip_area,chip_sram_mb,chip_tops,chip_sram_bw_TB_per_sec,chip_sram_area,chip_mac_area,"
    "chip_tdp,chip_cost,srv_num_packages,srv_sram_mb,srv_tdp,srv_tops,srv_cost,tco_total,"
    "tco_dc_amortization,tco_dc_interest,tco_dc_opex,tco_srv_amortization,tco_srv_interest,"
    "tco_srv_opex,tco_srv_power,tco_pue_overhead,cost_per_tops,watts_per_tops,tco_per_tops,"
    "sram_density,die_yield,sparse_weight,chip_id,"
    /* beyond reallm's columns: the package level */
    "pkg_num_chips,pkg_tops,pkg_sram_mb,pkg_tdp,pkg_dram_gb,pkg_dram_bw_TB_per_sec,pkg_cost,"
    "chip_die_per_wafer,srv_heatsink_max_power\n";

acc_status xcsv_write_hw(const xrun *r, const char *path, acc_error *err)
{
    textbuf tb = {0};
    tb_put(&tb, HW_HEADER);
    for (size_t i = 0; i < r->n_srvs; i++) {
        const xserver *s = &r->srvs[i];
        const xpkg *p = s->pkg;
        const xchip *c = p->chip;
        const xtco *t = &s->tco;
        double tops = s->perf / 1e12;
        double row[] = {c->area, c->sram_mb, c->tops, c->sram_bw_TB_per_sec, c->sram_area,
                        c->mac_area, c->tdp, c->cost, s->num_packages, s->sram_mb, s->tdp,
                        s->tops, s->cost, t->total, t->dc_amortization, t->dc_interest,
                        t->dc_opex, t->srv_amortization, t->srv_interest, t->srv_opex,
                        t->srv_power, t->pue_overhead, s->cost / tops, s->tdp / tops,
                        t->total / tops, c->sram_mb / c->sram_area, c->die_yield};
        for (size_t k = 0; k < sizeof row / sizeof *row; k++)
            tb_num(&tb, row[k], 0);
        tb_put(&tb, "False,");
        tb_put(&tb, c->chip_id);
        tb_put(&tb, ",");
        double pkg_row[] = {p->num_chips, p->tops, p->sram_mb, p->tdp, p->dram_gb,
                            p->dram_bw_TB_per_sec, p->cost, c->dpw, s->hs.max_power};
        size_t n = sizeof pkg_row / sizeof *pkg_row;
        for (size_t k = 0; k < n; k++)
            tb_num(&tb, pkg_row[k], k + 1 == n);
    }
    return tb_write(&tb, path, err);
}

static const char *const GOAL_NAMES[XGOAL_COUNT] = {"prefill_lat", "decoding_lat", "tco"};

acc_status xcsv_write_model(const xrun *r, size_t model, const char *path, acc_error *err)
{
    textbuf tb = {0};
    tb_put(&tb, "opt_goal,input_len,output_len,batch,prefill_sec,decoding_sec,tco_per_Mtoken,"
                "prefill_io_sec,prefill_compute_sec,prefill_mem_sec,decoding_io_sec,"
                "decoding_compute_sec,decoding_mem_sec,capex,opex,"
                /* beyond reallm */
                "t,p,micro_batch,prefill_micro_batch,decoding_tokens_per_sec,"
                "joules_per_token,system\n");
    for (int goal = 0; goal < XGOAL_COUNT; goal++) {
        for (size_t gi = 0; gi < r->n_groups; gi++) {
            const xgroup *g = &r->groups[gi];
            if (g->model != model || !g->have_valid)
                continue;
            int target = xgroup_target_batch(g, (xgoal)goal);
            if (target < 0)
                continue;
            const xbest *chosen = &g->best[goal][target];
            int b = 0;
            for (double batch = 1; batch <= g->max_batch && b < XMAX_BATCHES; batch *= 2, b++) {
                if (!(chosen->series.present & (1u << b)))
                    continue;
                const xperf *p = &chosen->series.perf[b];
                tb_put(&tb, GOAL_NAMES[goal]);
                tb_put(&tb, ",");
                double row[] = {p->prefill_len, p->generate_len, p->batch, p->prefill_latency,
                                p->generate_latency, p->generate_tco_per_token * 1e6,
                                p->prefill_io, p->prefill_compute, p->prefill_mem,
                                p->generate_io, p->generate_compute, p->generate_mem, p->capex,
                                p->opex, p->mapping.t, p->mapping.p, p->mapping.micro_batch,
                                p->mapping.prefill_micro_batch, p->generate_throughput,
                                p->energy_per_token, (double)chosen->system};
                size_t n = sizeof row / sizeof *row;
                for (size_t k = 0; k < n; k++)
                    tb_num(&tb, row[k], k + 1 == n);
            }
        }
    }
    return tb_write(&tb, path, err);
}
