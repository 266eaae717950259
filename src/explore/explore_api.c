/*
 * explore_api.c — acc_explore_run: read the input files, explore hardware,
 * sweep systems, and write HW.csv, MODEL.csv, summary.json and the Pareto
 * SVGs into the output folder (reallm's layout: outputs/HW_NAME/ by default).
 */
#include "explore/explore_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void acc_explore_options_init(acc_explore_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->max_points = 1e6;
    opts->fixes = ACC_EXPLORE_FIX_ALL;
    opts->plots = 1;
}

/* File name without folders and extension ("a/b/hw_example.yaml" -> "hw_example"). */
static void stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n == 0)
        n = strlen(base);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

static acc_status make_dirs(const char *path, acc_error *err)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: output path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot create folder: %s", buf,
                                     strerror(errno));
            *p = saved;
            if (!saved)
                break;
        }
    }
    if (!acc_path_is_dir(path))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: not a folder", path);
    return ACC_OK;
}

static acc_status read_input(const char *path, char **text, size_t *size, acc_error *err)
{
    *text = NULL;
    *size = 0;
    if (!path)
        return ACC_OK;
    return acc_read_file(path, text, size, err);
}

static acc_status out_path(char *buf, size_t cap, const char *dir, const char *name,
                           acc_error *err)
{
    if (snprintf(buf, cap, "%s/%s", dir, name) >= (int)cap)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: output path too long", dir);
    return ACC_OK;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* Pareto plots through gnuplot when it is on PATH and works, else as our
 * own SVG; summary->plot_note says which (for the CLI's stderr). */
static acc_status write_plots(const xrun *run, const char *dir, acc_explore_summary *summary,
                              acc_error *err)
{
    static const char *const stems[2] = {"pareto_tco", "pareto_latency"};
    char exe[1024], path[1024], name[64];
    int have = xgnuplot_find(exe, sizeof exe) == 0;
    int png = 1;
    acc_status status;
    for (int axis = 0; axis < 2 && have; axis++) {
        int made = 0;
        acc_error sub = {0};
        if ((status = out_path(path, sizeof path, dir, stems[axis], err)))
            return status;
        if (xplot_write_gnuplot(run, axis, exe, path, &made, &sub)) {
            snprintf(summary->plot_note, sizeof summary->plot_note,
                     "%.180s; wrote the Pareto plots as accinf's own SVG", sub.message);
            have = 0;
        }
        png &= made;
    }
    if (have) {
        summary->plots_gnuplot = 1;
        if (!png)
            snprintf(summary->plot_note, sizeof summary->plot_note,
                     "gnuplot has no pngcairo terminal: Pareto plots as SVG only");
        return ACC_OK;
    }
    if (!summary->plot_note[0])
        snprintf(summary->plot_note, sizeof summary->plot_note,
                 "gnuplot not found on PATH; wrote the Pareto plots as accinf's own SVG");
    for (int axis = 0; axis < 2; axis++) {
        snprintf(name, sizeof name, "%s.svg", stems[axis]);
        if ((status = out_path(path, sizeof path, dir, name, err)) ||
            (status = xplot_write_svg(run, axis, path, err)))
            return status;
    }
    return ACC_OK;
}

acc_status acc_explore_run(const acc_explore_options *opts, acc_explore_summary *summary,
                           acc_error *err)
{
    memset(summary, 0, sizeof *summary);
    if (!opts->hw_path || !opts->model_path)
        return acc_error_set(err, ACC_ERR_INPUT, "explore: -hw and -m are required");
    char *texts[4] = {0};
    size_t sizes[4] = {0};
    const char *paths[4] = {opts->hw_path, opts->model_path, opts->constants_path,
                            opts->system_path};
    acc_status status = ACC_OK;
    for (int i = 0; i < 4 && !status; i++)
        status = read_input(paths[i], &texts[i], &sizes[i], err);
    xrun run;
    memset(&run, 0, sizeof run);
    if (!status) {
        xinput_text t[4];
        for (int i = 0; i < 4; i++)
            t[i] = (xinput_text){paths[i] ? paths[i] : "", texts[i], sizes[i]};
        status = xinputs_load(&run.in, &t[0], &t[1], &t[2], &t[3],
                              opts->max_points > 0 ? opts->max_points : 1e6, err);
    }
    for (int i = 0; i < 4; i++)
        free(texts[i]);
    if (status) {
        xinputs_free(&run.in);
        return status;
    }
    run.fixes = opts->fixes;
    run.threads = opts->threads > 0 ? opts->threads : online_cpus();
    stem(opts->hw_path, summary->hw_name, sizeof summary->hw_name);
    snprintf(summary->model_name, sizeof summary->model_name, "%s", run.in.models[0].name);
    snprintf(summary->calibration, sizeof summary->calibration, "%s", run.in.hw_calibration);
    summary->uncalibrated = xcalibration_is_uncalibrated(run.in.hw_calibration);

    char dir[900];
    if (opts->out_dir)
        snprintf(dir, sizeof dir, "%s", opts->out_dir);
    else
        snprintf(dir, sizeof dir, "outputs/%s", summary->hw_name);
    char name[200], path[1024];
    if ((status = xrun_hardware(&run, err)) || (status = make_dirs(dir, err)))
        goto done;
    snprintf(name, sizeof name, "%s.csv", summary->hw_name);
    if ((status = out_path(summary->hw_csv, sizeof summary->hw_csv, dir, name, err)) ||
        (status = xcsv_write_hw(&run, summary->hw_csv, err)))
        goto done;
    if ((status = xrun_systems(&run, run.threads, err)))
        goto done;
    for (size_t m = 0; m < run.in.n_models; m++) {
        if (run.in.n_models == 1)
            snprintf(name, sizeof name, "%s.csv", run.in.models[m].name);
        else
            snprintf(name, sizeof name, "%s-%zu.csv", run.in.models[m].name, m);
        if ((status = out_path(path, sizeof path, dir, name, err)) ||
            (status = xcsv_write_model(&run, m, path, err)))
            goto done;
        if (m == 0)
            snprintf(summary->model_csv, sizeof summary->model_csv, "%s", path);
    }
    summary->chips = run.n_chips;
    summary->packages = run.n_pkgs;
    summary->servers = run.n_srvs;
    summary->systems = run.n_systems;
    summary->valid_systems = run.n_valid_systems;
    summary->points = run.points;
    summary->seconds = run.seconds;
    summary->threads = run.threads;
    summary->points_per_minute = run.seconds > 0 ? run.points / run.seconds * 60 : 0;
    if (opts->plots && (status = write_plots(&run, dir, summary, err)))
        goto done;
    if ((status = out_path(summary->json_path, sizeof summary->json_path, dir, "summary.json",
                           err)) ||
        (status = xjson_write_summary(&run, summary, summary->json_path, err)))
        goto done;
done:
    xrun_free(&run);
    return status;
}
