/*
 * explore_lsq.c — a small bounded Levenberg-Marquardt solver for the
 * calibration fit (a handful of parameters, tens of residuals): the
 * Jacobian by forward differences, Marquardt's scaling by diag(J^T J) so
 * that parameters of very different magnitudes (efficiencies near 1,
 * overheads near 1e-5 s) step alike, and steps projected onto the bounds.
 */
#include "explore/explore_calibrate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int xlsq_linear_solve(double *a, double *b, size_t n)
{
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(a[r * n + col]) > fabs(a[piv * n + col]))
                piv = r;
        if (!(fabs(a[piv * n + col]) > 0))
            return -1;
        if (piv != col) {
            for (size_t c = 0; c < n; c++) {
                double t = a[col * n + c];
                a[col * n + c] = a[piv * n + c];
                a[piv * n + c] = t;
            }
            double t = b[col];
            b[col] = b[piv];
            b[piv] = t;
        }
        for (size_t r = col + 1; r < n; r++) {
            double f = a[r * n + col] / a[col * n + col];
            for (size_t c = col; c < n; c++)
                a[r * n + c] -= f * a[col * n + c];
            b[r] -= f * b[col];
        }
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t c = i + 1; c < n; c++)
            s -= a[i * n + c] * b[c];
        b[i] = s / a[i * n + i];
    }
    return 0;
}

static double half_norm2(const double *r, size_t m)
{
    double s = 0;
    for (size_t i = 0; i < m; i++)
        s += r[i] * r[i];
    return 0.5 * s;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

acc_status xlsq_solve(const xlsq_problem *p, double *x, xlsq_report *rep, acc_error *err)
{
    size_t n = p->n_params, m = p->n_resid;
    memset(rep, 0, sizeof *rep);
    if (n == 0 || n > XLSQ_MAX_PARAMS || m == 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "least squares: %zu parameters and %zu residuals (need 1..%d and 1+)",
                             n, m, XLSQ_MAX_PARAMS);
    double *r = calloc(m, sizeof *r), *r_new = calloc(m, sizeof *r_new);
    double *jac = calloc(m * n, sizeof *jac);
    if (!r || !r_new || !jac) {
        free(r);
        free(r_new);
        free(jac);
        return acc_error_set(err, ACC_ERR_RUNTIME, "least squares: out of memory");
    }
    double a[XLSQ_MAX_PARAMS * XLSQ_MAX_PARAMS], m_mat[XLSQ_MAX_PARAMS * XLSQ_MAX_PARAMS];
    double g[XLSQ_MAX_PARAMS], step[XLSQ_MAX_PARAMS], x_try[XLSQ_MAX_PARAMS];
    acc_status status;
    for (size_t j = 0; j < n; j++)
        x[j] = clampd(x[j], p->lo[j], p->hi[j]);
    if ((status = p->fn(p->ctx, x, r, err)))
        goto done;
    double cost = half_norm2(r, m);
    rep->cost0 = cost;
    double lambda = 1e-3;
    int max_iter = p->max_iter > 0 ? p->max_iter : 200;
    for (int it = 0; it < max_iter; it++) {
        rep->iterations = it + 1;
        /* forward differences, stepping inward at an upper bound */
        for (size_t j = 0; j < n; j++) {
            double range = p->hi[j] - p->lo[j];
            double h = sqrt(DBL_EPSILON) * fmax(fabs(x[j]), isfinite(range) ? range * 1e-2 : 1);
            if (x[j] + h > p->hi[j])
                h = -h;
            memcpy(x_try, x, n * sizeof *x);
            x_try[j] += h;
            if ((status = p->fn(p->ctx, x_try, r_new, err)))
                goto done;
            for (size_t i = 0; i < m; i++)
                jac[i * n + j] = (r_new[i] - r[i]) / h;
        }
        double max_diag = 0;
        for (size_t j = 0; j < n; j++) {
            g[j] = 0;
            for (size_t i = 0; i < m; i++)
                g[j] += jac[i * n + j] * r[i];
            for (size_t k = 0; k < n; k++) {
                double s = 0;
                for (size_t i = 0; i < m; i++)
                    s += jac[i * n + j] * jac[i * n + k];
                a[j * n + k] = s;
            }
            max_diag = fmax(max_diag, a[j * n + j]);
        }
        if (max_diag == 0) {
            rep->converged = 1; /* no parameter moves any residual */
            break;
        }
        int improved = 0;
        while (lambda < 1e16) {
            memcpy(m_mat, a, n * n * sizeof *a);
            for (size_t j = 0; j < n; j++) {
                m_mat[j * n + j] += lambda * fmax(a[j * n + j], 1e-12 * max_diag);
                step[j] = -g[j];
            }
            if (xlsq_linear_solve(m_mat, step, n) == 0) {
                for (size_t j = 0; j < n; j++)
                    x_try[j] = clampd(x[j] + step[j], p->lo[j], p->hi[j]);
                if ((status = p->fn(p->ctx, x_try, r_new, err)))
                    goto done;
                double cost_try = half_norm2(r_new, m);
                if (cost_try < cost) {
                    double drop = cost - cost_try;
                    memcpy(x, x_try, n * sizeof *x);
                    memcpy(r, r_new, m * sizeof *r);
                    cost = cost_try;
                    lambda = fmax(lambda / 3, 1e-12);
                    improved = 1;
                    if (drop <= 1e-15 * fmax(cost, 1e-300) || cost < 1e-30)
                        rep->converged = 1;
                    break;
                }
            }
            lambda *= 4;
        }
        if (!improved)
            rep->converged = 1; /* no step downhill: a (bounded) minimum */
        if (rep->converged)
            break;
    }
    rep->cost = cost;
    status = ACC_OK;
done:
    free(r);
    free(r_new);
    free(jac);
    return status;
}
