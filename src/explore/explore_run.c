/*
 * explore_run.c — drives an exploration: chip -> package -> server designs
 * (invalid ones pruned at each level, servers evaluated in parallel because
 * the heatsink search is slow), then every system (server x model x system
 * configuration) over batches 1, 2, 4 ... max_batch and all candidate
 * mappings, on T threads.  Each thread keeps its own best-per-batch tables
 * and Pareto points; merging takes the lowest value and, on ties, the
 * lowest system index, so results do not depend on T.
 */
#include "explore/explore_run.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note_reason(char *slot, size_t cap, const char *reason)
{
    if (!slot[0] && reason[0])
        snprintf(slot, cap, "%s", reason);
}

/* ---- hardware ------------------------------------------------------------ */

typedef struct srv_job {
    xrun *r;
    xserver *candidates;
    size_t n;
    atomic_size_t next;
} srv_job;

static void *server_worker(void *arg)
{
    srv_job *job = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n)
            return NULL;
        xserver_update(&job->candidates[i], &job->r->in.constants);
    }
}

acc_status xrun_hardware(xrun *r, acc_error *err)
{
    xinputs *in = &r->in;
    r->chips = acc_calloc(in->n_chips, sizeof *r->chips, err);
    if (!r->chips)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < in->n_chips; i++) {
        xchip chip = in->chips[i];
        xchip_update(&chip, &in->constants.chip);
        if (!chip.valid) {
            note_reason(r->invalid_reason[0], sizeof r->invalid_reason[0], chip.invalid_reason);
            continue;
        }
        if (!chip.chip_id[0]) /* reallm numbers unnamed chips by valid index */
            snprintf(chip.chip_id, sizeof chip.chip_id, "%zu", r->n_chips);
        r->chips[r->n_chips++] = chip;
    }
    if (r->n_chips == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "no valid chip design among %zu: %s",
                             in->n_chips, r->invalid_reason[0]);

    r->pkgs = acc_calloc(r->n_chips * in->n_pkgs, sizeof *r->pkgs, err);
    if (!r->pkgs)
        return ACC_ERR_RUNTIME;
    for (size_t c = 0; c < r->n_chips; c++) {
        for (size_t i = 0; i < in->n_pkgs; i++) {
            xpkg pkg = in->pkgs[i];
            pkg.chip = &r->chips[c];
            xpkg_update(&pkg, &in->constants.pkg);
            if (!pkg.valid) {
                note_reason(r->invalid_reason[1], sizeof r->invalid_reason[1], pkg.invalid_reason);
                continue;
            }
            r->pkgs[r->n_pkgs++] = pkg;
        }
    }
    if (r->n_pkgs == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "no valid package design among %zu: %s",
                             r->n_chips * in->n_pkgs, r->invalid_reason[1]);

    size_t n = r->n_pkgs * in->n_srvs;
    xserver *candidates = acc_calloc(n, sizeof *candidates, err);
    r->srvs = acc_calloc(n, sizeof *r->srvs, err);
    if (!candidates || !r->srvs) {
        free(candidates);
        return ACC_ERR_RUNTIME;
    }
    for (size_t p = 0; p < r->n_pkgs; p++) {
        for (size_t i = 0; i < in->n_srvs; i++) {
            candidates[p * in->n_srvs + i] = in->srvs[i];
            candidates[p * in->n_srvs + i].pkg = &r->pkgs[p];
        }
    }
    srv_job job = {.r = r, .candidates = candidates, .n = n};
    atomic_init(&job.next, 0);
    int threads = r->threads > 0 ? r->threads : 1;
    pthread_t tids[256];
    int started = 0;
    for (int t = 1; t < threads && t < 256; t++)
        if (pthread_create(&tids[started], NULL, server_worker, &job) == 0)
            started++;
    server_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    for (size_t i = 0; i < n; i++) {
        if (candidates[i].valid)
            r->srvs[r->n_srvs++] = candidates[i];
        else
            note_reason(r->invalid_reason[2], sizeof r->invalid_reason[2],
                        candidates[i].invalid_reason);
    }
    free(candidates);
    if (r->n_srvs == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "no valid server design among %zu: %s", n,
                             r->invalid_reason[2]);
    return ACC_OK;
}

/* ---- systems ------------------------------------------------------------- */

typedef struct sys_worker {
    xrun *r;
    atomic_size_t *next;
    size_t chunk;
    xgroup *groups;
    xpoint *pts;
    size_t n_pts, cap_pts;
    double points;
    size_t valid;
    char invalid_reason[200];
    xmapping *maps;
    size_t cap_maps;
    int failed;
} sys_worker;

static int push_point(sys_worker *w, const xpoint *pt)
{
    if (w->n_pts == w->cap_pts) {
        if (w->n_pts >= 2000000) {
            /* keep memory bounded: only points on a front can stay on it */
            xpoints_front(w->pts, &w->n_pts);
        }
        if (w->n_pts == w->cap_pts) {
            size_t cap = w->cap_pts ? w->cap_pts * 2 : 1024;
            xpoint *grown = realloc(w->pts, cap * sizeof *grown);
            if (!grown)
                return -1;
            w->pts = grown;
            w->cap_pts = cap;
        }
    }
    w->pts[w->n_pts++] = *pt;
    return 0;
}

static double goal_value(const xperf *p, xgoal goal)
{
    return goal == XGOAL_PREFILL_LAT  ? p->prefill_latency
           : goal == XGOAL_DECODE_LAT ? p->generate_latency
                                      : p->generate_tco_per_token;
}

static void eval_system(sys_worker *w, size_t index)
{
    xrun *r = w->r;
    size_t n_conf = r->in.n_sysconfs, n_models = r->in.n_models;
    size_t conf_i = index % n_conf, model_i = (index / n_conf) % n_models;
    size_t srv_i = index / n_conf / n_models;
    xsystem sys = {.srv = &r->srvs[srv_i],
                   .model = &r->in.models[model_i],
                   .conf = &r->in.sysconfs[conf_i],
                   .fixes = r->fixes};
    xsystem_update(&sys);
    if (!sys.valid) {
        note_reason(w->invalid_reason, sizeof w->invalid_reason, sys.invalid_reason);
        return;
    }
    w->valid++;
    const xsysconf *conf = sys.conf;
    double L = conf->eval_len[0], G = conf->eval_len[1];
    xseries series[XGOAL_COUNT];
    for (int g = 0; g < XGOAL_COUNT; g++)
        series[g].present = 0;
    int b = 0;
    for (double batch = 1; batch <= conf->max_batch && b < XMAX_BATCHES; batch *= 2, b++) {
        size_t n_maps;
        if (conf->has_default_mapping) {
            xmapping mp = conf->default_mapping;
            if (mp.micro_batch == 0)
                mp.micro_batch = batch;
            if (mp.prefill_micro_batch == 0)
                mp.prefill_micro_batch = batch;
            if (mp.p == 1 && mp.t != sys.num_chips)
                mp.t = sys.num_chips;
            w->maps[0] = mp;
            n_maps = 1;
            if (r->fixes & ACC_EXPLORE_FIX_KV_CHECK) {
                const xpkg *pkg = sys.srv->pkg;
                double mem = mp.t * mp.p / pkg->num_chips * pkg->total_mem;
                if (mem < sys.model->model_size_byte + batch * (L + G) * sys.model->kv_per_token_byte)
                    n_maps = 0;
            }
        } else {
            n_maps = xsystem_mappings(&sys, batch, L + G, w->maps, w->cap_maps);
            if (n_maps > w->cap_maps) {
                xmapping *grown = realloc(w->maps, n_maps * sizeof *grown);
                if (!grown) {
                    w->failed = 1;
                    return;
                }
                w->maps = grown;
                w->cap_maps = n_maps;
                n_maps = xsystem_mappings(&sys, batch, L + G, w->maps, w->cap_maps);
            }
        }
        double best[XGOAL_COUNT] = {INFINITY, INFINITY, INFINITY};
        for (size_t i = 0; i < n_maps; i++) {
            xperf perf;
            xperf_eval(&sys, &w->maps[i], batch, L, G, &perf);
            for (int g = 0; g < XGOAL_COUNT; g++) {
                double v = goal_value(&perf, (xgoal)g);
                if (v < best[g]) {
                    best[g] = v;
                    series[g].perf[b] = perf;
                    series[g].present |= 1u << b;
                }
            }
        }
        w->points += (double)n_maps;
    }
    size_t group_i = r->sysconf_group[model_i * n_conf + conf_i];
    xgroup *grp = &w->groups[group_i];
    if (!grp->have_valid || index < grp->first_valid_system) {
        grp->have_valid = 1;
        grp->first_valid_system = index;
        grp->max_batch = conf->max_batch;
    }
    for (int g = 0; g < XGOAL_COUNT; g++) {
        for (int k = 0; k < XMAX_BATCHES; k++) {
            if (!(series[g].present & (1u << k)))
                continue;
            double v = goal_value(&series[g].perf[k], (xgoal)g);
            xbest *slot = &grp->best[g][k];
            if (!slot->have || v < slot->value || (v == slot->value && index < slot->system)) {
                slot->have = 1;
                slot->value = v;
                slot->system = index;
                slot->series = series[g];
            }
        }
    }
    for (int k = 0; k < XMAX_BATCHES; k++) {
        if (!(series[XGOAL_TCO].present & (1u << k)))
            continue;
        const xperf *p = &series[XGOAL_TCO].perf[k];
        xpoint pt = {.throughput = p->generate_throughput,
                     .tco_per_mtoken = p->generate_tco_per_token * 1e6,
                     .latency = p->generate_latency / G,
                     .energy_per_token = p->energy_per_token,
                     .batch = p->batch,
                     .system = index,
                     .group = group_i,
                     .mapping = p->mapping};
        if (push_point(w, &pt)) {
            w->failed = 1;
            return;
        }
    }
}

static void *system_worker(void *arg)
{
    sys_worker *w = arg;
    size_t total = w->r->n_systems;
    for (;;) {
        size_t start = atomic_fetch_add(w->next, w->chunk);
        if (start >= total || w->failed)
            return NULL;
        size_t end = start + w->chunk < total ? start + w->chunk : total;
        for (size_t i = start; i < end && !w->failed; i++)
            eval_system(w, i);
    }
}

static acc_status build_groups(xrun *r, acc_error *err)
{
    size_t n_conf = r->in.n_sysconfs;
    r->sysconf_group = acc_calloc(r->in.n_models * n_conf, sizeof *r->sysconf_group, err);
    r->groups = acc_calloc(r->in.n_models * n_conf, sizeof *r->groups, err);
    if (!r->sysconf_group || !r->groups)
        return ACC_ERR_RUNTIME;
    for (size_t m = 0; m < r->in.n_models; m++) {
        for (size_t c = 0; c < n_conf; c++) {
            const double *len = r->in.sysconfs[c].eval_len;
            size_t g = 0;
            while (g < r->n_groups &&
                   !(r->groups[g].model == m && r->groups[g].L == len[0] && r->groups[g].G == len[1]))
                g++;
            if (g == r->n_groups) {
                r->groups[g].model = m;
                r->groups[g].L = len[0];
                r->groups[g].G = len[1];
                r->n_groups++;
            }
            r->sysconf_group[m * n_conf + c] = g;
        }
    }
    return ACC_OK;
}

static void merge_groups(xgroup *into, const xgroup *from, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xgroup *a = &into[i];
        const xgroup *b = &from[i];
        if (b->have_valid && (!a->have_valid || b->first_valid_system < a->first_valid_system)) {
            a->have_valid = 1;
            a->first_valid_system = b->first_valid_system;
            a->max_batch = b->max_batch;
        }
        for (int g = 0; g < XGOAL_COUNT; g++) {
            for (int k = 0; k < XMAX_BATCHES; k++) {
                const xbest *src = &b->best[g][k];
                xbest *dst = &a->best[g][k];
                if (src->have && (!dst->have || src->value < dst->value ||
                                  (src->value == dst->value && src->system < dst->system)))
                    *dst = *src;
            }
        }
    }
}

acc_status xrun_systems(xrun *r, int threads, acc_error *err)
{
    acc_status status = build_groups(r, err);
    if (status)
        return status;
    r->n_systems = r->n_srvs * r->in.n_models * r->in.n_sysconfs;
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    sys_worker *workers = acc_calloc((size_t)threads, sizeof *workers, err);
    if (!workers)
        return ACC_ERR_RUNTIME;
    atomic_size_t next;
    atomic_init(&next, 0);
    size_t chunk = r->n_systems / ((size_t)threads * 16);
    chunk = chunk < 1 ? 1 : chunk > 64 ? 64 : chunk;
    for (int t = 0; t < threads; t++) {
        workers[t].r = r;
        workers[t].next = &next;
        workers[t].chunk = chunk;
        workers[t].groups = calloc(r->n_groups, sizeof(xgroup));
        workers[t].cap_maps = 4096;
        workers[t].maps = malloc(workers[t].cap_maps * sizeof(xmapping));
        if (!workers[t].groups || !workers[t].maps)
            workers[t].failed = 1;
    }
    double start = acc_now_seconds();
    pthread_t tids[256];
    int started[256] = {0};
    for (int t = 1; t < threads; t++)
        started[t] = !workers[t].failed &&
                     pthread_create(&tids[t], NULL, system_worker, &workers[t]) == 0;
    if (!workers[0].failed)
        system_worker(&workers[0]);
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(tids[t], NULL);
    r->seconds = acc_now_seconds() - start;
    r->threads = threads;

    int failed = 0;
    /* a worker thread that could not start took no systems: the shared
     * counter hands them to the others */
    for (int t = 0; t < threads; t++)
        failed |= workers[t].failed;
    size_t total_pts = 0;
    for (int t = 0; t < threads; t++)
        total_pts += workers[t].n_pts;
    if (!failed) {
        r->pts = malloc((total_pts ? total_pts : 1) * sizeof *r->pts);
        if (!r->pts)
            failed = 1;
    }
    for (int t = 0; t < threads; t++) {
        sys_worker *w = &workers[t];
        if (!failed) {
            merge_groups(r->groups, w->groups, r->n_groups);
            if (w->n_pts)
                memcpy(r->pts + r->n_pts, w->pts, w->n_pts * sizeof *w->pts);
            r->n_pts += w->n_pts;
            r->points += w->points;
            r->n_valid_systems += w->valid;
            note_reason(r->invalid_reason[3], sizeof r->invalid_reason[3], w->invalid_reason);
        }
        free(w->groups);
        free(w->pts);
        free(w->maps);
    }
    free(workers);
    if (failed)
        return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory during the system sweep");
    if (r->n_valid_systems == 0)
        return acc_error_set(err, ACC_ERR_INPUT, "no valid system among %zu: %s", r->n_systems,
                             r->invalid_reason[3]);
    xpoints_front(r->pts, &r->n_pts);
    return ACC_OK;
}

static int by_throughput_desc(const void *a, const void *b)
{
    const xpoint *x = a, *y = b;
    if (x->throughput != y->throughput)
        return x->throughput > y->throughput ? -1 : 1;
    if (x->system != y->system)
        return x->system < y->system ? -1 : 1;
    return x->batch < y->batch ? -1 : x->batch > y->batch;
}

void xpoints_front(xpoint *pts, size_t *n)
{
    qsort(pts, *n, sizeof *pts, by_throughput_desc);
    double best_tco = INFINITY, best_lat = INFINITY;
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        xpoint p = pts[i];
        p.on_front = 0;
        if (p.tco_per_mtoken < best_tco) {
            best_tco = p.tco_per_mtoken;
            p.on_front |= 1;
        }
        if (p.latency < best_lat) {
            best_lat = p.latency;
            p.on_front |= 2;
        }
        if (p.on_front)
            pts[kept++] = p;
    }
    *n = kept;
}

void xrun_free(xrun *r)
{
    free(r->chips);
    free(r->pkgs);
    free(r->srvs);
    free(r->groups);
    free(r->sysconf_group);
    free(r->pts);
    xinputs_free(&r->in);
    memset(r, 0, sizeof *r);
}

int xgroup_target_batch(const xgroup *g, xgoal goal)
{
    const int want = 3; /* batch 8 */
    if (g->best[goal][want].have)
        return want;
    for (int k = want - 1; k >= 0; k--)
        if (g->best[goal][k].have)
            return k;
    for (int k = want + 1; k < XMAX_BATCHES; k++)
        if (g->best[goal][k].have)
            return k;
    return -1;
}
