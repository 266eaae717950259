/*
 * explore_perf.c — latency, energy and TCO of one (system, mapping, batch)
 * point.  A transformer layer is six matrix products (QKV, Q*K^T, S*V,
 * attention output, FC1 (+gate), FC2), each timed by a roofline (or a
 * weight-stationary systolic array), plus the all-reduces of Megatron-style
 * tensor parallelism and the stage-to-stage transfer of pipeline
 * parallelism; micro-batches overlap as in DeepSpeed Inference.  The
 * defects of reallm v1 are fixed per ACC_EXPLORE_FIX_* (docs/EXPLORE.md).
 */
#include "explore/explore_model.h"

#include <math.h>

/* MM_QK2 / MM_SV2: the prefill chunk's attention in a continuous-batching
 * step (zero otherwise; last, so that sums over the others do not move) */
enum { MM_QKV, MM_QK, MM_SV, MM_OUT, MM_FC1, MM_FC2, MM_QK2, MM_SV2, MM_COUNT };

typedef struct mm_time {
    double comp, ldst, time;
} mm_time;

typedef struct mb_latency {
    mm_time mm[MM_COUNT];
    double stage2stage, comm1, comm2, fc_comm;
    double pipeline_stage, total, compute, communication;
} mb_latency;

double xallreduce_time(double num_nodes, double num_bytes, const xio *const *links,
                       size_t nlinks, double io_efficiency, xallreduce algo)
{
    if (num_nodes == 1 || nlinks == 0)
        return 0;
    const xio *slowest = links[0];
    for (size_t i = 1; i < nlinks; i++)
        if (links[i]->bandwidth < slowest->bandwidth)
            slowest = links[i];
    double alpha = slowest->init_time;
    double beta = 1 / (slowest->bandwidth * io_efficiency);
    double p = num_nodes, n = num_bytes;
    double local_bc = 16 * alpha + beta * n + 2 * sqrt(alpha * beta * n);
    switch (algo) {
    case XAR_DIRECT:
        /* every node reaches every other through the switch: one hop for the
         * reduce-scatter, one for the all-gather, each moving (p-1)/p of n */
        return 2 * (alpha + beta * n * (p - 1) / p);
    case XAR_RING:
        return 2 * (p - 1) * (alpha + beta * n / p);
    case XAR_2D_RING: {
        double s = ceil(sqrt(p));
        return 2 * (s - 1) * (2 * alpha + beta * n / s);
    }
    case XAR_3D_RING: {
        double s = ceil(pow(p, 1.0 / 3));
        return 2 * (s - 1) * (3 * alpha + beta * n / s);
    }
    case XAR_LOCAL_4D_16:
    case XAR_LOCAL_2D_16:
    case XAR_LOCAL_RING_16:
    case XAR_LOCAL_RING_8: {
        double group = algo == XAR_LOCAL_RING_8 ? 8 : 16;
        double local = algo == XAR_LOCAL_4D_16     ? 8 * alpha + beta * n
                       : algo == XAR_LOCAL_2D_16   ? 6 * (2 * alpha + beta * n / 4)
                       : algo == XAR_LOCAL_RING_16 ? 30 * alpha + 1.875 * beta * n
                                                   : 14 * alpha + 1.75 * beta * n;
        if (p == group)
            return local;
        double s = ceil(pow(ceil(p / group), 1.0 / 3));
        return local + 2 * (s - 1) * (3 * alpha + beta * n / s) + local_bc;
    }
    }
    return 0;
}

double xroofline_time(double comp, double mem, double s)
{
    if (!(s > 0))
        return fmax(comp, mem);
    if (s >= 1)
        return comp + mem;
    /* scaled by the larger term so that a large 1/s cannot overflow */
    double top = fmax(comp, mem);
    if (top <= 0)
        return 0;
    return top * pow(pow(comp / top, 1 / s) + pow(mem / top, 1 / s), s);
}

/* An all-reduce plus its fixed launch and synchronisation cost. */
static double collective(double num_nodes, double num_bytes, const xio *const *links, size_t nlinks,
                         const xsysconf *conf)
{
    double time = xallreduce_time(num_nodes, num_bytes, links, nlinks,
                                  conf->io_bandwidth_efficiency, conf->allreduce_algo);
    if (num_nodes > 1 && nlinks > 0 && conf->collective_overhead_sec > 0)
        time += conf->collective_overhead_sec;
    return time;
}

/* [stacks] x (I x J) * (J x K): ops and the bytes of the right operand,
 * which is what has to come from memory (weights, or K/V). */
static mm_time matmul(const xchip *chip, double cpe, double stacks, double I, double J, double K,
                      double bw, double bytes, double ops_scale, double load_scale)
{
    mm_time r;
    if (chip->dataflow == XDF_WS) {
        double spc, k_per_core;
        if (stacks > chip->num_sa) {
            spc = ceil(stacks / chip->num_sa);
            k_per_core = K;
        } else {
            spc = 1;
            k_per_core = ceil(K / floor(chip->num_sa / stacks));
        }
        double i_hat = ceil(I / chip->acc_depth / 2);
        double j_hat = ceil(J / chip->sa_width);
        double k_hat = ceil(k_per_core / chip->sa_width);
        double i_bar = ceil(I / i_hat), j_bar = ceil(J / j_hat), k_bar = ceil(k_per_core / k_hat);
        r.ldst = (j_bar * k_bar) / (bw / chip->num_sa) * load_scale;
        r.comp = ceil(fmax(2 * chip->sa_width + i_bar, 2 * i_bar) / 2) / chip->freq * ops_scale;
        double block = fmax(r.ldst, r.comp);
        r.time = spc * (r.ldst + r.comp + (i_hat * j_hat * k_hat - 1) * block);
        return r;
    }
    /* roofline (LLMCompass-dataflow chips use it too: no simulator here) */
    double ops = stacks * I * J * K * 2 * ops_scale;
    r.comp = ops / (chip->perf * cpe);
    r.ldst = stacks * (J * K) * bytes / bw * load_scale;
    r.time = fmax(r.comp, r.ldst);
    return r;
}

/* Token rows of one micro-batch through one forward pass: `rows` rows
 * through the weight products; attention product pair 1 over att_stacks
 * sequences of att_rows query rows each against att_ctx keys (att_scale:
 * the causal share); pair 2 (a prefill chunk in a continuous-batching step;
 * 0 stacks = none) likewise; `seqs` rows of logits. */
typedef struct xrows {
    double rows;
    double att_stacks, att_rows, att_ctx, att_scale;
    double att2_stacks, att2_rows, att2_ctx;
    double seqs;
} xrows;

static void micro_batch_latency(const xsystem *sys, const xmapping *mp, const xrows *shape,
                                mb_latency *lat)
{
    const xllm *m = sys->model;
    const xserver *srv = sys->srv;
    const xpkg *pkg = srv->pkg;
    const xchip *chip = pkg->chip;
    const xsysconf *conf = sys->conf;
    unsigned fixes = sys->fixes;
    double d = m->d, heads = m->num_heads, t = mp->t;
    double data_bytes = m->bytes_per_number;
    double rows = shape->rows;
    double act_size = rows * d;
    double io_eff = conf->io_bandwidth_efficiency, cpe = conf->compute_perf_efficiency;

    const xio *links[2];
    size_t nlinks;
    double s2s_bw;
    double t_srv = sys->num_servers / mp->p;
    if (t_srv > 1) {
        links[0] = &srv->io;
        links[1] = &pkg->io;
        nlinks = 2;
        s2s_bw = srv->io.bandwidth;
    } else if (t_srv == 1) {
        links[0] = &pkg->io;
        nlinks = 1;
        s2s_bw = srv->io.bandwidth;
    } else {
        links[0] = &pkg->io;
        nlinks = 1;
        s2s_bw = pkg->io.bandwidth;
    }
    lat->stage2stage = act_size * data_bytes / (s2s_bw * io_eff) + srv->io.init_time;

    double w_bytes = (fixes & ACC_EXPLORE_FIX_BYTES) ? m->weight_bytes : 2;
    double kv_bytes = (fixes & ACC_EXPLORE_FIX_BYTES) ? m->kv_bytes : 2;
    double gqa = (fixes & ACC_EXPLORE_FIX_GQA) ? m->heads_per_kv_cache : 1;
    double d_atten = m->d_head * heads;
    double d_atten_t = ceil(d_atten / t);
    double wbw = sys->weight_bw_per_chip, kvbw = sys->kv_bw_per_chip;
    double ctx = shape->att_ctx;
    double causal = shape->att_scale;
    double stacks = shape->att_stacks, q_rows = shape->att_rows;

    double qkv_width = (fixes & ACC_EXPLORE_FIX_GQA) ? d_atten + 2 * d_atten / gqa : 3 * d_atten;
    lat->mm[MM_QKV] = matmul(chip, cpe, 1, rows, d, ceil(qkv_width / t), wbw, w_bytes, 1, 1);
    /* decode (one query row per sequence) by an engine that reads K/V per
     * query head: the reads are not shared within a GQA group */
    double kv_load = (q_rows <= 1 && m->kv_reads_per_query_head) ? 1 : 1 / gqa;
    lat->mm[MM_QK] = matmul(chip, cpe, stacks, q_rows, d_atten_t, ctx, kvbw, kv_bytes, causal,
                            kv_load);
    lat->comm1 = 0;
    if (t > heads) {
        /* a head split over several chips needs its scores reduced */
        double chips_per_head = floor(t / heads);
        lat->comm1 = collective(chips_per_head, ctx * data_bytes, links, nlinks, conf);
    }
    lat->mm[MM_SV] = matmul(chip, cpe, stacks, q_rows, ctx, d_atten_t, kvbw, kv_bytes, causal,
                            kv_load);
    lat->mm[MM_QK2] = lat->mm[MM_SV2] = (mm_time){0, 0, 0};
    if (shape->att2_stacks > 0) {
        /* a prefill chunk: its query rows against the prefix they see, which
         * is read once per chunk */
        lat->mm[MM_QK2] = matmul(chip, cpe, shape->att2_stacks, shape->att2_rows, d_atten_t,
                                 shape->att2_ctx, kvbw, kv_bytes, 1, 1 / gqa);
        lat->mm[MM_SV2] = matmul(chip, cpe, shape->att2_stacks, shape->att2_rows,
                                 shape->att2_ctx, d_atten_t, kvbw, kv_bytes, 1, 1 / gqa);
    }
    lat->mm[MM_OUT] = matmul(chip, cpe, 1, rows, d_atten_t, d, wbw, w_bytes, 1, 1);

    double all_reduce = collective(t, rows * d * data_bytes, links, nlinks, conf);
    if (!(fixes & ACC_EXPLORE_FIX_D_HACK) && (d == 18432 || d == 8192)) {
        /* reallm special-cases PaLM and Llama by their model width */
        double all_to_all =
            xallreduce_time(t, d * data_bytes, links, nlinks, io_eff, conf->allreduce_algo) / 2;
        lat->comm2 = d == 18432 ? 2 * all_to_all : all_reduce + 2 * all_to_all;
    } else {
        lat->comm2 = all_reduce;
    }

    double dff_t = ceil(m->d_ff / t);
    double ffn_stacks = m->glu ? 2 : 1;
    double ffn_ops = 1, ffn_load = 1;
    if (m->num_experts > 0) {
        /* each token runs k experts; a step loads every expert some token picked */
        double e = m->num_experts, k = m->experts_per_token;
        double touched = e * (1 - pow(1 - k / e, rows));
        ffn_ops = k;
        ffn_load = touched;
    }
    lat->mm[MM_FC1] = matmul(chip, cpe, ffn_stacks, rows, d, dff_t, wbw, w_bytes, ffn_ops, ffn_load);
    lat->mm[MM_FC2] = matmul(chip, cpe, 1, rows, dff_t, d, wbw, w_bytes, ffn_ops, ffn_load);
    lat->fc_comm = collective(t, act_size * data_bytes, links, nlinks, conf);

    double k = conf->roofline_softness; /* roofline softness */
    if (chip->dataflow != XDF_WS && k > 0)
        for (int i = 0; i < MM_COUNT; i++)
            lat->mm[i].time = xroofline_time(lat->mm[i].comp, lat->mm[i].ldst, k);
    double layer_compute = 0;
    for (int i = 0; i < MM_COUNT; i++)
        layer_compute += lat->mm[i].time;
    if (conf->layer_overhead_sec > 0)
        layer_compute += conf->layer_overhead_sec;
    double layer_comm = lat->comm1 + lat->comm2 + lat->fc_comm;
    double layers_per_stage = ceil(m->num_layers / mp->p);

    /* embedding lookup (first stage) and LM head (last stage) of the
     * positions whose logits are needed: the last one of each sequence */
    double head = 0;
    if (m->vocab_size > 0) {
        double seqs = shape->seqs;
        mm_time lm = matmul(chip, cpe, 1, seqs, d, ceil(m->vocab_size / t), wbw, w_bytes, 1, 1);
        if (chip->dataflow != XDF_WS && k > 0)
            lm.time = xroofline_time(lm.comp, lm.ldst, k);
        head = lm.time + rows * d * w_bytes / wbw;
    }
    double stage = (layer_compute + layer_comm) * layers_per_stage + lat->stage2stage;
    lat->pipeline_stage = stage + head;
    lat->total = stage * mp->p + head;
    lat->compute = layer_compute * layers_per_stage * mp->p + head;
    lat->communication = lat->total - lat->compute;
}

/* Splits a stage latency into interconnect, compute-bound and memory-bound
 * time in the proportions of one micro-batch (reallm's breakdown). */
static void breakdown(const mb_latency *lat, double latency, double *io, double *compute,
                      double *mem)
{
    double io_ratio = lat->communication / lat->total;
    double layer_compute = 0, layer_mem = 0;
    for (int i = 0; i < MM_COUNT; i++) {
        if (lat->mm[i].ldst > lat->mm[i].comp)
            layer_mem += lat->mm[i].ldst;
        else
            layer_compute += lat->mm[i].comp;
    }
    double sum = layer_compute + layer_mem;
    *io = io_ratio * latency;
    *compute = sum > 0 ? (1 - io_ratio) * layer_compute / sum * latency : 0;
    *mem = sum > 0 ? (1 - io_ratio) * layer_mem / sum * latency : 0;
}

/* Core energy (J) of a whole stage: MACs, memory reads and all-reduce
 * traffic, read once each (a lower bound, as in reallm). */
static double core_energy(const xsystem *sys, const xmapping *mp, int prefill, double batch,
                          double L, double G)
{
    const xllm *m = sys->model;
    const xpkg *pkg = sys->srv->pkg;
    const xconst_energy *e = &sys->srv->constants->energy;
    unsigned fixes = sys->fixes;
    double d = m->d, layers = m->num_layers, bytes = m->bytes_per_number;
    double w_pj, kv_pj;
    if (pkg->num_hbm_stacks > 0)
        w_pj = kv_pj = pkg->hbm.pj_per_byte;
    else if (pkg->chip->mem_3d_vaults > 0)
        w_pj = kv_pj = pkg->mem_3d.pj_per_byte;
    else
        w_pj = kv_pj = e->sram_wgt;
    double mb = prefill ? mp->prefill_micro_batch : mp->micro_batch;
    double rows = prefill ? L * mb : mb;
    double ctx = prefill ? L : L + G / 2;

    double weights = layers * 12 * d * d;
    double head = m->embed_size > 0 ? m->vocab_size * d : 0; /* the LM head's matrix */
    double d_kv = d, d_qk = d;
    double w_bytes = bytes, kv_bytes = bytes;
    if (fixes & ACC_EXPLORE_FIX_GLU) {
        double ffn = m->ffn_size + m->glu_size;
        if (m->num_experts > 0) /* only the experts some token picked are read */
            ffn *= 1 - pow(1 - m->experts_per_token / m->num_experts, rows);
        weights = layers * (m->atten_size + ffn);
    }
    weights += head;
    if (fixes & ACC_EXPLORE_FIX_GQA) {
        d_qk = m->num_heads * m->d_head;
        d_kv = d_qk / m->heads_per_kv_cache;
    }
    if (fixes & ACC_EXPLORE_FIX_BYTES) {
        w_bytes = m->weight_bytes;
        kv_bytes = m->kv_bytes;
    }
    double causal = (prefill && (fixes & ACC_EXPLORE_FIX_CAUSAL)) ? (L + 1) / (2 * L) : 1;
    double acts = layers * 9 * d * rows;
    double kv_read = layers * 2 * (!prefill && m->kv_reads_per_query_head ? d_qk : d_kv) * ctx;
    double gemm_fma = weights * rows * e->fma_fp16;
    double matmul_fma = layers * 2 * d_qk * ctx * rows * e->fma_fp16 * causal;
    double allreduce_values = layers * 2 * d * rows * mp->t;
    double mem = weights * w_bytes * w_pj + acts * bytes * e->sram_act + kv_read * kv_bytes * kv_pj;
    const xchip *chip = pkg->chip;
    double link_pj = chip->chip2chip_io.present ? chip->chip2chip_io.pj_per_byte
                                                : chip->pkg2pkg_io.pj_per_byte;
    double comm = allreduce_values * bytes * link_pj;
    double iters = prefill ? batch / mp->prefill_micro_batch : batch / mp->micro_batch * G;
    return (gemm_fma + matmul_fma + mem + comm) * iters / 1e12;
}

/* Core energy (J) of one forward pass of a micro-batch of any shape: the
 * weights read once, activations, every sequence's KV read, MACs and
 * all-reduce traffic (continuous-batching steps; the static phases keep
 * reallm's core_energy above). */
static double rows_energy(const xsystem *sys, const xmapping *mp, const xrows *r)
{
    const xllm *m = sys->model;
    const xpkg *pkg = sys->srv->pkg;
    const xconst_energy *e = &sys->srv->constants->energy;
    unsigned fixes = sys->fixes;
    double d = m->d, layers = m->num_layers, bytes = m->bytes_per_number;
    double pj = pkg->num_hbm_stacks > 0        ? pkg->hbm.pj_per_byte
                : pkg->chip->mem_3d_vaults > 0 ? pkg->mem_3d.pj_per_byte
                                               : e->sram_wgt;
    double ffn = m->ffn_size + ((fixes & ACC_EXPLORE_FIX_GLU) ? m->glu_size : 0);
    if (m->num_experts > 0)
        ffn *= 1 - pow(1 - m->experts_per_token / m->num_experts, r->rows);
    double weights = layers * (m->atten_size + ffn) + (m->embed_size > 0 ? m->vocab_size * d : 0);
    double gqa = (fixes & ACC_EXPLORE_FIX_GQA) ? m->heads_per_kv_cache : 1;
    double d_qk = m->num_heads * m->d_head, d_kv = d_qk / gqa;
    double w_bytes = (fixes & ACC_EXPLORE_FIX_BYTES) ? m->weight_bytes : bytes;
    double kv_bytes = (fixes & ACC_EXPLORE_FIX_BYTES) ? m->kv_bytes : bytes;
    double d_kv1 = (r->att_rows <= 1 && m->kv_reads_per_query_head) ? d_qk : d_kv;
    double kv_read =
        layers * 2 * (d_kv1 * r->att_stacks * r->att_ctx + d_kv * r->att2_stacks * r->att2_ctx);
    double scores = r->att_stacks * r->att_rows * r->att_ctx * r->att_scale +
                    r->att2_stacks * r->att2_rows * r->att2_ctx;
    double fma = (weights * r->rows + layers * 2 * d_qk * scores) * e->fma_fp16;
    double mem = weights * w_bytes * pj + layers * 9 * d * r->rows * bytes * e->sram_act +
                 kv_read * kv_bytes * pj;
    const xchip *chip = pkg->chip;
    double link_pj = chip->chip2chip_io.present ? chip->chip2chip_io.pj_per_byte
                                                : chip->pkg2pkg_io.pj_per_byte;
    double comm = layers * 2 * d * r->rows * mp->t * bytes * link_pj;
    return (fma + mem + comm) / 1e12;
}

/* TCO per second of the whole system at a server power (energy model) or
 * utilization (TDP model). */
static double tco_per_second(const xsystem *sys, double srv_power, double utilization, xtco *tco)
{
    const xserver *srv = sys->srv;
    double life = srv->constants->srv.SrvLife;
    xtco_eval(&srv->constants->tco, sys->conf->energy_model ? srv_power : srv->tdp * utilization,
              srv->cost, life, tco);
    double life_seconds = life * 365 * 24 * 3600;
    return tco->total * sys->num_servers / life_seconds;
}

void xperf_eval(const xsystem *sys, const xmapping *mp, double batch, double L, double G,
                xperf *out)
{
    const xllm *m = sys->model;
    unsigned fixes = sys->fixes;
    mb_latency pre, gen;
    out->mapping = *mp;
    out->batch = batch;
    out->prefill_len = L;
    out->generate_len = G;

    double causal = (fixes & ACC_EXPLORE_FIX_CAUSAL) ? (L + 1) / (2 * L) : 1;
    xrows pre_rows = {.rows = L * mp->prefill_micro_batch,
                      .att_stacks = mp->prefill_micro_batch,
                      .att_rows = L,
                      .att_ctx = L,
                      .att_scale = causal,
                      .seqs = mp->prefill_micro_batch};
    micro_batch_latency(sys, mp, &pre_rows, &pre);
    /* fixed per-request and per-step costs (launches, scheduling) are
     * calibration inputs beyond reallm; zero by default */
    out->prefill_latency = pre.total + (batch / mp->prefill_micro_batch - 1) * pre.pipeline_stage +
                           sys->conf->prefill_overhead_sec;
    out->prefill_throughput = batch * L / out->prefill_latency;
    out->prefill_utilization =
        xllm_prefill_flops(m, L, fixes) * batch / (sys->perf * out->prefill_latency);
    out->prefill_energy = core_energy(sys, mp, 1, batch, L, G);
    out->prefill_power = out->prefill_energy / out->prefill_latency + sys->other_tdp;

    xrows gen_rows = {.rows = mp->micro_batch,
                      .att_stacks = mp->micro_batch,
                      .att_rows = 1,
                      .att_ctx = L + G / 2,
                      .att_scale = 1,
                      .seqs = mp->micro_batch};
    micro_batch_latency(sys, mp, &gen_rows, &gen);
    /* the next token of a micro-batch waits for its previous token and for
     * the first stage to be free again */
    double token = fmax(gen.total, gen.pipeline_stage * (batch / mp->micro_batch)) +
                   sys->conf->decode_overhead_sec;
    out->generate_latency = gen.total + sys->conf->decode_overhead_sec + (G - 1) * token;
    out->generate_throughput = batch / token;
    out->generate_utilization =
        out->generate_throughput * xllm_generate_flops(m, L + G / 2, fixes) / sys->perf;
    out->generate_energy = core_energy(sys, mp, 0, batch, L, G);
    out->generate_power = out->generate_energy / out->generate_latency + sys->other_tdp;

    double both = out->prefill_latency + out->generate_latency;
    double prefill_ratio = out->prefill_latency / both;
    double generate_ratio = out->generate_latency / both;
    double utilization =
        out->generate_utilization * generate_ratio + out->prefill_utilization * prefill_ratio;
    double srv_power = (out->generate_power * generate_ratio + out->prefill_power * prefill_ratio) /
                       sys->num_servers;
    xtco tco;
    double tco_per_sec = tco_per_second(sys, srv_power, utilization, &tco);
    double per_inference = tco_per_sec * both / batch;
    if (fixes & ACC_EXPLORE_FIX_TCO_BATCH) {
        out->prefill_tco_per_token = per_inference / L;
        out->generate_tco_per_token = per_inference / G;
    } else {
        /* reallm v1 divides by the batch a second time */
        out->prefill_tco_per_token = per_inference / (batch * L);
        out->generate_tco_per_token = per_inference / (batch * G);
    }
    out->capex = tco.fix_part * sys->num_servers;
    out->opex = tco.power_part * sys->num_servers;
    out->srv_tco_total = tco.total;
    out->energy_per_token =
        (out->prefill_power * out->prefill_latency + out->generate_power * out->generate_latency) /
        (batch * G);
    breakdown(&pre, out->prefill_latency, &out->prefill_io, &out->prefill_compute,
              &out->prefill_mem);
    breakdown(&gen, out->generate_latency, &out->generate_io, &out->generate_compute,
              &out->generate_mem);
    out->ttft = out->prefill_latency;
    out->tpot = token;
    out->requests_per_sec = batch / both;
    out->concurrency = batch;
    out->prefill_chunk = 0;
}

void xperf_eval_mix(const xsystem *sys, const xmapping *mp, double batch, const xlendist *in,
                    const xlendist *out_len, xperf *out)
{
    /* every static batch holds requests of one (input, output) point; sums
     * of time, energy and tokens over the points weighted by probability
     * give the long-run ratios (tokens/s = E[tokens] / E[time]) */
    double W = 0, PL = 0, GL = 0, PE = 0, GE = 0, PJ = 0, GJ = 0, Ltok = 0, Gtok = 0;
    double Gstep = 0, PU = 0, GU = 0, Gm = 0, bd[6] = {0};
    for (size_t i = 0; i < in->n; i++) {
        for (size_t j = 0; j < out_len->n; j++) {
            double w = in->w[i] * out_len->w[j];
            xperf p;
            xperf_eval(sys, mp, batch, in->len[i], out_len->len[j], &p);
            W += w;
            Gm += w * out_len->len[j];
            PL += w * p.prefill_latency;
            GL += w * p.generate_latency;
            PE += w * p.prefill_energy;
            GE += w * p.generate_energy;
            PJ += w * p.prefill_power * p.prefill_latency;
            GJ += w * p.generate_power * p.generate_latency;
            Ltok += w * batch * in->len[i];
            Gtok += w * batch * out_len->len[j];
            Gstep += w * out_len->len[j] * p.tpot;
            PU += w * p.prefill_utilization * p.prefill_latency;
            GU += w * p.generate_utilization * p.generate_latency;
            double parts[6] = {p.prefill_io,  p.prefill_compute,  p.prefill_mem,
                               p.generate_io, p.generate_compute, p.generate_mem};
            for (int k = 0; k < 6; k++)
                bd[k] += w * parts[k];
        }
    }
    out->mapping = *mp;
    out->batch = batch;
    out->prefill_len = in->mean; /* exact; the points keep it up to rounding */
    out->generate_len = out_len->mean;
    out->prefill_latency = PL / W;
    out->generate_latency = GL / W;
    out->prefill_throughput = Ltok / PL;
    out->generate_throughput = Gtok / Gstep;
    out->prefill_utilization = PU / PL;
    out->generate_utilization = GU / GL;
    out->prefill_energy = PE / W;
    out->generate_energy = GE / W;
    out->prefill_power = PJ / PL;
    out->generate_power = GJ / GL;
    double both = (PL + GL) / W;
    xtco tco;
    double tco_per_sec =
        tco_per_second(sys, (PJ + GJ) / (PL + GL) / sys->num_servers, (PU + GU) / (PL + GL), &tco);
    double per_inference = tco_per_sec * both / batch;
    double scale = (sys->fixes & ACC_EXPLORE_FIX_TCO_BATCH) ? 1 : batch;
    out->prefill_tco_per_token = per_inference / (scale * out->prefill_len);
    out->generate_tco_per_token = per_inference / (scale * out->generate_len);
    out->capex = tco.fix_part * sys->num_servers;
    out->opex = tco.power_part * sys->num_servers;
    out->srv_tco_total = tco.total;
    out->energy_per_token = (PJ + GJ) / Gtok;
    double *dst[6] = {&out->prefill_io,  &out->prefill_compute,  &out->prefill_mem,
                      &out->generate_io, &out->generate_compute, &out->generate_mem};
    for (int k = 0; k < 6; k++)
        *dst[k] = bd[k] / W;
    out->ttft = out->prefill_latency;
    out->tpot = Gstep / Gm;
    out->requests_per_sec = batch / both;
    out->concurrency = batch;
    out->prefill_chunk = 0;
}

void xstep_eval(const xsystem *sys, const xmapping *mp, const xstep *st, xstep_result *res)
{
    /* the step's sequences and prompt tokens spread over m micro-batches
     * (one per pipeline stage, so that every stage is busy) */
    double m = mp->p;
    xrows r = {.rows = (st->dec_seqs + st->pf_tokens) / m,
               .att_stacks = st->dec_seqs / m,
               .att_rows = 1,
               .att_ctx = st->dec_ctx,
               .att_scale = 1,
               .att2_stacks = st->pf_tokens > 0 ? 1 : 0,
               .att2_rows = st->pf_tokens / m,
               .att2_ctx = st->pf_ctx,
               .seqs = st->logits / m};
    mb_latency lat;
    micro_batch_latency(sys, mp, &r, &lat);
    res->time = fmax(lat.total, lat.pipeline_stage * m) + sys->conf->decode_overhead_sec;
    res->core_energy = rows_energy(sys, mp, &r) * m;
    breakdown(&lat, res->time, &res->io, &res->compute, &res->mem);
    /* each prompt token costs about one decode token at its mean context */
    double flops = st->dec_seqs * xllm_generate_flops(sys->model, st->dec_ctx, sys->fixes) +
                   st->pf_tokens * xllm_generate_flops(sys->model, st->pf_ctx, sys->fixes);
    res->utilization = flops / (sys->perf * res->time);
}

double xsystem_tco_per_second(const xsystem *sys, double srv_power, double utilization,
                              xtco *tco)
{
    return tco_per_second(sys, srv_power, utilization, tco);
}
