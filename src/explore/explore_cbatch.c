/*
 * explore_cbatch.c — continuous-batching steady state (vLLM / Sarathi-Serve
 * style): B sequences decode one token per step while the step also takes a
 * chunk of prompt tokens, sized so that prompts enter as fast as requests
 * finish.  From the step time come tokens/s, time per output token, time to
 * first token (an M/G/1 queue of prompts in front of the chunk budget) and
 * TCO per token.  Assumptions are listed in docs/EXPLORE.md.
 */
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int infeasible(char *why, size_t cap, const char *fmt, double a, double b)
{
    if (why && cap)
        snprintf(why, cap, fmt, a, b);
    return -1;
}

double xcbatch_max_concurrency(const xsystem *sys, const xmapping *mp)
{
    const xsysconf *c = sys->conf;
    const xllm *m = sys->model;
    const xpkg *pkg = sys->srv->pkg;
    double mem = mp->t * mp->p / pkg->num_chips * pkg->total_mem;
    double by_mem = (mem - m->model_size_byte) / (c->kv_ctx * m->kv_per_token_byte);
    /* prompts must enter no faster than the chunk budget takes them */
    double by_chunk = c->cb.chunk_tokens * c->len_out.mean / c->len_in.mean;
    return fmin(fmin(by_mem, by_chunk), c->max_batch);
}

int xcbatch_eval(const xsystem *sys, const xmapping *mp, double B, xperf *out, char *why,
                 size_t why_cap)
{
    const xsysconf *c = sys->conf;
    double EL = c->len_in.mean, EL2 = c->len_in.mean_sq;
    double EG = c->len_out.mean, EG2 = c->len_out.mean_sq;
    double C = c->cb.chunk_tokens;
    const xllm *m = sys->model;
    const xpkg *pkg = sys->srv->pkg;
    double mem = mp->t * mp->p / pkg->num_chips * pkg->total_mem;
    double kv = m->model_size_byte + B * c->kv_ctx * m->kv_per_token_byte;
    if (kv > mem)
        return infeasible(why, why_cap,
                          "KV cache of %.0f sequences at the percentile context does not fit "
                          "(%.3g bytes needed)",
                          B, kv);
    /* flow balance: B / E[G] requests finish per step and as many prompts
     * enter, E[L] tokens each; the chunk budget takes C prompt tokens per
     * step, so a fraction rho of the steps carries a full chunk */
    double per_step = B / EG;
    double pf_tokens = per_step * EL;
    double rho = pf_tokens / C;
    if (!(rho < 1))
        return infeasible(why, why_cap,
                          "%.4g prompt tokens per step exceed the chunk budget of %.0f", pf_tokens,
                          C);
    /* a decoding sequence, sampled over time, is length-biased by G: mean
     * context E[L] + E[G(G+1)/2] / E[G]; a prompt token attends on average
     * to E[L(L+1)/2] / E[L] positions (causal) */
    xstep st = {.dec_seqs = B,
                .dec_ctx = EL + (EG2 + EG) / (2 * EG),
                .pf_tokens = C,
                .pf_ctx = (EL2 + EL) / (2 * EL),
                .logits = B + C / EL};
    xstep_result full, dec;
    xstep_eval(sys, mp, &st, &full);
    st.pf_tokens = 0;
    st.logits = B;
    xstep_eval(sys, mp, &st, &dec);
    double T = rho * full.time + (1 - rho) * dec.time; /* mean step: time per output token */
    double lambda = per_step / T;                       /* requests per second */
    /* prompts queue for the chunk budget (M/G/1): service (L / C) full
     * steps, busy fraction rho_t, waiting lambda E[S^2] / (2 (1 - rho_t));
     * a prompt's first token comes with the step that ends it */
    double rho_t = lambda * EL / C * full.time;
    double wait = lambda * EL2 / (C * C) * full.time * full.time / (2 * (1 - rho_t));
    double steps = 0;
    for (size_t i = 0; i < c->len_in.n; i++)
        steps += c->len_in.w[i] * fmax(1, ceil(c->len_in.len[i] / C));
    double energy = rho * full.core_energy + (1 - rho) * dec.core_energy; /* per step */
    double util = (rho * full.utilization * full.time + (1 - rho) * dec.utilization * dec.time) / T;

    memset(out, 0, sizeof *out);
    out->mapping = *mp;
    out->mapping.micro_batch = B / mp->p;
    out->mapping.prefill_micro_batch = C / mp->p;
    out->batch = out->concurrency = B;
    out->prefill_chunk = pf_tokens;
    out->prefill_len = EL;
    out->generate_len = EG;
    out->ttft = wait + steps * full.time;
    out->tpot = T;
    out->requests_per_sec = lambda;
    out->prefill_latency = out->ttft;
    out->generate_latency = EG * T;
    out->prefill_throughput = pf_tokens / T;
    out->generate_throughput = B / T;
    out->prefill_utilization = out->generate_utilization = util;
    double power = energy / T + sys->other_tdp;
    out->prefill_power = out->generate_power = power;
    out->generate_energy = energy / per_step; /* core joules per request */
    xtco tco;
    double tco_per_sec = xsystem_tco_per_second(sys, power / sys->num_servers, util, &tco);
    out->generate_tco_per_token = tco_per_sec * T / B;
    out->prefill_tco_per_token = tco_per_sec * T / pf_tokens;
    out->capex = tco.fix_part * sys->num_servers;
    out->opex = tco.power_part * sys->num_servers;
    out->srv_tco_total = tco.total;
    out->energy_per_token = power * T / B;
    double parts[3] = {rho * full.io + (1 - rho) * dec.io,
                       rho * full.compute + (1 - rho) * dec.compute,
                       rho * full.mem + (1 - rho) * dec.mem};
    out->generate_io = parts[0] * EG;
    out->generate_compute = parts[1] * EG;
    out->generate_mem = parts[2] * EG;
    return 0;
}

int xcbatch_solve_rate(const xsystem *sys, const xmapping *mp, double rate, xperf *out, char *why,
                       size_t why_cap)
{
    double hi = xcbatch_max_concurrency(sys, mp);
    if (!(hi > 0))
        return infeasible(why, why_cap, "no room for any sequence (bound %g of %g)", hi,
                          sys->conf->max_batch);
    /* the budget bound is strict (rho < 1) */
    hi *= 1 - 1e-9;
    xperf top;
    if (xcbatch_eval(sys, mp, hi, &top, why, why_cap))
        return -1;
    if (top.requests_per_sec < rate)
        return infeasible(why, why_cap,
                          "%.4g requests/s is above this mapping's capacity of %.4g requests/s",
                          rate, top.requests_per_sec);
    /* requests/s grows with the concurrency (the step time grows slower
     * than B): bisect for the concurrency that serves the rate */
    double lo = 0;
    for (int i = 0; i < 100 && hi - lo > 1e-9 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        xperf p;
        if (xcbatch_eval(sys, mp, mid, &p, NULL, 0) == 0 && p.requests_per_sec >= rate)
            hi = mid;
        else
            lo = mid;
    }
    return xcbatch_eval(sys, mp, hi, out, why, why_cap);
}
