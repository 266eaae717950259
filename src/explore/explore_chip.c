/*
 * explore_chip.c — chip model: die area from compute, SRAM and IO
 * densities (or compute and SRAM from a given area), TDP, negative-binomial
 * yield, dies per wafer (rows of squares fitted in a circle, after ASIC
 * Clouds) and die cost; also IO links and the memories beside or on top of
 * the die (HBM stacks, 3D DRAM/SRAM vaults).
 */
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int truthy(double v)
{
    return !isnan(v) && v != 0;
}

void xio_update(xio *io)
{
    io->bandwidth = io->num * io->bandwidth_per_io;
    io->area = io->num * io->area_per_io;
    io->tdp = io->num * io->tdp_per_io;
}

acc_status xhbm_update(xhbm *hbm, acc_error *err)
{
    (void)err;
    hbm->cap = hbm->channel_bytes * hbm->num_channels;
    hbm->bandwidth = hbm->bit_rate * hbm->channel_width * hbm->num_channels / 8;
    hbm->tdp = hbm->bandwidth * hbm->pj_per_byte * 1e-12;
    hbm->area = hbm->x * hbm->y;
    hbm->cost = truthy(hbm->stack_cost) ? hbm->stack_cost
                                        : hbm->cap / 1024 / 1024 / 1024 * hbm->cost_per_gb;
    return ACC_OK;
}

acc_status xmem3d_update(xmem3d *m, acc_error *err)
{
    if (strstr(m->mem_type, "sram") || strstr(m->mem_type, "SRAM"))
        m->is_sram = 1;
    else if (strstr(m->mem_type, "dram") || strstr(m->mem_type, "DRAM"))
        m->is_sram = 0;
    else
        return acc_error_set(err, ACC_ERR_INPUT,
                             "Package.mem_3d.mem_type: must name SRAM or DRAM (got '%s')",
                             m->mem_type);
    if (!(truthy(m->tsvs) && truthy(m->bit_rate)))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "Package.mem_3d: tsvs and bit_rate are needed for the bandwidth");
    m->bandwidth = m->tsvs * m->bit_rate / 8;
    if (truthy(m->pj_per_bit))
        m->pj_per_byte = m->pj_per_bit * 8;
    if (isnan(m->pj_per_byte))
        m->pj_per_byte = 0;
    if (truthy(m->density) && truthy(m->tsvs) && truthy(m->tsv_area))
        m->layer_bytes = (m->layer_area - m->tsvs * m->tsv_area) * m->density;
    if (isnan(m->layer_bytes))
        return acc_error_set(err, ACC_ERR_INPUT,
                             "Package.mem_3d: give layer_bytes, or density, tsvs and tsv_area");
    m->cap = m->layer_bytes * m->num_layers;
    m->tdp = m->bandwidth * m->pj_per_byte * 1e-12;
    m->area = m->layer_area;
    m->cost = m->layer_cost * m->num_layers;
    return ACC_OK;
}

double xdie_yield(double area, double D0, double alpha)
{
    if (area == 0)
        return 1.0;
    return pow(1.0 + D0 * area / alpha, -alpha);
}

/* Squares of edge a in rows parallel to a diameter of a circle of radius r,
 * the centre row at distance d from the diameter. */
static double max_fit(double r, double a, double d)
{
    double d1 = a / 2.0 + d;
    double d2 = (3.0 * a) / 2.0 - d;
    double r2 = r * r, sum = 0;
    while (d1 < r) {
        sum += floor(2.0 * sqrt(r2 - d1 * d1) / a);
        d1 += a;
    }
    while (d2 < r) {
        sum += floor(2.0 * sqrt(r2 - d2 * d2) / a);
        d2 += a;
    }
    return sum;
}

/* Searches the offset of the centre row; two long rows straddling the
 * diameter are best when they fit. */
static double max_square(double r, double a)
{
    double start = 0.0, end = a / 2.0;
    double max_start = max_fit(r, a, start);
    double max_end = max_fit(r, a, end);
    if (max_end >= max_start)
        return max_end;
    double step = a / 8.0;
    end = end / 2.0;
    max_end = max_fit(r, a, end);
    for (int guard = 0; max_start != max_end && guard < 4096; guard++) {
        if (max_start > max_end) {
            end -= step;
        } else {
            start = end;
            max_start = max_end;
            end += step;
        }
        max_end = max_fit(r, a, end);
        step = step / 2.0;
    }
    return max_end;
}

double xdies_per_wafer(double die_area, double wafer_diameter, double dicing_gap)
{
    if (!(die_area > 0))
        return 0;
    return max_square(wafer_diameter / 2.0, sqrt(die_area) + dicing_gap);
}

static void chip_invalid(xchip *chip, const char *fmt, double value)
{
    chip->valid = 0;
    snprintf(chip->invalid_reason, sizeof chip->invalid_reason, fmt, value);
}

void xchip_update(xchip *chip, const xconst_chip *c)
{
    chip->valid = 0;
    chip->invalid_reason[0] = '\0';
    if (isnan(chip->macs_density))
        chip->macs_density = c->macs_density;
    if (isnan(chip->w_per_tops))
        chip->w_per_tops = c->w_per_tops;
    chip->io_area = chip->pkg2pkg_io.area + (chip->chip2chip_io.present ? chip->chip2chip_io.area : 0);

    double other = chip->other_area + chip->hbm_channels * c->hbm_phy_ctrl_area_per_channel;
    if (!isnan(chip->mem_3d_vault_tsvs))
        other += chip->mem_3d_vaults *
                 (chip->mem_3d_vault_tsvs * c->mem_3d_area_per_tsv + c->mem_3d_ctrl_area_per_vault);
    else
        other += chip->mem_3d_vaults * c->mem_3d_tsv_ctrl_area_per_vault;
    if (chip->mem_3d_vaults > 0)
        other += chip->mem_3d_vaults * c->mem_3d_test_area_per_vault;

    if (truthy(chip->perf) && truthy(chip->sram)) {
        chip->sram_mb = chip->sram / 1e6;
        chip->sram_area = chip->sram_mb * c->sram_density;
        chip->mac_area = chip->perf / 1e12 * chip->macs_density;
        double mac_sram_area = chip->sram_area + chip->mac_area;
        chip->mac_ratio = chip->mac_area / mac_sram_area;
        double core_area = (mac_sram_area + chip->io_area + other) / chip->core_area_ratio;
        double side = sqrt(core_area) + c->padring_width;
        chip->area = side * side;
    } else if (truthy(chip->area) && truthy(chip->mac_ratio)) {
        double core_side = sqrt(chip->area) - c->padring_width;
        double mac_sram_area = core_side * core_side * chip->core_area_ratio - chip->io_area - other;
        if (mac_sram_area < 0.1) {
            chip_invalid(chip, "die of %g mm2 leaves no area for MACs and SRAM", chip->area);
            return;
        }
        chip->sram_area = mac_sram_area * (1 - chip->mac_ratio);
        chip->mac_area = mac_sram_area - chip->sram_area;
        chip->perf = chip->mac_area / chip->macs_density * 1e12;
        chip->sram_bw = chip->perf / 2 / chip->operational_intensity * chip->bytes_per_word;
        chip->sram_mb = chip->sram_area / c->sram_density;
        chip->sram = chip->sram_mb * 1e6;
    } else {
        chip_invalid(chip, "chip has neither perf and sram nor area and mac_ratio (%g)", 0);
        return;
    }
    if (!truthy(chip->sram)) {
        chip_invalid(chip, "chip has no SRAM (%g MB)", chip->sram_mb);
        return;
    }
    if (chip->area > c->max_die_area) {
        chip_invalid(chip, "chip area %.1f mm2 is above the maximum die area", chip->area);
        return;
    }
    chip->core_tdp = chip->perf / 1e12 * chip->w_per_tops;
    /* reallm charges the package IO power to the chip */
    chip->tdp = chip->core_tdp + chip->pkg2pkg_io.tdp;
    chip->power_density = chip->tdp / chip->area;
    if (chip->thermal_eval && chip->power_density > c->max_power_density) {
        chip_invalid(chip, "chip power density %.3f W/mm2 is too high", chip->power_density);
        return;
    }
    chip->die_yield = xdie_yield(chip->area, c->D0, c->alpha);
    chip->dpw = xdies_per_wafer(chip->area, c->wafer_diameter, c->wafer_dicing_gap);
    if (!(chip->dpw > 0)) {
        chip_invalid(chip, "a %.1f mm2 die does not fit on the wafer", chip->area);
        return;
    }
    double die_cost = (c->wafer_cost * 1.0 / chip->dpw) / chip->die_yield;
    chip->cost = die_cost + die_cost * c->testing_cost_overhead;
    chip->tops = chip->perf / 1e12;
    chip->sram_bw_TB_per_sec = chip->sram_bw / 1e12;
    chip->x = chip->y = sqrt(chip->area);
    double total_fma = floor(chip->perf / chip->freq / 2);
    chip->sa_width = floor(sqrt(total_fma / chip->num_sa));
    chip->valid = 1;
}
