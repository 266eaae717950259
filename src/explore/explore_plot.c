/*
 * explore_plot.c — Pareto plots as self-contained SVG (no gnuplot needed):
 * decode throughput (tokens/s, log x) against TCO per million output tokens
 * or against per-token latency (log y).  Front points are joined by a line;
 * other kept points are drawn faint.
 */
#include "explore/explore_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 720.0
#define H 480.0
#define LEFT 80.0
#define RIGHT 20.0
#define TOP 40.0
#define BOTTOM 60.0

static double axis_y(const xpoint *p, int latency_axis)
{
    return latency_axis ? p->latency * 1e3 : p->tco_per_mtoken;
}

static void log_range(double lo, double hi, double *a, double *b)
{
    *a = floor(log10(lo));
    *b = ceil(log10(hi));
    if (*b <= *a)
        *b = *a + 1;
}

acc_status xplot_write_svg(const xrun *r, int latency_axis, const char *path, acc_error *err)
{
    double xlo = INFINITY, xhi = 0, ylo = INFINITY, yhi = 0;
    for (size_t i = 0; i < r->n_pts; i++) {
        const xpoint *p = &r->pts[i];
        double y = axis_y(p, latency_axis);
        if (!(p->throughput > 0) || !(y > 0) || !isfinite(y) || !isfinite(p->throughput))
            continue;
        xlo = fmin(xlo, p->throughput);
        xhi = fmax(xhi, p->throughput);
        ylo = fmin(ylo, y);
        yhi = fmax(yhi, y);
    }
    size_t cap = 8192 + r->n_pts * 160;
    char *svg = malloc(cap);
    if (!svg)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path);
    size_t len = 0;
#define OUT(...) (len < cap ? (void)(len += (size_t)snprintf(svg + len, cap - len, __VA_ARGS__)) : (void)0)
    OUT("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
        "fill=\"white\"/>\n",
        W, H);
    OUT("<text x=\"%.0f\" y=\"24\" font-size=\"15\">%s: throughput vs %s</text>\n", LEFT,
        r->in.hw_name[0] ? r->in.hw_name : "explore",
        latency_axis ? "latency per token" : "TCO per token");
    if (xhi > 0) {
        double x0, x1, y0, y1;
        log_range(xlo, xhi, &x0, &x1);
        log_range(ylo, yhi, &y0, &y1);
        double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
        OUT("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
            "stroke=\"black\"/>\n",
            LEFT, TOP, pw, ph);
        for (double e = x0; e <= x1; e++) {
            double x = LEFT + (e - x0) / (x1 - x0) * pw;
            OUT("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">1e%.0f</text>\n",
                x, TOP, x, TOP + ph, x, TOP + ph + 16, e);
        }
        for (double e = y0; e <= y1; e++) {
            double y = TOP + ph - (e - y0) / (y1 - y0) * ph;
            OUT("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">1e%.0f</text>\n",
                LEFT, y, LEFT + pw, y, LEFT - 6, y + 4, e);
        }
        OUT("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">decode throughput "
            "(tokens/s)</text>\n",
            LEFT + pw / 2, H - 18);
        OUT("<text x=\"18\" y=\"%.0f\" transform=\"rotate(-90 18 %.0f)\" "
            "text-anchor=\"middle\">%s</text>\n",
            TOP + ph / 2, TOP + ph / 2, latency_axis ? "ms per token" : "$ per million tokens");
        unsigned bit = latency_axis ? 2u : 1u;
        OUT("<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"");
        for (size_t i = 0; i < r->n_pts; i++) {
            const xpoint *p = &r->pts[i];
            double y = axis_y(p, latency_axis);
            if (!(p->on_front & bit) || !(y > 0) || !(p->throughput > 0))
                continue;
            OUT("%.1f,%.1f ", LEFT + (log10(p->throughput) - x0) / (x1 - x0) * pw,
                TOP + ph - (log10(y) - y0) / (y1 - y0) * ph);
        }
        OUT("\"/>\n");
        for (size_t i = 0; i < r->n_pts; i++) {
            const xpoint *p = &r->pts[i];
            double y = axis_y(p, latency_axis);
            if (!(y > 0) || !(p->throughput > 0) || !isfinite(y))
                continue;
            OUT("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                LEFT + (log10(p->throughput) - x0) / (x1 - x0) * pw,
                TOP + ph - (log10(y) - y0) / (y1 - y0) * ph,
                (p->on_front & bit) ? "#c0392b" : "#bbb");
        }
    } else {
        OUT("<text x=\"%.0f\" y=\"%.0f\">no points</text>\n", LEFT, H / 2);
    }
    OUT("</svg>\n");
#undef OUT
    acc_status status = len >= cap ? acc_error_set(err, ACC_ERR_RUNTIME, "%s: plot too large", path)
                                   : acc_write_file_atomic(path, svg, len, err);
    free(svg);
    return status;
}
