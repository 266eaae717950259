/*
 * explore_gnuplot.c — Pareto plots through gnuplot when it is on PATH: a
 * gnuplot script with the points inline (pareto_*.gp, kept so the plot can
 * be re-rendered or restyled), rendered to SVG (svg terminal) and PNG
 * (pngcairo, when this gnuplot has it).  gnuplot runs without a shell, its
 * output silenced; any failure falls back to explore_plot.c's own SVG.
 */
#include "explore/explore_run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int xgnuplot_find(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return -1;
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && len + 9 < cap) {
            snprintf(out, cap, "%.*s/gnuplot", (int)len, path);
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
                return 0;
        }
        path += len + (end ? 1 : 0);
    }
    return -1;
}

/* A path as a gnuplot single-quoted string ('' stands for a quote). */
static void quote(FILE *f, const char *text)
{
    fputc('\'', f);
    for (const char *c = text; *c; c++) {
        if (*c == '\'')
            fputc('\'', f);
        fputc(*c, f);
    }
    fputc('\'', f);
}

static int run_gnuplot(const char *exe, const char *setup, const char *script)
{
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions))
        return -1;
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)"gnuplot", (char *)"-e", (char *)setup, (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int nonempty(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

acc_status xplot_write_gnuplot(const xrun *r, int latency_axis, const char *exe,
                               const char *stem, int *png, acc_error *err)
{
    char script[1100], svg[1100], pngp[1100];
    snprintf(script, sizeof script, "%s.gp", stem);
    snprintf(svg, sizeof svg, "%s.svg", stem);
    snprintf(pngp, sizeof pngp, "%s.png", stem);
    FILE *f = fopen(script, "w");
    if (!f)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot write (%s)", script,
                             strerror(errno));
    unsigned bit = latency_axis ? 2u : 1u;
    fprintf(f, "# Pareto plot written by accinf explore; render with e.g.\n"
               "#   gnuplot -e \"set terminal pngcairo size 900,600; set output 'x.png'\" "
               "THIS.gp\n");
    fprintf(f, "set title \"%s: decode throughput vs %s\" noenhanced\n",
            r->in.hw_name[0] ? r->in.hw_name : "explore",
            latency_axis ? "latency per output token" : "TCO per output token");
    fprintf(f, "set xlabel 'decode throughput (output tokens/s, whole system)'\n");
    fprintf(f, "set ylabel '%s'\n",
            latency_axis ? "latency per output token (ms)" : "TCO ($ per million output tokens)");
    fprintf(f, "set logscale xy\nset grid xtics ytics mxtics mytics lc rgb '#dddddd'\n"
               "set format x '10^{%%L}'\nset format y '10^{%%L}'\n"
               "set key %s box opaque\n",
            latency_axis ? "top left" : "top right");
    size_t n_front = 0, n_other = 0;
    fprintf(f, "$front << EOD\n");
    for (size_t i = r->n_pts; i-- > 0;) { /* by increasing throughput */
        const xpoint *p = &r->pts[i];
        double y = latency_axis ? p->latency * 1e3 : p->tco_per_mtoken;
        if (!(p->on_front & bit) || !(y > 0) || !isfinite(y) || !(p->throughput > 0))
            continue;
        fprintf(f, "%.9g %.9g %.0f\n", p->throughput, y, p->batch);
        n_front++;
    }
    fprintf(f, "EOD\n$other << EOD\n");
    for (size_t i = 0; i < r->n_pts; i++) {
        const xpoint *p = &r->pts[i];
        double y = latency_axis ? p->latency * 1e3 : p->tco_per_mtoken;
        if ((p->on_front & bit) || !(y > 0) || !isfinite(y) || !(p->throughput > 0))
            continue;
        fprintf(f, "%.9g %.9g\n", p->throughput, y);
        n_other++;
    }
    fprintf(f, "EOD\n");
    if (n_front == 0)
        fprintf(f, "set label 'no points' at graph 0.5, graph 0.5 center\n"
                   "plot [1:10] [1:10] NaN notitle\n");
    else
        fprintf(f, "plot %s$front using 1:2 with linespoints pt 7 ps 0.8 lw 2 "
                   "lc rgb '#c0392b' title 'Pareto front (%zu points)'\n",
                n_other ? "$other using 1:2 with points pt 6 ps 0.6 lc rgb '#999999' "
                          "title 'on the other front only', "
                        : "",
                n_front);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: write failed", script);
    char setup[2600];
    FILE *m = fmemopen(setup, sizeof setup, "w");
    if (!m)
        return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
    fputs("set terminal svg size 900,600 dynamic font 'sans,13' background rgb 'white'; "
          "set output ",
          m);
    quote(m, svg);
    fputc('\0', m);
    fclose(m);
    remove(svg);
    if (run_gnuplot(exe, setup, script) || !nonempty(svg))
        return acc_error_set(err, ACC_ERR_RUNTIME, "gnuplot failed on %s", script);
    m = fmemopen(setup, sizeof setup, "w");
    if (!m)
        return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
    fputs("set terminal pngcairo size 900,600 font 'sans,11' background rgb 'white'; "
          "set output ",
          m);
    quote(m, pngp);
    fputc('\0', m);
    fclose(m);
    remove(pngp);
    *png = run_gnuplot(exe, setup, script) == 0 && nonempty(pngp);
    if (!*png)
        remove(pngp);
    return ACC_OK;
}
