/*
 * explore.h — analytical performance and TCO model of LLM inference on
 * described hardware (the `accinf explore` verb).
 *
 * Reads reallm v1's inputs unchanged (hardware, constants, model, system
 * YAML; lists are sweeps), explores chip -> package -> server -> system
 * designs, evaluates every (design, mapping, batch) point and writes
 * HW.csv, MODEL.csv, a JSON summary and Pareto plots.  The defects of
 * reallm v1 that docs/EXPLORE.md lists are fixed by default; each fix is a
 * flag so the original numbers can be reproduced (ACC_EXPLORE_FIX_NONE).
 */
#ifndef ACCINF_EXPLORE_H
#define ACCINF_EXPLORE_H

#include "accinf/base.h"

#include <stddef.h>
#include <stdio.h>

/* Defect fixes relative to reallm v1 (docs/EXPLORE.md, "Defects fixed"). */
enum {
    ACC_EXPLORE_FIX_TCO_BATCH = 1u << 0, /* TCO/token divided by the batch once, not twice */
    ACC_EXPLORE_FIX_GQA = 1u << 1,       /* GQA/MQA shrink KV traffic and the QKV GEMM */
    ACC_EXPLORE_FIX_CAUSAL = 1u << 2,    /* prefill attention FLOPs are causal (~half) */
    ACC_EXPLORE_FIX_GLU = 1u << 3,       /* GLU weights in FLOP and energy counts */
    ACC_EXPLORE_FIX_D_HACK = 1u << 4,    /* no all-to-all special case keyed on d_model */
    ACC_EXPLORE_FIX_BYTES = 1u << 5,     /* traffic uses the model's bytes per value */
    ACC_EXPLORE_FIX_KV_CHECK = 1u << 6,  /* default mappings must hold the KV cache too */
    ACC_EXPLORE_FIX_NONE = 0u,
    ACC_EXPLORE_FIX_ALL = (1u << 7) - 1u,
};

typedef struct acc_explore_options {
    const char *hw_path;        /* required */
    const char *model_path;     /* required */
    const char *constants_path; /* NULL: reallm's 7nm defaults */
    const char *system_path;    /* NULL: reallm's sys_default */
    const char *out_dir;        /* NULL: "outputs/HW_NAME" */
    double max_points;          /* refuse larger sweeps (0 = 1e6) */
    int threads;                /* 0: all online CPUs */
    unsigned fixes;             /* ACC_EXPLORE_FIX_* */
    int plots;                  /* write Pareto plots (gnuplot on PATH: SVG + PNG; else SVG) */
} acc_explore_options;

typedef struct acc_explore_summary {
    char hw_name[64], model_name[64];
    char hw_csv[1024], model_csv[1024], json_path[1024];
    size_t chips, packages, servers;   /* valid designs at each level */
    size_t systems, valid_systems;
    double points;                     /* (design, mapping, batch) points evaluated */
    double seconds;                    /* wall time of the system sweep */
    double points_per_minute;
    int threads;
    int plots_gnuplot;     /* the Pareto plots came from gnuplot (SVG + PNG) */
    char plot_note[256];   /* one line for stderr when they did not, or not fully */
    /* the hardware file's `Calibration:` line ("" when absent), and whether
     * it says the efficiency factors are uncalibrated (the CLI warns) */
    char calibration[256];
    int uncalibrated;
} acc_explore_summary;

void acc_explore_options_init(acc_explore_options *opts);

/* Runs the whole exploration and writes the outputs. */
acc_status acc_explore_run(const acc_explore_options *opts, acc_explore_summary *summary,
                           acc_error *err);

/* Parses the four YAML inputs from memory and checks them (no evaluation);
 * used by the fuzzer and by `explore --check`.  Any text may be NULL except
 * hw and model. */
acc_status acc_explore_check_text(const char *hw, size_t hw_size, const char *model,
                                  size_t model_size, const char *constants,
                                  size_t constants_size, const char *system, size_t system_size,
                                  double max_points, acc_error *err);

/* ---- calibration (`accinf explore calibrate`) ------------------------------ */

#define ACC_EXPLORE_CALIBRATE_MAX_HW 16
#define ACC_EXPLORE_CALIBRATE_FACTORS 9 /* in the order docs/EXPLORE.md lists them */

typedef struct acc_explore_calibrate_options {
    const char *measured_path;     /* required: points JSON (docs/EXPLORE.md, "Calibration") */
    const char *const *hw_paths;   /* hardware YAML files points may name (may be 0) */
    size_t n_hw;
    const char *fit;               /* "compute,bandwidth,..."; NULL: the file's "fit", else all */
    int no_fit;                    /* predict with the files' factors, fit nothing */
    int json;                      /* report as JSON */
} acc_explore_calibrate_options;

typedef struct acc_explore_calibration {
    size_t n_calibrate, n_test;
    double mape_calibrate, mape_test, mape_all; /* percent; NAN without points */
    double max_test_error;                      /* largest |error| of a test point, percent */
    size_t n_hardware;
    char hardware[ACC_EXPLORE_CALIBRATE_MAX_HW][64];
    double factors[ACC_EXPLORE_CALIBRATE_MAX_HW][ACC_EXPLORE_CALIBRATE_FACTORS];
    /* per hardware (same index as `hardware`): points and MAPE of each split */
    size_t n_calibrate_hw[ACC_EXPLORE_CALIBRATE_MAX_HW], n_test_hw[ACC_EXPLORE_CALIBRATE_MAX_HW];
    double mape_calibrate_hw[ACC_EXPLORE_CALIBRATE_MAX_HW]; /* percent; NAN without points */
    double mape_test_hw[ACC_EXPLORE_CALIBRATE_MAX_HW];
} acc_explore_calibration;

void acc_explore_calibrate_options_init(acc_explore_calibrate_options *opts);

/* Fits each hardware's efficiency factors on the points of the "calibrate"
 * split, predicts every point and writes the report to out (may be NULL). */
acc_status acc_explore_calibrate(const acc_explore_calibrate_options *opts, FILE *out,
                                 acc_explore_calibration *res, acc_error *err);

#endif
