/*
 * explore_measured.c — reads the measured points that `explore calibrate`
 * fits: a hand-written list of published points ({"points": [...]} or a
 * bare list), or the object `accinf bench --json` prints, wrapped in (or
 * merged with) an envelope that names the hardware, the model description
 * and the shape.  Every error names the file and the JSON path of the value.
 */
#include "explore/explore_calibrate.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const METRICS[XM_COUNT] = {
    "decode_tok_s",  "decode_ms",        "first_token_ms",
    "prefill_tok_s", "throughput_tok_s", "request_ms", "throughput_tok_s_per_device",
};

const char *xmetric_name(xmetric m)
{
    return m < XM_COUNT ? METRICS[m] : "?";
}

/* `accinf bench` keeps this many tokens in the cache before timing decode */
#define BENCH_TG_CONTEXT 4

static const char *const ALGOS[] = {"ring",        "2d_ring",       "3d_ring",      "local_4d_16",
                                    "local_2d_16", "local_ring_16", "local_ring_8", "direct"};

typedef struct reader {
    const char *file;
    acc_error *err;
} reader;

static acc_status bad(const reader *rd, const char *where, const char *what)
{
    return acc_error_set(rd->err, ACC_ERR_INPUT, "%s: %s: %s", rd->file, where, what);
}

/* Optional number (absent or null: keeps *out); must be > 0 (or >= 0). */
static acc_status get_num(const reader *rd, const json_t *obj, const char *key, const char *where,
                          int allow_zero, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return ACC_OK;
    char path[256];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!json_is_number(v))
        return bad(rd, path, "expected a number");
    double x = json_number_value(v);
    if (!isfinite(x) || x < 0 || (!allow_zero && x == 0))
        return bad(rd, path, allow_zero ? "must not be negative" : "must be greater than zero");
    *out = x;
    return ACC_OK;
}

static acc_status get_str(const reader *rd, const json_t *obj, const char *key, const char *where,
                          char *out, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return ACC_OK;
    char path[256];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!json_is_string(v))
        return bad(rd, path, "expected a string");
    if (json_string_length(v) >= cap)
        return bad(rd, path, "too long");
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return ACC_OK;
}

static int whole(double v)
{
    return v == floor(v) && v >= 1;
}

static const char *const POINT_KEYS[] = {
    "name",
    "source",
    "hardware",
    "model",
    "model_config",
    "split",
    "metric",
    "value",
    "batch",
    "input_len",
    "output_len",
    "t",
    "p",
    "devices",
    "weight_bits",
    "kv_bits",
    "compute_bits",
    "allreduce",
    "gqa_kv_reads",
    "note",
    "bench",
    /* the keys `accinf bench --json` prints */
    "architecture",
    "parameters",
    "backend",
    "threads",
    "reps",
    "pp",
    "tg",
    "pp_tok_s",
    "pp_tok_s_stddev",
    "pp_samples",
    "tg_tok_s",
    "tg_tok_s_stddev",
    "tg_samples",
};

static acc_status check_keys(const reader *rd, const json_t *obj, const char *where)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < sizeof POINT_KEYS / sizeof *POINT_KEYS && strcmp(POINT_KEYS[i], key) != 0)
            i++;
        if (i == sizeof POINT_KEYS / sizeof *POINT_KEYS) {
            char msg[400];
            snprintf(msg, sizeof msg,
                     "unknown key '%.60s' (known: name, source, hardware, model, model_config, "
                     "split, metric, value, batch, input_len, output_len, t, p, devices, "
                     "weight_bits, kv_bits, compute_bits, allreduce, gqa_kv_reads, note, bench, and "
                     "accinf "
                     "bench's keys)",
                     key);
            return bad(rd, where, msg);
        }
    }
    return ACC_OK;
}

static acc_status push(xmeasured *out, const xmeasure *pt, acc_error *err)
{
    if (out->n % 32 == 0) {
        xmeasure *grown = realloc(out->points, (out->n + 32) * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "measured points: out of memory");
        out->points = grown;
    }
    out->points[out->n++] = *pt;
    return ACC_OK;
}

/* The envelope and shape fields shared by metric points and bench objects. */
static acc_status read_common(const reader *rd, const json_t *obj, const char *where, int is_bench,
                              xmeasure *pt)
{
    acc_status st;
    char split[32] = "calibrate", algo[32] = "", kv_reads[32] = "";
    if ((st = get_str(rd, obj, "name", where, pt->name, sizeof pt->name)) ||
        (st = get_str(rd, obj, "source", where, pt->source, sizeof pt->source)) ||
        (st = get_str(rd, obj, "hardware", where, pt->hardware, sizeof pt->hardware)) ||
        (st = get_str(rd, obj, "model_config", where, pt->model, sizeof pt->model)) ||
        (!is_bench && (st = get_str(rd, obj, "model", where, pt->model, sizeof pt->model))) ||
        (st = get_str(rd, obj, "split", where, split, sizeof split)) ||
        (st = get_str(rd, obj, "allreduce", where, algo, sizeof algo)) ||
        (st = get_str(rd, obj, "gqa_kv_reads", where, kv_reads, sizeof kv_reads)) ||
        (st = get_num(rd, obj, "batch", where, 0, &pt->batch)) ||
        (st = get_num(rd, obj, "input_len", where, 0, &pt->input_len)) ||
        (st = get_num(rd, obj, "output_len", where, 0, &pt->output_len)) ||
        (st = get_num(rd, obj, "t", where, 0, &pt->t)) ||
        (st = get_num(rd, obj, "p", where, 0, &pt->p)) ||
        (st = get_num(rd, obj, "devices", where, 0, &pt->devices)) ||
        (st = get_num(rd, obj, "weight_bits", where, 0, &pt->weight_bits)) ||
        (st = get_num(rd, obj, "kv_bits", where, 0, &pt->kv_bits)) ||
        (st = get_num(rd, obj, "compute_bits", where, 0, &pt->compute_bits)))
        return st;
    if (!strcmp(split, "calibrate"))
        pt->test = 0;
    else if (!strcmp(split, "test"))
        pt->test = 1;
    else
        return bad(rd, where, "split: expected \"calibrate\" or \"test\"");
    if (!kv_reads[0] || !strcmp(kv_reads, "shared"))
        pt->kv_reads_per_query_head = 0;
    else if (!strcmp(kv_reads, "per_query_head"))
        pt->kv_reads_per_query_head = 1;
    else
        return bad(rd, where, "gqa_kv_reads: expected \"shared\" or \"per_query_head\"");
    if (algo[0]) {
        size_t i = 0;
        while (i < sizeof ALGOS / sizeof *ALGOS && strcmp(ALGOS[i], algo) != 0)
            i++;
        if (i == sizeof ALGOS / sizeof *ALGOS)
            return bad(rd, where,
                       "allreduce: unknown algorithm (ring, 2d_ring, 3d_ring, local_4d_16, "
                       "local_2d_16, local_ring_16, local_ring_8, direct)");
        pt->has_allreduce = 1;
        pt->allreduce = (xallreduce)i;
    }
    if (!pt->model[0])
        return bad(rd, where,
                   is_bench ? "missing \"model_config\" (the model YAML)"
                            : "missing \"model\" (the model YAML)");
    return ACC_OK;
}

static acc_status finish_shape(const reader *rd, const char *where, xmeasure *pt)
{
    if (isnan(pt->p))
        pt->p = 1;
    if (isnan(pt->t))
        pt->t = isnan(pt->devices) ? 1 : pt->devices / pt->p;
    if (isnan(pt->devices))
        pt->devices = pt->t * pt->p;
    if (!whole(pt->batch) || !whole(pt->input_len) || !whole(pt->output_len) || !whole(pt->t) ||
        !whole(pt->p) || !whole(pt->devices))
        return bad(rd, where,
                   "batch, input_len, output_len, t, p and devices must be whole numbers >= 1");
    if (pt->t * pt->p > pt->devices)
        return bad(rd, where, "t x p is more than devices");
    if (!pt->name[0])
        snprintf(pt->name, sizeof pt->name, "%s", where);
    return ACC_OK;
}

static void point_defaults(xmeasure *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->batch = 1;
    pt->input_len = pt->output_len = pt->t = pt->p = pt->devices = NAN;
    pt->weight_bits = pt->kv_bits = pt->compute_bits = NAN;
}

/* A bench object (keys pp_tok_s / tg_tok_s, possibly under "bench") gives up
 * to two points: prompt processing of pp tokens, decoding of tg tokens. */
static acc_status read_bench(const reader *rd, const json_t *env, const json_t *bench,
                             const char *where, xmeasured *out)
{
    xmeasure base;
    point_defaults(&base);
    acc_status st = read_common(rd, env, where, 1, &base);
    if (st)
        return st;
    double pp = NAN, tg = NAN, pp_v = NAN, tg_v = NAN;
    if ((st = get_num(rd, bench, "pp", where, 1, &pp)) ||
        (st = get_num(rd, bench, "tg", where, 1, &tg)) ||
        (st = get_num(rd, bench, "pp_tok_s", where, 0, &pp_v)) ||
        (st = get_num(rd, bench, "tg_tok_s", where, 0, &tg_v)))
        return st;
    char name[96] = "";
    /* unnamed: the bench's own model name */
    if (!base.name[0] && (st = get_str(rd, bench, "model", where, name, sizeof name)))
        return st;
    if (base.name[0] || !name[0])
        snprintf(name, sizeof name, "%s", base.name[0] ? base.name : where);
    if (!isnan(pp_v)) {
        xmeasure pt = base;
        if (isnan(pp))
            return bad(rd, where, "pp_tok_s without pp (the prompt length)");
        pt.metric = XM_PREFILL_TOK_S;
        pt.value = pp_v;
        pt.input_len = pp;
        pt.output_len = 1;
        snprintf(pt.name, sizeof pt.name, "%.80s pp%.0f", name, pp);
        if ((st = finish_shape(rd, where, &pt)) || (st = push(out, &pt, rd->err)))
            return st;
    }
    if (!isnan(tg_v)) {
        xmeasure pt = base;
        if (isnan(tg))
            return bad(rd, where, "tg_tok_s without tg (the generated length)");
        pt.metric = XM_DECODE_TOK_S;
        pt.value = tg_v;
        pt.input_len = BENCH_TG_CONTEXT;
        pt.output_len = tg;
        snprintf(pt.name, sizeof pt.name, "%.80s tg%.0f", name, tg);
        if ((st = finish_shape(rd, where, &pt)) || (st = push(out, &pt, rd->err)))
            return st;
    }
    if (isnan(pp_v) && isnan(tg_v))
        return bad(rd, where, "the bench result has neither pp_tok_s nor tg_tok_s");
    return ACC_OK;
}

static acc_status read_point(const reader *rd, const json_t *obj, const char *where, xmeasured *out)
{
    if (!json_is_object(obj))
        return bad(rd, where, "expected an object");
    acc_status st = check_keys(rd, obj, where);
    if (st)
        return st;
    json_t *bench = json_object_get(obj, "bench");
    if (bench) {
        if (!json_is_object(bench))
            return bad(rd, where, "bench: expected the object accinf bench --json prints");
        return read_bench(rd, obj, bench, where, out);
    }
    if (json_object_get(obj, "pp_tok_s") || json_object_get(obj, "tg_tok_s"))
        return read_bench(rd, obj, obj, where, out);
    xmeasure pt;
    point_defaults(&pt);
    if ((st = read_common(rd, obj, where, 0, &pt)))
        return st;
    char metric[32] = "";
    if ((st = get_str(rd, obj, "metric", where, metric, sizeof metric)))
        return st;
    size_t m = 0;
    while (m < XM_COUNT && strcmp(METRICS[m], metric) != 0)
        m++;
    if (m == XM_COUNT)
        return bad(rd, where,
                   "metric: expected one of decode_tok_s, decode_ms, first_token_ms, "
                   "prefill_tok_s, throughput_tok_s, request_ms, throughput_tok_s_per_device");
    pt.metric = (xmetric)m;
    pt.value = NAN;
    if ((st = get_num(rd, obj, "value", where, 0, &pt.value)))
        return st;
    if (isnan(pt.value))
        return bad(rd, where, "missing \"value\"");
    if (isnan(pt.input_len))
        return bad(rd, where, "missing \"input_len\"");
    if (isnan(pt.output_len))
        pt.output_len = 1;
    return finish_shape(rd, where, &pt) ? ACC_ERR_INPUT : push(out, &pt, rd->err);
}

acc_status xeff_parse_list(const char *text, unsigned *mask, acc_error *err)
{
    *mask = 0;
    const char *s = text;
    while (*s) {
        size_t n = strcspn(s, ", ");
        if (n > 0) {
            int found = -1;
            for (int p = 0; p < XEFF_COUNT; p++) {
                const xeff_info *info = xeff_info_get((xeff_param)p);
                if ((strlen(info->short_name) == n && !strncmp(info->short_name, s, n)) ||
                    (strlen(info->key) == n && !strncmp(info->key, s, n)))
                    found = p;
            }
            if (!strncmp(s, "all", n) && n == 3) {
                *mask = (1u << XEFF_COUNT) - 1;
            } else if (found < 0) {
                return acc_error_set(err, ACC_ERR_INPUT,
                                     "fit: unknown factor '%.*s' (compute, bandwidth, "
                                     "kv_bandwidth, io, softness, layer, prefill, decode, "
                                     "collective, all)",
                                     (int)(n > 40 ? 40 : n), s);
            } else {
                *mask |= 1u << found;
            }
        }
        s += n;
        while (*s == ',' || *s == ' ')
            s++;
    }
    if (!*mask)
        return acc_error_set(err, ACC_ERR_INPUT, "fit: empty list of factors");
    return ACC_OK;
}

/* A JSON list of efficiency-factor names as xeff_parse_list's mask;
 * `label` prefixes the list's own errors ("factors: " inside share). */
static acc_status read_factor_mask(const reader *rd, const json_t *names, const char *where,
                                   const char *label, unsigned *mask)
{
    char list[512] = "", what[64];
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *s = json_array_get(names, i);
        if (!json_is_string(s)) {
            snprintf(what, sizeof what, "%sexpected factor names (strings)", label);
            return bad(rd, where, what);
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? "," : "",
                         json_string_value(s));
        if (n < 0 || (size_t)n >= sizeof list - used) {
            snprintf(what, sizeof what, "%slist too long", label);
            return bad(rd, where, what);
        }
        used += (size_t)n;
    }
    if (xeff_parse_list(list, mask, rd->err) != ACC_OK)
        return acc_error_wrap(rd->err, "%s: %s", rd->file, where);
    return ACC_OK;
}

static acc_status read_fit(const reader *rd, const json_t *fit, xmeasured *out)
{
    if (!json_is_object(fit))
        return bad(rd, "fit", "expected an object {\"HARDWARE\": [\"compute\", ...]}");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)fit, key, v)
    {
        char where[200];
        snprintf(where, sizeof where, "fit.%.100s", key);
        if (out->n_fit == sizeof out->fit / sizeof *out->fit)
            return bad(rd, where, "too many hardware entries");
        if (strlen(key) >= sizeof out->fit[0].hardware)
            return bad(rd, where, "hardware name too long");
        if (!json_is_array(v))
            return bad(rd, where, "expected a list of factor names");
        unsigned mask;
        acc_status st = read_factor_mask(rd, v, where, "", &mask);
        if (st)
            return st;
        snprintf(out->fit[out->n_fit].hardware, sizeof out->fit[0].hardware, "%s", key);
        out->fit[out->n_fit++].mask = mask;
    }
    return ACC_OK;
}

static acc_status read_share(const reader *rd, const json_t *share, xmeasured *out)
{
    if (!json_is_object(share))
        return bad(rd, "share",
                   "expected an object {\"HARDWARE\": {\"from\": \"HW\", \"factors\": [...]}}");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)share, key, v)
    {
        char where[200];
        snprintf(where, sizeof where, "share.%.100s", key);
        if (out->n_share == sizeof out->share / sizeof *out->share)
            return bad(rd, where, "too many hardware entries");
        if (strlen(key) >= sizeof out->share[0].hardware)
            return bad(rd, where, "hardware name too long");
        const json_t *from = json_is_object(v) ? json_object_get(v, "from") : NULL;
        const json_t *factors = json_is_object(v) ? json_object_get(v, "factors") : NULL;
        if (!json_is_string(from) || !json_is_array(factors) || json_object_size(v) != 2)
            return bad(rd, where,
                       "expected {\"from\": \"HARDWARE\", \"factors\": [\"compute\", ...]}");
        if (strlen(json_string_value(from)) >= sizeof out->share[0].from)
            return bad(rd, where, "from: hardware name too long");
        if (!strcmp(json_string_value(from), key))
            return bad(rd, where, "from: a hardware cannot share its own factors");
        unsigned mask;
        acc_status st = read_factor_mask(rd, factors, where, "factors: ", &mask);
        if (st)
            return st;
        snprintf(out->share[out->n_share].hardware, sizeof out->share[0].hardware, "%s", key);
        snprintf(out->share[out->n_share].from, sizeof out->share[0].from, "%s",
                 json_string_value(from));
        out->share[out->n_share++].mask = mask;
    }
    return ACC_OK;
}

acc_status xmeasured_parse(const char *path, const char *text, size_t size, xmeasured *out,
                           acc_error *err)
{
    memset(out, 0, sizeof *out);
    reader rd = {path, err};
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                             jerr.text);
    acc_status st = ACC_OK;
    const json_t *list = NULL;
    if (json_is_array(root)) {
        list = root;
    } else if (json_is_object(root) && json_object_get(root, "points")) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v)
        {
            if (strcmp(key, "points") && strcmp(key, "fit") && strcmp(key, "share") &&
                strcmp(key, "comment") && strcmp(key, "sources")) {
                st = bad(&rd, key, "unknown top-level key (points, fit, share, comment, sources)");
                goto done;
            }
        }
        list = json_object_get(root, "points");
        if (!json_is_array(list)) {
            st = bad(&rd, "points", "expected a list of points");
            goto done;
        }
        json_t *fit = json_object_get(root, "fit");
        if (fit && (st = read_fit(&rd, fit, out)))
            goto done;
        json_t *share = json_object_get(root, "share");
        if (share && (st = read_share(&rd, share, out)))
            goto done;
    } else if (json_is_object(root)) {
        st = read_point(&rd, root, "(top)", out);
        goto done;
    } else {
        st = bad(&rd, "(top)", "expected a list of points or an object");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(list) && !st; i++) {
        char where[64];
        snprintf(where, sizeof where, "points[%zu]", i);
        st = read_point(&rd, json_array_get(list, i), where, out);
    }
    if (!st && out->n == 0)
        st = bad(&rd, "points", "no measured points");
done:
    json_decref(root);
    if (st)
        xmeasured_free(out);
    return st;
}

void xmeasured_free(xmeasured *m)
{
    free(m->points);
    memset(m, 0, sizeof *m);
}
