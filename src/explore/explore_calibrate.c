/*
 * explore_calibrate.c — `accinf explore calibrate`: fits each hardware's
 * efficiency factors to the measured points of the "calibrate" split by
 * least squares on relative errors, then reports every point's prediction,
 * its error and the mean absolute percentage error (MAPE) of each split.
 * The fit is pulled weakly (1e-5 per typical magnitude) toward the factors
 * in the hardware file, so that a factor the points cannot determine stays
 * where it was instead of drifting along a flat direction.
 */
#include "explore/explore_calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PRIOR_WEIGHT 1e-5

typedef struct point_state {
    size_t hw;
    xllm model;
    double predicted, error; /* error: predicted / measured - 1 */
} point_state;

typedef struct calib {
    const acc_explore_calibrate_options *opts;
    xmeasured meas;
    point_state *st;
    xhw *hws;
    size_t n_hws, cap_hws;
    char dir[1024];
    /* per hardware: fit outcome */
    unsigned *fitted_mask;
    size_t *n_fit_points;
    xlsq_report *reports;
    xsysconf *before;
    unsigned *shared_mask; /* factors taken from shared_from[h] ("share") */
    size_t *shared_from;
} calib;

typedef struct fit_ctx {
    calib *c;
    size_t hw;
    int params[XEFF_COUNT];
    size_t n_params;
    double x0[XEFF_COUNT];
    size_t *points;
    size_t n_points;
} fit_ctx;

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_abs(const char *p)
{
    return p[0] == '/';
}

static acc_status join_path(const calib *c, const char *rel, char *out, size_t cap, acc_error *err)
{
    int n = is_abs(rel) || !c->dir[0] ? snprintf(out, cap, "%s", rel)
                                      : snprintf(out, cap, "%s/%s", c->dir, rel);
    if (n < 0 || (size_t)n >= cap)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: path too long", rel);
    return ACC_OK;
}

static acc_status add_hw(calib *c, const char *path, size_t *index, acc_error *err)
{
    for (size_t i = 0; i < c->n_hws; i++)
        if (!strcmp(c->hws[i].path, path)) {
            *index = i;
            return ACC_OK;
        }
    if (c->n_hws == c->cap_hws)
        return acc_error_set(err, ACC_ERR_INPUT, "calibrate: more than %zu hardware files",
                             c->cap_hws);
    acc_status st = xhw_load(&c->hws[c->n_hws], path, err);
    if (st) {
        xhw_free(&c->hws[c->n_hws]);
        return st;
    }
    *index = c->n_hws++;
    return ACC_OK;
}

static const char *stem_of(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    snprintf(buf, cap, "%.*s", (int)(n ? n : strlen(base)), base);
    return buf;
}

static acc_status resolve_point(calib *c, size_t i, acc_error *err)
{
    const xmeasure *pt = &c->meas.points[i];
    point_state *st = &c->st[i];
    acc_status status;
    if (!pt->hardware[0]) {
        if (c->opts->n_hw != 1)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "point '%s': no \"hardware\" and not exactly one -hw file",
                                 pt->name);
        st->hw = 0;
    } else {
        size_t found = (size_t)-1;
        char stem[256];
        for (size_t h = 0; h < c->n_hws && found == (size_t)-1; h++)
            if (!strcmp(c->hws[h].name, pt->hardware) ||
                !strcmp(stem_of(c->hws[h].path, stem, sizeof stem), pt->hardware))
                found = h;
        if (found == (size_t)-1) {
            char path[1024];
            if ((status = join_path(c, pt->hardware, path, sizeof path, err)))
                return status;
            if (!is_file(path)) {
                /* a bare name: NAME.yaml beside the points file */
                size_t len = strlen(path);
                if (len + 6 > sizeof path)
                    return acc_error_set(err, ACC_ERR_INPUT, "%s: path too long", path);
                memcpy(path + len, ".yaml", 6);
            }
            if (!is_file(path))
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "point '%s': hardware '%s' is neither a -hw file's Name "
                                     "nor a file (nor %s)",
                                     pt->name, pt->hardware, path);
            if ((status = add_hw(c, path, &found, err)))
                return status;
        }
        st->hw = found;
    }
    char path[1024];
    char *text = NULL;
    size_t size = 0;
    if ((status = join_path(c, pt->model, path, sizeof path, err)) ||
        (status = acc_read_file(path, &text, &size, err)))
        return acc_error_wrap(err, "point '%s'", pt->name);
    status = xmodel_load_text(path, text, size, &st->model, err);
    free(text);
    if (status)
        return status;
    if (!isnan(pt->weight_bits))
        st->model.weight_bits = pt->weight_bits;
    if (!isnan(pt->kv_bits))
        st->model.kv_bits = pt->kv_bits;
    st->model.kv_reads_per_query_head = pt->kv_reads_per_query_head;
    return xllm_update(&st->model, err);
}

static acc_status predict_all(calib *c, size_t hw, const xsysconf *eff, const size_t *points,
                              size_t n, double *out_err, acc_error *err)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = points ? points[k] : k;
        if (c->st[i].hw != hw)
            continue;
        double v;
        acc_status status =
            xmeasure_predict(&c->meas.points[i], &c->st[i].model, &c->hws[hw], eff, &v, err);
        if (status)
            return status;
        c->st[i].predicted = v;
        c->st[i].error = v / c->meas.points[i].value - 1;
        if (out_err)
            out_err[k] = c->st[i].error;
    }
    return ACC_OK;
}

static void apply_params(const fit_ctx *f, const double *x, xsysconf *eff)
{
    for (size_t j = 0; j < f->n_params; j++)
        *xsysconf_eff(eff, (xeff_param)f->params[j]) = x[j];
}

static acc_status fit_residuals(void *ctx, const double *x, double *r, acc_error *err)
{
    fit_ctx *f = ctx;
    xsysconf eff = f->c->hws[f->hw].eff;
    apply_params(f, x, &eff);
    acc_status st = predict_all(f->c, f->hw, &eff, f->points, f->n_points, r, err);
    if (st)
        return st;
    for (size_t j = 0; j < f->n_params; j++) {
        const xeff_info *info = xeff_info_get((xeff_param)f->params[j]);
        r[f->n_points + j] = PRIOR_WEIGHT * (x[j] - f->x0[j]) / info->scale;
    }
    return ACC_OK;
}

static unsigned fit_mask_for(const calib *c, const xhw *hw)
{
    unsigned mask = (1u << XEFF_COUNT) - 1;
    if (c->opts->fit)
        xeff_parse_list(c->opts->fit, &mask, NULL);
    else
        for (size_t i = 0; i < c->meas.n_fit; i++)
            if (!strcmp(c->meas.fit[i].hardware, hw->name))
                mask = c->meas.fit[i].mask;
    return mask & ~c->shared_mask[hw - c->hws];
}

static acc_status fit_hw(calib *c, size_t hw, acc_error *err)
{
    fit_ctx f;
    memset(&f, 0, sizeof f);
    f.c = c;
    f.hw = hw;
    size_t n = 0;
    for (size_t i = 0; i < c->meas.n; i++)
        if (c->st[i].hw == hw && !c->meas.points[i].test)
            n++;
    c->n_fit_points[hw] = n;
    if (n == 0 || c->opts->no_fit)
        return ACC_OK;
    f.points = malloc(n * sizeof *f.points);
    if (!f.points)
        return acc_error_set(err, ACC_ERR_RUNTIME, "calibrate: out of memory");
    for (size_t i = 0; i < c->meas.n; i++)
        if (c->st[i].hw == hw && !c->meas.points[i].test)
            f.points[f.n_points++] = i;
    unsigned mask = fit_mask_for(c, &c->hws[hw]);
    if (!mask) {
        free(f.points);
        return ACC_OK; /* every factor is shared from another hardware */
    }
    xsysconf *eff = &c->hws[hw].eff;
    double x[XEFF_COUNT], lo[XEFF_COUNT], hi[XEFF_COUNT];
    for (int p = 0; p < XEFF_COUNT; p++) {
        if (!(mask & (1u << p)))
            continue;
        const xeff_info *info = xeff_info_get((xeff_param)p);
        double v = *xsysconf_eff(eff, (xeff_param)p);
        if (p == XEFF_KV_BANDWIDTH && isnan(v))
            v = eff->weight_bandwidth_efficiency; /* unset: follows the weights */
        if (p == XEFF_SOFTNESS && !(v > 0))
            v = 0.5; /* the plain roofline is a flat point of the softness */
        f.params[f.n_params] = p;
        f.x0[f.n_params] = v;
        x[f.n_params] = v;
        lo[f.n_params] = info->lo;
        hi[f.n_params] = info->hi;
        f.n_params++;
    }
    xlsq_problem prob = {.n_params = f.n_params,
                         .n_resid = f.n_points + f.n_params,
                         .lo = lo,
                         .hi = hi,
                         .fn = fit_residuals,
                         .ctx = &f};
    acc_status st = xlsq_solve(&prob, x, &c->reports[hw], err);
    if (!st) {
        apply_params(&f, x, eff);
        c->fitted_mask[hw] = mask;
    }
    free(f.points);
    return st;
}

/* Index of the hardware named `name`, or c->n_hws. */
static size_t find_hw(const calib *c, const char *name)
{
    size_t h = 0;
    while (h < c->n_hws && strcmp(c->hws[h].name, name) != 0)
        h++;
    return h;
}

/* The "share" entries: which loaded hardware takes which factors from
 * which other one.  A source must not itself share (no chains), so that
 * fitting every source first is enough. */
static acc_status resolve_shares(calib *c, acc_error *err)
{
    for (size_t i = 0; i < c->meas.n_share; i++) {
        size_t h = find_hw(c, c->meas.share[i].hardware);
        if (h == c->n_hws)
            continue; /* a hardware without points: nothing to predict */
        size_t from = find_hw(c, c->meas.share[i].from);
        if (from == c->n_hws)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: share.%s: from: hardware '%s' has no points (add its -hw "
                                 "file)",
                                 c->opts->measured_path, c->meas.share[i].hardware,
                                 c->meas.share[i].from);
        for (size_t j = 0; j < c->meas.n_share; j++)
            if (!strcmp(c->meas.share[j].hardware, c->meas.share[i].from))
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "%s: share.%s: from: '%s' shares factors itself (chains "
                                     "are not supported)",
                                     c->opts->measured_path, c->meas.share[i].hardware,
                                     c->meas.share[i].from);
        c->shared_mask[h] = c->meas.share[i].mask;
        c->shared_from[h] = from;
    }
    return ACC_OK;
}

/* Copies the shared factors from their (already fitted) source. */
static void apply_shares(calib *c, size_t h)
{
    for (int p = 0; p < XEFF_COUNT; p++)
        if ((c->shared_mask[h] >> p) & 1)
            *xsysconf_eff(&c->hws[h].eff, (xeff_param)p) =
                *xsysconf_eff(&c->hws[c->shared_from[h]].eff, (xeff_param)p);
}

static void fmt_factor(char *buf, size_t cap, xeff_param p, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "(weights')");
    else if (p == XEFF_LAYER || p == XEFF_PREFILL || p == XEFF_DECODE || p == XEFF_COLLECTIVE)
        snprintf(buf, cap, "%.4g", v);
    else
        snprintf(buf, cap, "%.4f", v);
}

static void summarize(const calib *c, acc_explore_calibration *res)
{
    double sum[2] = {0, 0}, worst = 0;
    size_t cnt[2] = {0, 0};
    for (size_t i = 0; i < c->meas.n; i++) {
        int t = c->meas.points[i].test;
        double e = fabs(c->st[i].error) * 100;
        sum[t] += e;
        cnt[t]++;
        if (t && e > worst)
            worst = e;
    }
    res->n_calibrate = cnt[0];
    res->n_test = cnt[1];
    res->mape_calibrate = cnt[0] ? sum[0] / (double)cnt[0] : NAN;
    res->mape_test = cnt[1] ? sum[1] / (double)cnt[1] : NAN;
    res->mape_all = (sum[0] + sum[1]) / (double)(cnt[0] + cnt[1]);
    res->max_test_error = worst;
    /* per hardware: a chip's factors are judged on its own test points */
    for (size_t h = 0; h < c->n_hws && h < ACC_EXPLORE_CALIBRATE_MAX_HW; h++) {
        double hs[2] = {0, 0};
        size_t hc[2] = {0, 0};
        for (size_t i = 0; i < c->meas.n; i++) {
            if (c->st[i].hw != h)
                continue;
            int t = c->meas.points[i].test;
            hs[t] += fabs(c->st[i].error) * 100;
            hc[t]++;
        }
        res->n_calibrate_hw[h] = hc[0];
        res->n_test_hw[h] = hc[1];
        res->mape_calibrate_hw[h] = hc[0] ? hs[0] / (double)hc[0] : NAN;
        res->mape_test_hw[h] = hc[1] ? hs[1] / (double)hc[1] : NAN;
    }
}

static void report_text(const calib *c, const acc_explore_calibration *res, FILE *out)
{
    for (size_t h = 0; h < c->n_hws; h++) {
        const xhw *hw = &c->hws[h];
        fprintf(out, "hardware %s (%s): ", hw->name, hw->path);
        if (c->fitted_mask[h])
            fprintf(out, "fitted on %zu calibrate points, cost %.3g -> %.3g in %d iterations\n",
                    c->n_fit_points[h], c->reports[h].cost0, c->reports[h].cost,
                    c->reports[h].iterations);
        else
            fprintf(out, "%s\n",
                    c->opts->no_fit ? "factors from the file (--no-fit)"
                                    : "no calibrate points: factors from the file");
        if (hw->in.hw_calibration[0])
            fprintf(out, "  Calibration: %s%s\n", hw->in.hw_calibration,
                    xcalibration_is_uncalibrated(hw->in.hw_calibration)
                        ? "  <- the file's factors are not fitted to this chip"
                        : "");
        fprintf(out, "  Efficiency:\n");
        for (int p = 0; p < XEFF_COUNT; p++) {
            char now[32], was[32];
            double v = *xsysconf_eff((xsysconf *)&hw->eff, (xeff_param)p);
            double v0 = *xsysconf_eff((xsysconf *)&c->before[h], (xeff_param)p);
            fmt_factor(now, sizeof now, (xeff_param)p, v);
            fmt_factor(was, sizeof was, (xeff_param)p, v0);
            if (isnan(v))
                continue;
            if ((c->shared_mask[h] >> p) & 1)
                fprintf(out, "    %-28s %-10s # shared from %s, was %s\n",
                        xeff_info_get((xeff_param)p)->key, now, c->hws[c->shared_from[h]].name,
                        was);
            else
                fprintf(out, "    %-28s %-10s # %s%s\n", xeff_info_get((xeff_param)p)->key, now,
                        (c->fitted_mask[h] >> p) & 1 ? "fitted, was " : "kept, ",
                        (c->fitted_mask[h] >> p) & 1 ? was : "not fitted");
        }
    }
    fprintf(out, "\n%-44s %-16s %-9s %-27s %12s %12s %8s\n", "point", "hardware", "split", "metric",
            "measured", "predicted", "error");
    for (size_t i = 0; i < c->meas.n; i++) {
        const xmeasure *pt = &c->meas.points[i];
        fprintf(out, "%-44.44s %-16.16s %-9s %-27s %12.4g %12.4g %+7.1f%%\n", pt->name,
                c->hws[c->st[i].hw].name, pt->test ? "test" : "calibrate", xmetric_name(pt->metric),
                pt->value, c->st[i].predicted, c->st[i].error * 100);
    }
    fprintf(out,
            "\nMAPE: calibrate %.2f%% (%zu points), test %.2f%% (%zu points, worst %.1f%%), "
            "all %.2f%%\n",
            res->mape_calibrate, res->n_calibrate, res->mape_test, res->n_test, res->max_test_error,
            res->mape_all);
    fputs("MAPE per hardware:\n", out);
    for (size_t h = 0; h < c->n_hws && h < ACC_EXPLORE_CALIBRATE_MAX_HW; h++) {
        char cal[16] = "      -", tst[16] = "      -";
        if (res->n_calibrate_hw[h])
            snprintf(cal, sizeof cal, "%6.2f%%", res->mape_calibrate_hw[h]);
        if (res->n_test_hw[h])
            snprintf(tst, sizeof tst, "%6.2f%%", res->mape_test_hw[h]);
        fprintf(out, "  %-16s calibrate %s (%zu points), test %s (%zu points)\n", c->hws[h].name,
                cal, res->n_calibrate_hw[h], tst, res->n_test_hw[h]);
    }
}

static void json_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.10g", v);
    else
        fputs("null", out);
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void report_json(const calib *c, const acc_explore_calibration *res, FILE *out)
{
    fputs("{\"hardware\": [", out);
    for (size_t h = 0; h < c->n_hws; h++) {
        const xhw *hw = &c->hws[h];
        fprintf(out, "%s\n  {\"name\": ", h ? "," : "");
        json_str(out, hw->name);
        fputs(", \"path\": ", out);
        json_str(out, hw->path);
        fputs(", \"calibration\": ", out);
        if (hw->in.hw_calibration[0])
            json_str(out, hw->in.hw_calibration);
        else
            fputs("null", out);
        fprintf(out, ", \"uncalibrated\": %s",
                xcalibration_is_uncalibrated(hw->in.hw_calibration) ? "true" : "false");
        fprintf(out, ", \"calibrate_points\": %zu, \"fitted\": [", c->n_fit_points[h]);
        int first = 1;
        for (int p = 0; p < XEFF_COUNT; p++)
            if ((c->fitted_mask[h] >> p) & 1) {
                fprintf(out, "%s\"%s\"", first ? "" : ", ", xeff_info_get((xeff_param)p)->key);
                first = 0;
            }
        fputs("], \"shared\": [", out);
        first = 1;
        for (int p = 0; p < XEFF_COUNT; p++)
            if ((c->shared_mask[h] >> p) & 1) {
                fprintf(out, "%s\"%s\"", first ? "" : ", ", xeff_info_get((xeff_param)p)->key);
                first = 0;
            }
        fputs("], \"shared_from\": ", out);
        if (c->shared_mask[h])
            json_str(out, c->hws[c->shared_from[h]].name);
        else
            fputs("null", out);
        fputs(", \"efficiency\": {", out);
        for (int p = 0; p < XEFF_COUNT; p++) {
            fprintf(out, "%s\"%s\": ", p ? ", " : "", xeff_info_get((xeff_param)p)->key);
            json_num(out, *xsysconf_eff((xsysconf *)&hw->eff, (xeff_param)p));
        }
        fputs("}, \"mape_calibrate_pct\": ", out);
        json_num(out, h < ACC_EXPLORE_CALIBRATE_MAX_HW ? res->mape_calibrate_hw[h] : NAN);
        fputs(", \"mape_test_pct\": ", out);
        json_num(out, h < ACC_EXPLORE_CALIBRATE_MAX_HW ? res->mape_test_hw[h] : NAN);
        fprintf(out, ", \"test_points\": %zu}",
                h < ACC_EXPLORE_CALIBRATE_MAX_HW ? res->n_test_hw[h] : (size_t)0);
    }
    fputs("],\n \"points\": [", out);
    for (size_t i = 0; i < c->meas.n; i++) {
        const xmeasure *pt = &c->meas.points[i];
        fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
        json_str(out, pt->name);
        fputs(", \"hardware\": ", out);
        json_str(out, c->hws[c->st[i].hw].name);
        fprintf(out, ", \"split\": \"%s\", \"metric\": \"%s\", \"measured\": ",
                pt->test ? "test" : "calibrate", xmetric_name(pt->metric));
        json_num(out, pt->value);
        fputs(", \"predicted\": ", out);
        json_num(out, c->st[i].predicted);
        fputs(", \"error_pct\": ", out);
        json_num(out, c->st[i].error * 100);
        fputs(", \"source\": ", out);
        json_str(out, pt->source);
        fputc('}', out);
    }
    fputs("],\n \"mape_calibrate_pct\": ", out);
    json_num(out, res->mape_calibrate);
    fputs(", \"mape_test_pct\": ", out);
    json_num(out, res->mape_test);
    fputs(", \"max_test_error_pct\": ", out);
    json_num(out, res->max_test_error);
    fputs(", \"mape_all_pct\": ", out);
    json_num(out, res->mape_all);
    fprintf(out, ", \"calibrate_points\": %zu, \"test_points\": %zu}\n", res->n_calibrate,
            res->n_test);
}

void acc_explore_calibrate_options_init(acc_explore_calibrate_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

acc_status acc_explore_calibrate(const acc_explore_calibrate_options *opts, FILE *out,
                                 acc_explore_calibration *res, acc_error *err)
{
    memset(res, 0, sizeof *res);
    if (!opts->measured_path)
        return acc_error_set(err, ACC_ERR_INPUT, "calibrate: --measured FILE.json is required");
    unsigned mask;
    if (opts->fit && xeff_parse_list(opts->fit, &mask, err))
        return ACC_ERR_INPUT;
    calib c;
    memset(&c, 0, sizeof c);
    c.opts = opts;
    const char *slash = strrchr(opts->measured_path, '/');
    if (slash)
        snprintf(c.dir, sizeof c.dir, "%.*s", (int)(slash - opts->measured_path),
                 opts->measured_path);
    char *text = NULL;
    size_t size = 0;
    acc_status st = acc_read_file(opts->measured_path, &text, &size, err);
    if (st)
        return st;
    st = xmeasured_parse(opts->measured_path, text, size, &c.meas, err);
    free(text);
    if (st)
        return st;
    c.cap_hws = opts->n_hw + c.meas.n;
    c.hws = calloc(c.cap_hws, sizeof *c.hws);
    c.st = calloc(c.meas.n, sizeof *c.st);
    c.fitted_mask = calloc(c.cap_hws, sizeof *c.fitted_mask);
    c.n_fit_points = calloc(c.cap_hws, sizeof *c.n_fit_points);
    c.reports = calloc(c.cap_hws, sizeof *c.reports);
    c.before = calloc(c.cap_hws, sizeof *c.before);
    c.shared_mask = calloc(c.cap_hws, sizeof *c.shared_mask);
    c.shared_from = calloc(c.cap_hws, sizeof *c.shared_from);
    if (!c.hws || !c.st || !c.fitted_mask || !c.n_fit_points || !c.reports || !c.before ||
        !c.shared_mask || !c.shared_from) {
        st = acc_error_set(err, ACC_ERR_RUNTIME, "calibrate: out of memory");
        goto done;
    }
    for (size_t h = 0; h < opts->n_hw && !st; h++) {
        size_t index;
        st = add_hw(&c, opts->hw_paths[h], &index, err);
    }
    for (size_t i = 0; i < c.meas.n && !st; i++)
        st = resolve_point(&c, i, err);
    for (size_t h = 0; h < c.n_hws; h++)
        c.before[h] = c.hws[h].eff;
    if (!st)
        st = resolve_shares(&c, err);
    /* sources first, then the hardware that take factors from them */
    for (size_t h = 0; h < c.n_hws && !st; h++)
        if (!c.shared_mask[h])
            st = fit_hw(&c, h, err);
    for (size_t h = 0; h < c.n_hws && !st; h++)
        if (c.shared_mask[h]) {
            apply_shares(&c, h);
            st = fit_hw(&c, h, err);
        }
    for (size_t h = 0; h < c.n_hws && !st; h++)
        st = predict_all(&c, h, &c.hws[h].eff, NULL, c.meas.n, NULL, err);
    if (st)
        goto done;
    summarize(&c, res);
    if (out) {
        if (opts->json)
            report_json(&c, res, out);
        else
            report_text(&c, res, out);
    }
    res->n_hardware = c.n_hws;
    for (size_t h = 0; h < c.n_hws && h < ACC_EXPLORE_CALIBRATE_MAX_HW; h++) {
        snprintf(res->hardware[h], sizeof res->hardware[h], "%s", c.hws[h].name);
        for (int p = 0; p < XEFF_COUNT && p < ACC_EXPLORE_CALIBRATE_FACTORS; p++)
            res->factors[h][p] = *xsysconf_eff(&c.hws[h].eff, (xeff_param)p);
    }
done:
    for (size_t h = 0; h < c.n_hws; h++)
        xhw_free(&c.hws[h]);
    free(c.hws);
    free(c.st);
    free(c.fitted_mask);
    free(c.n_fit_points);
    free(c.reports);
    free(c.before);
    free(c.shared_mask);
    free(c.shared_from);
    xmeasured_free(&c.meas);
    return st;
}
