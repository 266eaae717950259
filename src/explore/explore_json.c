/*
 * explore_json.c — the JSON summary of an exploration: design counts per
 * level, sweep speed, the best system per (model, eval_len) for TCO per
 * token and for latency, and the Pareto fronts of throughput against TCO per
 * token and against per-token latency.
 */
#include "explore/explore_run.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const FIX_NAMES[] = {"tco_batch", "gqa", "causal", "glu", "d_hack",
                                        "bytes", "kv_check"};

static json_t *perf_json(const xrun *r, size_t system, const xperf *p)
{
    size_t per_server = r->in.n_models * r->in.n_sysconfs;
    const xserver *srv = &r->srvs[system / per_server];
    return json_pack("{s:I,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "server",
                     (json_int_t)(system / per_server), "chip_id", srv->pkg->chip->chip_id,
                     "num_chips_per_server", srv->num_chips, "batch", p->batch, "t", p->mapping.t,
                     "p", p->mapping.p, "micro_batch", p->mapping.micro_batch, "prefill_sec",
                     p->prefill_latency, "decoding_sec", p->generate_latency, "tco_per_Mtoken",
                     p->generate_tco_per_token * 1e6, "decoding_tokens_per_sec",
                     p->generate_throughput, "joules_per_token", p->energy_per_token, "capex",
                     p->capex, "opex", p->opex);
}

/* The serving view of a point (time to first token, per output token). */
static json_t *perf_json_serving(const xrun *r, size_t system, const xperf *p)
{
    json_t *o = perf_json(r, system, p);
    json_object_set_new(o, "ttft_sec", json_real(p->ttft));
    json_object_set_new(o, "tpot_sec", json_real(p->tpot));
    json_object_set_new(o, "requests_per_sec", json_real(p->requests_per_sec));
    if (p->prefill_chunk > 0)
        json_object_set_new(o, "prompt_tokens_per_step", json_real(p->prefill_chunk));
    return o;
}

acc_status xjson_write_summary(const xrun *r, const acc_explore_summary *s, const char *path,
                               acc_error *err)
{
    json_t *root = json_object();
    json_t *fixes = json_array();
    for (size_t i = 0; i < sizeof FIX_NAMES / sizeof *FIX_NAMES; i++)
        if (r->fixes & (1u << i))
            json_array_append_new(fixes, json_string(FIX_NAMES[i]));
    json_object_set_new(root, "hardware", json_string(s->hw_name));
    json_object_set_new(root, "model", json_string(s->model_name));
    /* where the hardware's efficiency factors come from (its Calibration:
     * line), so that a summary of an uncalibrated preset says so */
    json_object_set_new(root, "calibration",
                        s->calibration[0] ? json_string(s->calibration) : json_null());
    json_object_set_new(root, "uncalibrated", json_boolean(s->uncalibrated));
    json_object_set_new(root, "defect_fixes", fixes);
    json_object_set_new(root, "designs",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "chip_configs",
                                  (json_int_t)r->in.n_chips, "valid_chips", (json_int_t)s->chips,
                                  "valid_packages", (json_int_t)s->packages, "valid_servers",
                                  (json_int_t)s->servers, "systems", (json_int_t)s->systems,
                                  "valid_systems", (json_int_t)s->valid_systems));
    json_object_set_new(root, "sweep",
                        json_pack("{s:f,s:f,s:f,s:i}", "points", s->points, "seconds", s->seconds,
                                  "points_per_minute", s->points_per_minute, "threads",
                                  s->threads));
    json_t *best = json_array();
    for (size_t gi = 0; gi < r->n_groups; gi++) {
        const xgroup *g = &r->groups[gi];
        if (!g->have_valid)
            continue;
        const xbest *tco = NULL, *lat = NULL;
        const xperf *tco_p = NULL, *lat_p = NULL;
        for (int k = 0; k < XMAX_BATCHES; k++) {
            const xbest *b = &g->best[XGOAL_TCO][k];
            if (b->have && (!tco || b->value < tco_p->generate_tco_per_token)) {
                tco = b;
                tco_p = &b->series.perf[k];
            }
            b = &g->best[XGOAL_DECODE_LAT][k];
            if (b->have && (!lat || b->value < lat_p->generate_latency)) {
                lat = b;
                lat_p = &b->series.perf[k];
            }
        }
        json_t *entry = json_pack("{s:s,s:f,s:f}", "model", r->in.models[g->model].name,
                                  "input_len", g->L, "output_len", g->G);
        const xsysconf *conf = &r->in.sysconfs[g->conf];
        if (conf->has_dist) {
            json_object_set_new(entry, "input_len_dist", json_string(conf->len_in.desc));
            json_object_set_new(entry, "output_len_dist", json_string(conf->len_out.desc));
            json_object_set_new(entry, "kv_percentile", json_real(conf->kv_percentile));
            json_object_set_new(entry, "kv_context", json_real(conf->kv_ctx));
        }
        if (conf->cb.on)
            json_object_set_new(entry, "continuous_batching",
                                json_pack("{s:f,s:f,s:f}", "chunk_tokens", conf->cb.chunk_tokens,
                                          "concurrency", conf->cb.concurrency, "arrival_rate",
                                          conf->cb.arrival_rate));
        if (tco)
            json_object_set_new(entry, "lowest_tco_per_token",
                                perf_json_serving(r, tco->system, tco_p));
        if (lat)
            json_object_set_new(entry, "lowest_decoding_latency",
                                perf_json_serving(r, lat->system, lat_p));
        if (!tco && !lat)
            json_object_set_new(entry, "no_feasible_point", json_true());
        json_array_append_new(best, entry);
    }
    json_object_set_new(root, "best", best);
    json_t *pareto = json_array();
    size_t per_server = r->in.n_models * r->in.n_sysconfs;
    for (size_t i = 0; i < r->n_pts && i < 1000; i++) {
        const xpoint *p = &r->pts[i];
        json_array_append_new(
            pareto, json_pack("{s:f,s:f,s:f,s:f,s:f,s:I,s:f,s:f,s:f,s:b,s:b}", "tokens_per_sec",
                              p->throughput, "tco_per_Mtoken", p->tco_per_mtoken,
                              "sec_per_token", p->latency, "joules_per_token",
                              p->energy_per_token, "batch", p->batch, "server",
                              (json_int_t)(p->system / per_server), "t", p->mapping.t, "p",
                              p->mapping.p, "micro_batch", p->mapping.micro_batch, "tco_front",
                              (p->on_front & 1) != 0, "latency_front", (p->on_front & 2) != 0));
    }
    json_object_set_new(root, "pareto", pareto);
    json_t *outputs = json_pack("{s:s,s:s}", "hw_csv", s->hw_csv, "model_csv", s->model_csv);
    json_object_set_new(root, "outputs", outputs);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n';
    acc_status status = acc_write_file_atomic(path, text, len + 1, err);
    free(text);
    return status;
}
