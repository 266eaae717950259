/*
 * explore_predict.c — one calibrated hardware design and the prediction of
 * a measured point on it: the hardware file must describe a single design
 * (no sweeps); a point becomes a system of enough servers for its devices,
 * run with the point's tensor / pipeline mapping and no micro-batching, and
 * the metric is read off the performance model's prefill and decode times.
 */
#include "explore/explore_calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char DUMMY_MODEL[] = "Model: {name: 'none', num_layers: 1, d: 1, num_heads: 1}\n";

acc_status xhw_load(xhw *hw, const char *path, acc_error *err)
{
    memset(hw, 0, sizeof *hw);
    snprintf(hw->path, sizeof hw->path, "%s", path);
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(path, &text, &size, err);
    if (status)
        return status;
    xinput_text t_hw = {path, text, size};
    xinput_text t_model = {"<model>", DUMMY_MODEL, sizeof DUMMY_MODEL - 1};
    status = xinputs_load(&hw->in, &t_hw, &t_model, NULL, NULL, 0, err);
    free(text);
    if (status)
        return status;
    xinputs *in = &hw->in;
    if (in->n_chips != 1 || in->n_pkgs != 1 || in->n_srvs != 1)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "%s: calibration needs one hardware design, not a sweep (%zu chip, "
                             "%zu package, %zu server variants)",
                             path, in->n_chips, in->n_pkgs, in->n_srvs);
    hw->chip = in->chips[0];
    xchip_update(&hw->chip, &in->constants.chip);
    hw->pkg = in->pkgs[0];
    hw->pkg.chip = &hw->chip;
    if (hw->chip.valid)
        xpkg_update(&hw->pkg, &in->constants.pkg);
    hw->srv = in->srvs[0];
    hw->srv.pkg = &hw->pkg;
    if (hw->chip.valid && hw->pkg.valid)
        xserver_update(&hw->srv, &in->constants);
    const char *why = !hw->chip.valid  ? hw->chip.invalid_reason
                      : !hw->pkg.valid ? hw->pkg.invalid_reason
                      : !hw->srv.valid ? hw->srv.invalid_reason
                                       : NULL;
    if (why)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: the design is invalid: %s", path, why);
    if (in->hw_name[0])
        snprintf(hw->name, sizeof hw->name, "%s", in->hw_name);
    else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, ".");
        snprintf(hw->name, sizeof hw->name, "%.*s", (int)(n ? n : strlen(base)), base);
    }
    for (int p = 0; p < XEFF_COUNT; p++)
        *xsysconf_eff(&hw->eff, (xeff_param)p) = NAN;
    hw->eff.allreduce_algo = XAR_RING;
    xsysconf_resolve(&hw->eff, in->has_hw_eff ? &in->hw_eff : NULL);
    return ACC_OK;
}

void xhw_free(xhw *hw)
{
    xinputs_free(&hw->in);
}

acc_status xmeasure_predict(const xmeasure *pt, const xllm *model, const xhw *hw,
                            const xsysconf *eff, double *out, acc_error *err)
{
    xsysconf conf = *eff;
    if (pt->has_allreduce)
        conf.allreduce_algo = pt->allreduce;
    double per_server = hw->srv.num_chips;
    conf.num_servers = ceil(pt->devices / per_server);
    conf.kv_cache_ratio = conf.max_ctx_len_batch_1 = conf.max_tco = NAN;
    conf.max_batch = pt->batch;
    conf.eval_len[0] = pt->input_len;
    conf.eval_len[1] = pt->output_len;
    conf.energy_model = 1;
    conf.has_default_mapping = 1;
    conf.default_mapping = (xmapping){
        .t = pt->t, .p = pt->p, .micro_batch = pt->batch, .prefill_micro_batch = pt->batch};
    /* a point run at another precision than the chip's word (FP8 tensor
     * cores on a chip described at BF16) sees the peak that precision has;
     * copies, so that the loaded design stays as the file gives it */
    xchip chip = hw->chip;
    xpkg pkg = hw->pkg;
    xserver srv = hw->srv;
    if (pt->compute_bits > 0) {
        double scale = chip.bytes_per_word * 8 / pt->compute_bits;
        chip.perf *= scale;
        pkg.perf *= scale;
        srv.perf *= scale;
    }
    pkg.chip = &chip;
    srv.pkg = &pkg;
    xsystem sys;
    memset(&sys, 0, sizeof sys);
    sys.srv = &srv;
    sys.model = model;
    sys.conf = &conf;
    sys.fixes = ACC_EXPLORE_FIX_ALL;
    xsystem_update(&sys);
    if (!sys.valid)
        return acc_error_set(err, ACC_ERR_INPUT, "point '%s': no valid system on %s: %s", pt->name,
                             hw->name, sys.invalid_reason);
    double per_chip =
        model->model_size_byte / (pt->t * pt->p) +
        pt->batch * (pt->input_len + pt->output_len) * model->kv_per_token_byte / (pt->t * pt->p);
    if (per_chip > hw->pkg.total_mem / hw->pkg.num_chips * 1.0001)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "point '%s': %.1f GB of weights and KV cache per chip do not fit in "
                             "%.1f GB on %s",
                             pt->name, per_chip / 1e9, hw->pkg.total_mem / hw->pkg.num_chips / 1e9,
                             hw->name);
    xperf perf;
    xperf_eval(&sys, &conf.default_mapping, pt->batch, pt->input_len, pt->output_len, &perf);
    double step = pt->batch / perf.generate_throughput; /* one decode step */
    double request = perf.prefill_latency + perf.generate_latency;
    double v = NAN;
    switch (pt->metric) {
    case XM_DECODE_TOK_S:
        v = perf.generate_throughput;
        break;
    case XM_DECODE_MS:
        v = step * 1e3;
        break;
    case XM_FIRST_TOKEN_MS:
        v = perf.prefill_latency * 1e3;
        break;
    case XM_PREFILL_TOK_S:
        v = perf.prefill_throughput;
        break;
    case XM_THROUGHPUT_TOK_S:
        v = pt->batch * pt->output_len / request;
        break;
    case XM_REQUEST_MS:
        v = request * 1e3;
        break;
    case XM_THROUGHPUT_PER_DEVICE:
        v = pt->batch * pt->output_len / request / pt->devices;
        break;
    case XM_COUNT:
        break;
    }
    if (!(v > 0) || !isfinite(v))
        return acc_error_set(err, ACC_ERR_INPUT, "point '%s': the model predicts %g", pt->name, v);
    *out = v;
    return ACC_OK;
}
