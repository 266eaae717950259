/*
 * explore_heatsink.c — the ASIC Clouds plate-fin heatsink search that reallm
 * uses to price (and optionally bound the power of) each package: for every
 * base length, spreader thickness and fin count it finds the air flow a
 * 40 mm fan sustains against the fins' pressure drop, the thermal resistance
 * (die, TIM, spreading, fins) and the power it can remove; it keeps the
 * shortest heatsink within 5% of the best full-lane one.  All MKS units.
 */
#include "explore/explore_model.h"

#include <math.h>

typedef struct hs_spec {
    double die_length, die_width;
    double fin_height, fin_thermal_cond, fin_thickness, fin_air_volume, n_of_fins;
    double base_thickness, base_width, base_length, base_thermal_cond;
    double tim_thermal_cond, tim_thickness, die_thermal_cond, die_thickness;
    double r_fins, fins_heat_trans_coeff, r_sp, r_tim, r_si, fins_pd, q_asic;
} hs_spec;

static const double AIR_SPECIFIC_HEAT = 1004.9; /* J/(kg K) */
static const double AIR_THERMAL_COND = 0.02624; /* W/(m K) */
static const double AIR_DENSITY = 1.1644;       /* kg/m3 */
static const double AIR_VISCOSITY = 0.00001886; /* kg/(m s) */
static const double MAX_LENGTH = 450.0e-3;
static const double BASE_LENGTH_PRECISION = 1e-3;
static const double BASE_THICK_PRECISION = 1e-3;
static const double HS_MAX_HEIGHT = 35e-3;
static const double AIR_VOLUME_PRECISION_CFM = 0.1;
static const double MAX_DIE_TEMP = 90.0;
static const double AMBIENT = 30.0;
static const double MIN_FIN_PITCH = 1e-3;
static const double AL_COST = 4122.68; /* $/m3 */
static const double CU_COST = 40707.66;
static const double HS_BASE_COST = 1.0;

static hs_spec spec_template(void)
{
    return (hs_spec){.die_length = 0.01,
                     .die_width = 0.01,
                     .fin_height = 30e-3,
                     .fin_thermal_cond = 200.0,
                     .fin_thickness = 0.5e-3,
                     .fin_air_volume = 0.009439,
                     .n_of_fins = 20.0,
                     .base_thickness = 5e-3,
                     .base_width = 0.06,
                     .base_length = 0.06,
                     .base_thermal_cond = 200.0,
                     .tim_thermal_cond = 4.0,
                     .tim_thickness = 0.1e-3,
                     .die_thermal_cond = 149.0,
                     .die_thickness = 0.70e-3};
}

static double cfm_to_cms(double cfm)
{
    return cfm * 0.3048 * 0.3048 * 0.3048 / 60;
}

static double fin_gap(const hs_spec *s)
{
    return (s->base_width - s->n_of_fins * s->fin_thickness) / (s->n_of_fins - 1);
}

static void fin_thermal_resistance(hs_spec *s)
{
    double gap = fin_gap(s);
    double exposed_base = (s->n_of_fins - 1) * gap * s->base_length;
    double area_per_fin = 2 * s->fin_height * s->base_length;
    double velocity = s->fin_air_volume / ((s->n_of_fins - 1) * gap * s->fin_height);
    double prandtl = AIR_VISCOSITY * AIR_SPECIFIC_HEAT / AIR_THERMAL_COND;
    double reynolds = AIR_DENSITY * velocity * gap * gap / (AIR_VISCOSITY * s->base_length);
    double nu1 = pow(reynolds * prandtl / 2, -3);
    double nu2 = pow(0.664 * sqrt(reynolds) * pow(prandtl, 1.0 / 3) *
                         sqrt(1 + 3.65 * pow(reynolds, -0.5)),
                     -3);
    double nusselt = pow(nu1 + nu2, -1.0 / 3);
    double h = nusselt * AIR_THERMAL_COND / gap;
    double m = sqrt(2 * h / (s->fin_thermal_cond * s->fin_thickness));
    double eta = tanh(m * s->fin_height) / (m * s->fin_height);
    s->r_fins = 1.0 / (h * (exposed_base + s->n_of_fins * eta * area_per_fin));
    s->fins_heat_trans_coeff = 1 / (s->r_fins * s->base_length * s->base_width);
}

static void fin_pressure_drop(hs_spec *s)
{
    double gap = fin_gap(s);
    double dh = 2 * gap;
    double lambda = gap / s->fin_height;
    double velocity = s->fin_air_volume / ((s->n_of_fins - 1) * gap * s->fin_height);
    double sigma = 1 - (s->n_of_fins * s->fin_thickness) / s->base_width;
    double kc = 0.42 * (1 - sigma * sigma);
    double ke = (1 - sigma * sigma) * (1 - sigma * sigma);
    double re = AIR_DENSITY * velocity * dh / AIR_VISCOSITY;
    double l_star = s->base_length / dh / re;
    double l2 = lambda * lambda, l3 = l2 * lambda, l4 = l3 * lambda, l5 = l4 * lambda;
    double f = (24 - 32.527 * lambda + 46.721 * l2 - 40.829 * l3 + 22.954 * l4 - 6.089 * l5) / re;
    double a = 3.44 / sqrt(l_star);
    double fapp = sqrt(a * a + (f * re) * (f * re)) / re;
    s->fins_pd = (kc + 4 * fapp * s->base_length / dh + ke) * AIR_DENSITY * velocity * velocity / 2;
}

static void base_spreading_resistance(hs_spec *s)
{
    double r1 = sqrt(s->die_length * s->die_width / M_PI);
    double r2 = sqrt(s->base_length * s->base_width / M_PI);
    double epsilon = r1 / r2;
    double tau = s->base_thickness / r2;
    double bi = s->fins_heat_trans_coeff * r2 / s->base_thermal_cond;
    double lambda = M_PI + 1 / (epsilon * sqrt(M_PI));
    double th = tanh(lambda * tau);
    double phi = (th + lambda / bi) / (1 + lambda / bi * th);
    double psi_max = epsilon * tau / sqrt(M_PI) + 1 / sqrt(M_PI) * (1 - epsilon) * phi;
    s->r_sp = psi_max / (s->base_thermal_cond * r1 * sqrt(M_PI));
}

static double r_total(const hs_spec *s)
{
    return s->r_si + s->r_tim + s->r_sp + s->r_fins;
}

/* Static pressure (Pa) the 9GA0312P3K001 fan sustains at a flow (m3/s). */
static double fan_pressure(double air)
{
    if (air < 0 || air > 0.01)
        return 0;
    double a2 = air * air, a3 = a2 * air, a4 = a3 * air, a5 = a4 * air;
    return 1.49e14 * a5 - 4.099e12 * a4 + 3.833e10 * a3 - 1.375e8 * a2 + 70736.364 * air +
           799.481;
}

/* Largest flow (in steps) whose fin pressure drop the fan still beats. */
static double air_volume(const hs_spec *tmpl, double initial, double step)
{
    hs_spec s = *tmpl;
    double air = initial;
    for (int guard = 0; guard < 100000; guard++) {
        if (!(air > 0))
            return air - step; /* no flow: infeasible */
        s.fin_air_volume = air;
        fin_pressure_drop(&s);
        if (!(s.fins_pd <= fan_pressure(air)))
            return air - step;
        air += step;
    }
    return air - step;
}

static double power_budget(const hs_spec *s, double n_asics)
{
    return (MAX_DIE_TEMP - AMBIENT) /
           (r_total(s) + (n_asics - 1) / (AIR_SPECIFIC_HEAT * AIR_DENSITY * s->fin_air_volume));
}

static int best_thickness_and_fins(const hs_spec *tmpl, double asics_per_col, int full_lane,
                                   hs_spec *best_out)
{
    double base_thickness = BASE_THICK_PRECISION;
    int have_best = 0;
    hs_spec best_at_length = {0};
    double fin_step = 2;
    double max_fins = floor((tmpl->base_width + MIN_FIN_PITCH) / (tmpl->fin_thickness + MIN_FIN_PITCH));
    double step = cfm_to_cms(AIR_VOLUME_PRECISION_CFM);
    double initial_air = step;
    while (base_thickness < HS_MAX_HEIGHT) {
        double n_of_fins = 2;
        int have_thick = 0;
        hs_spec best_at_thick = {0};
        while (n_of_fins <= max_fins) {
            hs_spec s = *tmpl;
            s.n_of_fins = n_of_fins;
            s.base_thickness = base_thickness;
            s.fin_height = HS_MAX_HEIGHT - base_thickness;
            /* the fan pushes air through one heatsink as long as the lane */
            if (full_lane)
                s.base_length *= asics_per_col;
            double air = air_volume(&s, initial_air, step);
            initial_air = air - 5 * step;
            if (full_lane)
                s.base_length /= asics_per_col;
            if (air <= 0.0)
                break;
            s.fin_air_volume = air;
            s.r_si = 1 / s.die_thermal_cond * s.die_thickness / (s.die_width * s.die_length);
            s.r_tim = 1 / s.tim_thermal_cond * s.tim_thickness / (s.die_width * s.die_length);
            fin_thermal_resistance(&s);
            base_spreading_resistance(&s);
            s.q_asic = power_budget(&s, asics_per_col);
            if (!have_thick || best_at_thick.q_asic < s.q_asic) {
                best_at_thick = s;
                have_thick = 1;
            } else {
                break; /* more fins only add pressure drop */
            }
            n_of_fins += fin_step;
        }
        if (have_thick) {
            if (!have_best || best_at_length.q_asic < best_at_thick.q_asic) {
                best_at_length = best_at_thick;
                have_best = 1;
            } else {
                break; /* a thicker spreader only gets worse */
            }
        }
        base_thickness += BASE_THICK_PRECISION;
        fin_step = 1;
    }
    if (have_best)
        *best_out = best_at_length;
    return have_best;
}

static double heatsink_cost(const hs_spec *s)
{
    double base_volume = s->base_width * s->base_length * s->base_thickness;
    double fin_volume = s->fin_thickness * s->fin_height * s->base_length * s->n_of_fins;
    double al = 0, cu = 0;
    const double parts[2][2] = {{s->base_thermal_cond, base_volume},
                                {s->fin_thermal_cond, fin_volume}};
    for (int i = 0; i < 2; i++) {
        if (parts[i][0] == 200.0)
            al += AL_COST * parts[i][1];
        else if (parts[i][0] == 400.0)
            cu += CU_COST * parts[i][1];
    }
    return HS_BASE_COST + al + cu;
}

void xheatsink_design(double heatsource_length_mm, double heatsource_width_mm,
                      double packages_per_lane, xheatsink *out)
{
    out->valid = 0;
    out->cost = INFINITY;
    out->max_power = 0.0;
    hs_spec tmpl = spec_template();
    tmpl.die_length = heatsource_length_mm * 1e-3;
    tmpl.die_width = heatsource_width_mm * 1e-3;
    if (!(tmpl.die_width <= tmpl.base_width) || !(tmpl.die_length > 0) ||
        !(packages_per_lane >= 1))
        return;

    hs_spec whole = tmpl, best_result = {0};
    whole.base_length = MAX_LENGTH;
    int have_result = best_thickness_and_fins(&whole, packages_per_lane, 0, &best_result);

    double base_length = ceil(tmpl.die_length / BASE_LENGTH_PRECISION) * BASE_LENGTH_PRECISION;
    int have_use = 0;
    hs_spec use = {0};
    while (base_length <= MAX_LENGTH / packages_per_lane) {
        hs_spec s = tmpl, best;
        s.base_length = base_length;
        if (best_thickness_and_fins(&s, packages_per_lane, 1, &best)) {
            if (!have_use || use.q_asic < best.q_asic) {
                if (!have_use || (have_result && best.q_asic <= best_result.q_asic * 0.95)) {
                    use = best;
                    have_use = 1;
                } else {
                    break; /* within 5% of the best: shorter is enough */
                }
            }
        }
        base_length += BASE_LENGTH_PRECISION;
    }
    if (!have_use)
        return;
    out->valid = 1;
    out->cost = heatsink_cost(&use);
    out->max_power = use.q_asic;
}
