/*
 * explore_system.c — the LLM's sizes and FLOP counts, a system (servers x
 * model x system configuration): memory sizing, KV capacity, the bandwidth
 * a chip sees for weights and KV, and the candidate parallel mappings
 * (pipeline depths that change layers per stage, tensor width from the
 * servers left, power-of-two micro-batches) with the memory check.
 */
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

acc_status xllm_update(xllm *m, acc_error *err)
{
    if (isnan(m->d_head))
        m->d_head = floor(m->d / m->num_heads);
    if (isnan(m->d_ff))
        m->d_ff = m->d * 4;
    if (!(m->d_head >= 1))
        return acc_error_set(err, ACC_ERR_INPUT, "Model: d / num_heads is below 1; give d_head");
    m->glu = strstr(m->act, "glu") != NULL;
    double experts = m->num_experts > 0 ? m->num_experts : 1;
    m->q_size = m->num_heads * m->d * m->d_head;
    m->kv_size = m->num_heads * m->d * m->d_head / m->heads_per_kv_cache;
    m->o_size = m->num_heads * m->d * m->d_head;
    m->atten_size = m->q_size + 2 * m->kv_size + m->o_size;
    m->ffn_size = 2 * m->d * m->d_ff * experts;
    m->glu_size = m->glu ? m->d * m->d_ff * experts : 0;
    m->embed_size = m->vocab_size > 0 ? m->vocab_size * m->d * (m->tied_embeddings ? 1 : 2) : 0;
    m->model_size = m->num_layers * (m->atten_size + m->ffn_size + m->glu_size) + m->embed_size;
    m->weight_bytes = isnan(m->weight_bits) ? m->bytes_per_number : m->weight_bits / 8;
    m->kv_bytes = isnan(m->kv_bits) ? m->bytes_per_number : m->kv_bits / 8;
    m->model_size_byte = m->model_size * m->weight_bytes;
    m->kv_per_token = m->num_layers * 2 * m->num_heads * m->d_head / m->heads_per_kv_cache;
    m->kv_per_token_byte = m->kv_per_token * m->kv_bytes;
    return ACC_OK;
}

/* FFN weights a token actually multiplies (all of them unless MoE). */
static double active_ffn(const xllm *m, unsigned fixes)
{
    double ffn = m->ffn_size + ((fixes & ACC_EXPLORE_FIX_GLU) ? m->glu_size : 0);
    if (m->num_experts > 0)
        ffn = ffn / m->num_experts * m->experts_per_token;
    return ffn;
}

double xllm_prefill_flops(const xllm *m, double ctx, unsigned fixes)
{
    double fc = m->num_layers * (m->atten_size * ctx * 2 + active_ffn(m, fixes) * ctx * 2);
    double atten = m->num_layers * 2 * m->num_heads * m->d_head * ctx * ctx * 2;
    if (fixes & ACC_EXPLORE_FIX_CAUSAL)
        atten *= (ctx + 1) / (2 * ctx);
    /* the LM head runs on the last position only (the logits that are sampled) */
    return fc + atten + 2 * m->d * m->vocab_size;
}

double xllm_generate_flops(const xllm *m, double ctx, unsigned fixes)
{
    double fc = m->num_layers * (m->atten_size * 2 + active_ffn(m, fixes) * 2);
    return fc + m->num_layers * 2 * m->num_heads * m->d_head * ctx * 2 + 2 * m->d * m->vocab_size;
}

static void sys_invalid(xsystem *sys, const char *fmt, double a, double b)
{
    sys->valid = 0;
    snprintf(sys->invalid_reason, sizeof sys->invalid_reason, fmt, a, b);
}

void xsystem_update(xsystem *sys)
{
    const xserver *srv = sys->srv;
    const xllm *m = sys->model;
    const xsysconf *c = sys->conf;
    sys->valid = 0;
    sys->invalid_reason[0] = '\0';
    sys->num_servers = c->num_servers;
    sys->max_ctx_len_batch_1 = c->max_ctx_len_batch_1;
    int by_ratio = !isnan(c->kv_cache_ratio) && c->kv_cache_ratio != 0;
    int by_ctx = !isnan(c->max_ctx_len_batch_1) && c->max_ctx_len_batch_1 != 0;
    if (by_ratio || by_ctx) {
        double required = by_ratio ? m->model_size_byte / (1 - c->kv_cache_ratio)
                                   : m->model_size_byte +
                                         c->max_ctx_len_batch_1 * m->kv_per_token_byte;
        if (isnan(sys->num_servers) || sys->num_servers * srv->total_mem < required) {
            double n = ceil(required / srv->total_mem);
            if (!(n >= 1) || n > 1e7) {
                sys_invalid(sys, "needs %g servers for %g bytes", n, required);
                return;
            }
            /* layers must split evenly over servers, or servers over layers */
            if (m->num_layers > n) {
                while (fmod(m->num_layers, n) != 0)
                    n += 1;
            } else {
                while (fmod(n, m->num_layers) != 0)
                    n += 1;
            }
            sys->num_servers = n;
        }
        sys->total_mem = sys->num_servers * srv->total_mem;
    } else {
        if (isnan(sys->num_servers))
            sys->num_servers = ceil(c->max_tco / srv->tco.total);
        if (!(sys->num_servers >= 1)) {
            sys_invalid(sys, "max_tco %g buys no server (TCO %g each)", c->max_tco,
                        srv->tco.total);
            return;
        }
        sys->total_mem = sys->num_servers * srv->total_mem;
        if (sys->total_mem < m->model_size_byte) {
            sys_invalid(sys, "%.1f GB of memory cannot hold the %.1f GB model",
                        sys->total_mem / 1e9, m->model_size_byte / 1e9);
            return;
        }
    }
    sys->kv_cache_ratio = 1 - m->model_size_byte / sys->total_mem;
    if (isnan(sys->max_ctx_len_batch_1))
        sys->max_ctx_len_batch_1 =
            floor(sys->kv_cache_ratio * sys->total_mem / m->kv_per_token_byte);
    sys->max_tco = srv->tco.total * sys->num_servers;
    sys->num_packages = sys->num_servers * srv->num_packages;
    sys->num_chips = sys->num_servers * srv->num_chips;

    const xpkg *pkg = srv->pkg;
    const xchip *chip = pkg->chip;
    if (chip->mem_3d_vaults > 0) {
        if (pkg->mem_3d.is_sram) {
            double bw3d = pkg->mem_3d.bandwidth * chip->mem_3d_vaults;
            double cap3d = pkg->mem_3d.cap * chip->mem_3d_vaults;
            double total = chip->sram + cap3d;
            sys->weight_bw_per_chip = bw3d * cap3d / total + chip->sram_bw * chip->sram / total;
        } else {
            sys->weight_bw_per_chip = pkg->dram_bw_per_chip;
        }
    } else if (pkg->num_hbm_stacks > 0) {
        sys->weight_bw_per_chip = pkg->dram_bw_per_chip;
    } else {
        sys->weight_bw_per_chip = chip->sram_bw;
    }
    /* flash-decoding style KV reads reach their own share of the peak */
    double kv_eff = c->kv_bandwidth_efficiency > 0 ? c->kv_bandwidth_efficiency
                                                   : c->weight_bandwidth_efficiency;
    sys->kv_bw_per_chip = sys->weight_bw_per_chip * kv_eff;
    sys->weight_bw_per_chip *= c->weight_bandwidth_efficiency;
    if (!(sys->weight_bw_per_chip > 0)) {
        sys_invalid(sys, "chips have no memory bandwidth (%g, %g)", sys->weight_bw_per_chip, 0);
        return;
    }
    sys->perf = sys->num_servers * srv->perf;
    sys->tdp = sys->num_servers * srv->tdp;
    sys->core_tdp = sys->num_servers * srv->core_tdp;
    sys->other_tdp = sys->tdp - sys->core_tdp;
    sys->valid = 1;
}

size_t xsystem_mappings(const xsystem *sys, double batch, double min_ctx_len, xmapping *out,
                        size_t cap)
{
    const xllm *m = sys->model;
    const xserver *srv = sys->srv;
    size_t n = 0;
    double last_layers_per_stage = 0;
    double needed = m->model_size_byte + batch * min_ctx_len * m->kv_per_token_byte;
    for (double p = 1; p <= m->num_layers; p++) {
        double layers_per_stage = ceil(m->num_layers / p);
        if (layers_per_stage == last_layers_per_stage)
            continue;
        last_layers_per_stage = layers_per_stage;
        double t_pkg;
        if (sys->num_servers >= p) {
            /* whole servers per stage */
            t_pkg = floor(sys->num_servers / p) * srv->num_packages;
        } else {
            /* several stages per server */
            if (fmod(p, sys->num_servers) != 0)
                continue;
            t_pkg = floor(srv->num_packages / (p / sys->num_servers));
        }
        if (t_pkg * srv->pkg->total_mem * p < needed)
            continue;
        double t_chip = t_pkg * srv->pkg->num_chips;
        for (double mb = 1; mb <= batch; mb *= 2) {
            for (double pmb = 1; pmb <= mb; pmb *= 2) {
                if (n < cap)
                    out[n] = (xmapping){.t = t_chip, .p = p, .micro_batch = mb,
                                        .prefill_micro_batch = pmb};
                n++;
            }
        }
    }
    return n;
}
