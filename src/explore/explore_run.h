/*
 * explore_run.h — the state of one exploration: valid designs at each level,
 * and for every (model, eval_len) group the best system per batch and goal,
 * which is what reallm's MODEL.csv reports; plus the points that feed the
 * Pareto fronts.  The sweep fills it from several threads and merges.
 */
#ifndef ACCINF_EXPLORE_RUN_H
#define ACCINF_EXPLORE_RUN_H

#include "explore/explore_model.h"

#define XMAX_BATCHES 16 /* batches 1, 2, 4, ... 32768 */

typedef enum xgoal { XGOAL_PREFILL_LAT = 0, XGOAL_DECODE_LAT, XGOAL_TCO, XGOAL_COUNT } xgoal;

/* One system's best point per batch for one goal. */
typedef struct xseries {
    unsigned present; /* bit b: batch 2^b evaluated */
    xperf perf[XMAX_BATCHES];
} xseries;

/* The system that is best at one batch for one goal, with its whole series. */
typedef struct xbest {
    int have;
    double value;
    size_t system;
    xseries series;
} xbest;

typedef struct xgroup {
    size_t model;
    double L, G;
    int have_valid;
    size_t first_valid_system; /* its max_batch bounds the CSV rows, as in reallm */
    double max_batch;
    xbest best[XGOAL_COUNT][XMAX_BATCHES];
} xgroup;

/* A tco-optimal point of one system at one batch (for the Pareto fronts). */
typedef struct xpoint {
    double throughput;     /* output tokens/s, whole system */
    double tco_per_mtoken; /* $ per million output tokens */
    double latency;        /* seconds per output token of one sequence */
    double energy_per_token;
    double batch;
    size_t system, group;
    xmapping mapping;
    unsigned char on_front; /* bit 0: throughput/TCO, bit 1: throughput/latency */
} xpoint;

typedef struct xrun {
    xinputs in;
    unsigned fixes;
    xchip *chips;
    size_t n_chips;
    xpkg *pkgs;
    size_t n_pkgs;
    xserver *srvs;
    size_t n_srvs;
    char invalid_reason[4][200]; /* first reason at chip, package, server, system level */
    size_t n_systems, n_valid_systems;
    double points, seconds;
    int threads;
    xgroup *groups;
    size_t n_groups;
    size_t *sysconf_group; /* [model * n_sysconfs + sysconf] -> group */
    xpoint *pts;
    size_t n_pts;
} xrun;

/* System index <-> (server, model, sysconf). */
static inline size_t xrun_system_index(const xrun *r, size_t srv, size_t model, size_t conf)
{
    return (srv * r->in.n_models + model) * r->in.n_sysconfs + conf;
}

acc_status xrun_hardware(xrun *r, acc_error *err);
acc_status xrun_systems(xrun *r, int threads, acc_error *err);
void xrun_free(xrun *r);
/* Keeps only points on one of the two fronts (sorted by throughput). */
void xpoints_front(xpoint *pts, size_t *n);

/* Output writers (explore_csv.c, explore_json.c, explore_plot.c). */
acc_status xcsv_write_hw(const xrun *r, const char *path, acc_error *err);
acc_status xcsv_write_model(const xrun *r, size_t model, const char *path, acc_error *err);
acc_status xjson_write_summary(const xrun *r, const acc_explore_summary *s, const char *path,
                               acc_error *err);
acc_status xplot_write_svg(const xrun *r, int latency_axis, const char *path, acc_error *err);
/* Shortest text that reads back as the same double. */
void xfmt_double(char *buf, size_t cap, double v);
/* Which system a goal's CSV rows come from: reallm picks the best system at
 * batch 8; if no system has batch 8 we take the nearest batch that exists. */
int xgroup_target_batch(const xgroup *g, xgoal goal);

#endif
