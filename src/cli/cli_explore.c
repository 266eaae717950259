/*
 * cli_explore.c — `accinf explore`: analytical performance and TCO of LLM
 * inference on described hardware, from reallm v1's YAML inputs.  Prints a
 * short report (or the JSON summary with --json) and writes HW.csv,
 * MODEL.csv, summary.json and Pareto SVGs into the output folder.
 */
#include "cli_verbs.h"

#include "accinf/explore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: accinf explore -hw HW.yaml -m MODEL.yaml [-c CONSTANTS.yaml] [-s SYSTEM.yaml]\n"
    "                      [-o OUTDIR] [--max-points N] [--threads T] [--json]\n"
    "                      [--reallm-compat] [--no-plots]\n"
    "       accinf explore calibrate --measured FILE.json [-hw HW.yaml ...] [--fit LIST]\n"
    "                      [--no-fit] [--json] [--max-test-mape PCT]\n"
    "\n"
    "Explores chip -> package -> server -> system designs described in reallm v1's\n"
    "input format (a list is a sweep; associated_explore zips lists) and evaluates\n"
    "every (design, mapping, batch) point.  Writes OUTDIR/HW.csv, OUTDIR/MODEL.csv,\n"
    "OUTDIR/summary.json and OUTDIR/pareto_{tco,latency}.svg (default OUTDIR:\n"
    "outputs/HW); with gnuplot on PATH the plots are rendered by gnuplot (also\n"
    ".png and the .gp script), else written as accinf's own SVG (a note says so).\n"
    "\n"
    "  -c FILE           technology constants (default: reallm's 7nm_default.yaml)\n"
    "  -s FILE           system: servers, mapping, workload (default: sys_default.yaml);\n"
    "                    the workload may give input_len / output_len distributions and\n"
    "                    continuous_batching (docs/EXPLORE.md)\n"
    "  --max-points N    refuse sweeps of more than N design points (default 1000000)\n"
    "  --threads T       worker threads (default: all CPUs)\n"
    "  --json            print the JSON summary on stdout\n"
    "  --reallm-compat   keep reallm v1's defects (reproduces its numbers exactly);\n"
    "                    docs/EXPLORE.md lists them\n"
    "  --no-plots        skip the Pareto plots\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "accinf: error: explore: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return 2;
}

static int parse_count(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || !end || *end || end == text || !(v >= 1) || v > 1e15 || v != (double)(long long)v)
        return -1;
    *out = v;
    return 0;
}

static int print_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

static const char CALIBRATE_USAGE[] =
    "usage: accinf explore calibrate --measured FILE.json [-hw HW.yaml ...] [--fit LIST]\n"
    "                                [--no-fit] [--json] [--max-test-mape PCT]\n"
    "\n"
    "Fits each hardware's efficiency factors (the hardware file's Efficiency section)\n"
    "to the measured points of the \"calibrate\" split by least squares on relative\n"
    "errors, then prints every point's prediction and error and the MAPE of the\n"
    "calibrate and test splits.  FILE.json is a list of points, {\"points\": [...]},\n"
    "or the output of `accinf bench --json` with \"hardware\" and \"model_config\"\n"
    "added (docs/EXPLORE.md, \"Calibration\").\n"
    "\n"
    "  -hw FILE             a hardware file points may name by its Name (repeatable)\n"
    "  --fit LIST           factors to fit: compute, bandwidth, kv_bandwidth, io,\n"
    "                       softness, layer, prefill, decode, collective, all\n"
    "                       (default: the file's \"fit\" object, else all)\n"
    "  --no-fit             predict with the hardware files' factors as they are\n"
    "  --json               print the report as JSON\n"
    "  --max-test-mape PCT  exit 1 when the test split's MAPE is above PCT\n";

static int calibrate_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "accinf: error: explore calibrate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", CALIBRATE_USAGE);
    return 2;
}

static int cli_explore_calibrate(int argc, char **argv)
{
    acc_explore_calibrate_options opts;
    acc_explore_calibrate_options_init(&opts);
    const char *hw[ACC_EXPLORE_CALIBRATE_MAX_HW];
    size_t n_hw = 0;
    double max_mape = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(CALIBRATE_USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            opts.json = 1;
        } else if (!strcmp(a, "--no-fit")) {
            opts.no_fit = 1;
        } else if (!strcmp(a, "--measured") || !strcmp(a, "-hw") || !strcmp(a, "--hw") ||
                   !strcmp(a, "--fit") || !strcmp(a, "--max-test-mape")) {
            if (!next)
                return calibrate_error("%s needs a value", a);
            i++;
            if (!strcmp(a, "--measured")) {
                opts.measured_path = next;
            } else if (!strcmp(a, "--fit")) {
                opts.fit = next;
            } else if (!strcmp(a, "--max-test-mape")) {
                char *end = NULL;
                errno = 0;
                max_mape = strtod(next, &end);
                if (errno || !end || *end || end == next || !(max_mape >= 0))
                    return calibrate_error("--max-test-mape: expected a percentage, got '%s'",
                                           next);
            } else {
                if (n_hw == ACC_EXPLORE_CALIBRATE_MAX_HW)
                    return calibrate_error("%s", "too many -hw files");
                hw[n_hw++] = next;
            }
        } else {
            return calibrate_error("unknown argument '%s'", a);
        }
    }
    if (!opts.measured_path)
        return calibrate_error("%s", "--measured FILE.json is required");
    opts.hw_paths = hw;
    opts.n_hw = n_hw;
    acc_explore_calibration res;
    acc_error err = {0};
    acc_status status = acc_explore_calibrate(&opts, stdout, &res, &err);
    if (status) {
        fprintf(stderr, "accinf: error: %s\n", err.message);
        return (int)status;
    }
    if (max_mape >= 0 && res.n_test > 0 && !(res.mape_test <= max_mape)) {
        fprintf(stderr, "accinf: error: test MAPE %.2f%% is above --max-test-mape %g%%\n",
                res.mape_test, max_mape);
        return 1;
    }
    return 0;
}

int cli_explore_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "calibrate"))
        return cli_explore_calibrate(argc - 1, argv + 1);
    acc_explore_options opts;
    acc_explore_options_init(&opts);
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--reallm-compat")) {
            opts.fixes = ACC_EXPLORE_FIX_NONE;
        } else if (!strcmp(a, "--no-plots")) {
            opts.plots = 0;
        } else if (!strcmp(a, "-hw") || !strcmp(a, "--hw") || !strcmp(a, "--hw-config") ||
                   !strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--model-config") ||
                   !strcmp(a, "-c") || !strcmp(a, "--constants") || !strcmp(a, "-s") ||
                   !strcmp(a, "--system") || !strcmp(a, "--sys-config") || !strcmp(a, "-o") ||
                   !strcmp(a, "--outputs-dir") || !strcmp(a, "--out") ||
                   !strcmp(a, "--max-points") || !strcmp(a, "--threads")) {
            if (!next)
                return usage_error("%s needs a value", a);
            i++;
            if (!strcmp(a, "-hw") || !strncmp(a, "--hw", 4))
                opts.hw_path = next;
            else if (!strcmp(a, "-m") || !strncmp(a, "--model", 7))
                opts.model_path = next;
            else if (!strcmp(a, "-c") || !strcmp(a, "--constants"))
                opts.constants_path = next;
            else if (!strcmp(a, "-s") || !strncmp(a, "--sys", 5))
                opts.system_path = next;
            else if (!strcmp(a, "-o") || !strcmp(a, "--outputs-dir") || !strcmp(a, "--out"))
                opts.out_dir = next;
            else if (!strcmp(a, "--max-points")) {
                if (parse_count(next, &opts.max_points))
                    return usage_error("--max-points: expected a whole number >= 1, got '%s'", next);
            } else {
                double t;
                if (parse_count(next, &t) || t > 256)
                    return usage_error("--threads: expected 1 to 256, got '%s'", next);
                opts.threads = (int)t;
            }
        } else {
            return usage_error("unknown argument '%s'", a);
        }
    }
    if (!opts.hw_path || !opts.model_path)
        return usage_error("%s", "-hw HW.yaml and -m MODEL.yaml are required");
    acc_explore_summary summary;
    acc_error err = {0};
    acc_status status = acc_explore_run(&opts, &summary, &err);
    if (status) {
        fprintf(stderr, "accinf: error: %s\n", err.message);
        return (int)status;
    }
    if (summary.plot_note[0])
        fprintf(stderr, "accinf: note: %s\n", summary.plot_note);
    if (summary.uncalibrated)
        fprintf(stderr,
                "accinf: warning: %s: efficiency factors are UNCALIBRATED (Calibration: %s): "
                "its latencies, throughputs and costs are not validated against measurements\n",
                summary.hw_name, summary.calibration);
    if (json) {
        if (print_file(summary.json_path)) {
            fprintf(stderr, "accinf: error: %s: cannot read back the summary\n", summary.json_path);
            return 3;
        }
        return 0;
    }
    printf("hardware %s%s: %zu valid chips, %zu packages, %zu servers\n", summary.hw_name,
           summary.uncalibrated ? " (UNCALIBRATED efficiency factors)" : "", summary.chips,
           summary.packages, summary.servers);
    printf("model %s: %zu systems (%zu valid), %.0f points in %.3f s on %d threads "
           "(%.3g points/minute)\n",
           summary.model_name, summary.systems, summary.valid_systems, summary.points,
           summary.seconds, summary.threads, summary.points_per_minute);
    printf("wrote %s\nwrote %s\nwrote %s\n", summary.hw_csv, summary.model_csv,
           summary.json_path);
    return 0;
}
