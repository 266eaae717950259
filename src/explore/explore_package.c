/*
 * explore_package.c — package model: chips plus HBM stacks (on a silicon
 * interposer) or 3D memory vaults, the footprint that has to be cooled, the
 * power-density check, and the package cost of Chiplet Actuary (DAC'22):
 * organic substrate with layer-count factors, or interposer with its own
 * yield, both with bonding yields that waste known-good dies.
 */
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>

static void pkg_invalid(xpkg *pkg, const char *fmt, double value)
{
    pkg->valid = 0;
    snprintf(pkg->invalid_reason, sizeof pkg->invalid_reason, fmt, value);
}

/* Lays out HBM stacks along the chips' long sides; sets the heat-source
 * square.  Returns 0 when the stacks or vaults do not fit. */
static int pkg_check_area(xpkg *pkg, const xconst_pkg *c)
{
    const xchip *chip = pkg->chip;
    if (chip->mem_3d_vaults > 0) {
        if (chip->mem_3d_vaults * pkg->mem_3d.area > chip->area) {
            pkg_invalid(pkg, "no room for %g 3D memory vaults on the die", chip->mem_3d_vaults);
            return 0;
        }
        if (!isnan(chip->mem_3d_vault_tsvs) && chip->mem_3d_vault_tsvs != 0 &&
            chip->mem_3d_vault_tsvs != pkg->mem_3d.tsvs) {
            pkg_invalid(pkg, "chip vaults have %g TSVs but the 3D memory has another count",
                        chip->mem_3d_vault_tsvs);
            return 0;
        }
        pkg->heatsource_length = fmax(chip->x, chip->y) * ceil(sqrt(pkg->num_chips));
    }
    if (pkg->num_hbm_stacks > 0) {
        double chip_long = fmax(chip->x, chip->y);
        double hbm_long = fmax(pkg->hbm.x, pkg->hbm.y);
        double max_stacks = 2 * ceil(chip_long / hbm_long) * pkg->num_chips;
        double long_side, short_side;
        if (pkg->num_hbm_stacks > max_stacks) {
            pkg_invalid(pkg, "no room for %g HBM stacks beside the chips", pkg->num_hbm_stacks);
            return 0;
        } else if (pkg->num_hbm_stacks > max_stacks / 2) {
            double per_side = ceil(pkg->num_hbm_stacks / pkg->num_chips / 2);
            long_side = fmax(chip_long, per_side * hbm_long);
            short_side = fmin(chip->x, chip->y) + 2 * fmin(pkg->hbm.x, pkg->hbm.y);
        } else {
            double per_side = ceil(pkg->num_hbm_stacks / pkg->num_chips);
            long_side = fmax(chip_long, per_side * hbm_long);
            short_side = fmin(chip->x, chip->y) + fmin(pkg->hbm.x, pkg->hbm.y);
        }
        pkg->heatsource_length = fmax(long_side, short_side) * floor(sqrt(pkg->num_chips)) * 1.2;
    } else {
        if (pkg->total_die_area > c->max_die_area) {
            pkg_invalid(pkg, "%.0f mm2 of dies exceed the package's maximum die area",
                        pkg->total_die_area);
            return 0;
        }
        pkg->heatsource_length = fmax(chip->x, chip->y) * ceil(sqrt(pkg->num_chips)) * 1.2;
    }
    pkg->heatsource_width = pkg->heatsource_length;
    return 1;
}

static double pkg_packaging_cost(xpkg *pkg, const xconst_pkg *c, int *ok)
{
    const xchip *chip = pkg->chip;
    *ok = 1;
    if (pkg->si) {
        /* chip-last silicon interposer on an organic substrate */
        double cost_os = c->os_cost_per_mm2 * pkg->area;
        double per_wafer = xdies_per_wafer(pkg->area, 300.0, 0.1);
        if (!(per_wafer > 0)) {
            *ok = 0;
            return 0;
        }
        double cost_si = c->si_wafer_cost / per_wafer;
        double cost_c4 = c->c4_bump_cost_per_mm2 * pkg->area;
        double si_yield = xdie_yield(pkg->area, c->si_D0, c->si_alpha);
        double si_bonding = pow(c->si_bonding_yield, pkg->num_chips);
        double cost_pkg = (cost_si + cost_c4) / si_yield / si_bonding / c->os_bonding_yield +
                          cost_os / c->os_bonding_yield;
        double wasted =
            pkg->num_chips * chip->cost * (1 / si_bonding / c->os_bonding_yield - 1);
        return cost_pkg + wasted;
    }
    double layer_factor = 1.0;
    if (pkg->num_chips != 1) {
        for (size_t i = 0; i < c->n_layer_factors; i++) {
            if (pkg->area > c->layer_threshold[i]) {
                layer_factor = c->layer_factor[i];
                break;
            }
        }
    }
    double bonding = pow(c->os_bonding_yield, pkg->num_chips);
    double cost_pkg = pkg->area * c->os_cost_per_mm2 * layer_factor / bonding;
    return cost_pkg + pkg->num_chips * chip->cost * (1 / bonding - 1);
}

void xpkg_update(xpkg *pkg, const xconst_pkg *c)
{
    const xchip *chip = pkg->chip;
    pkg->valid = 0;
    pkg->invalid_reason[0] = '\0';
    pkg->num_hbm_stacks = 0;
    int si = pkg->si == 1;
    if (chip->hbm_channels > 0) {
        si = 1; /* HBM needs an interposer */
        if (!pkg->hbm.present) {
            pkg_invalid(pkg, "the chip has %g HBM channels but the package has no hbm",
                        chip->hbm_channels);
            return;
        }
        pkg->num_hbm_stacks = pkg->num_chips * floor(chip->hbm_channels / pkg->hbm.num_channels);
    } else if (pkg->num_chips == 1) {
        si = 0;
    }
    pkg->si = si;
    if (chip->mem_3d_vaults > 0 && !pkg->mem_3d.present) {
        pkg_invalid(pkg, "the chip has %g 3D memory vaults but the package has no mem_3d",
                    chip->mem_3d_vaults);
        return;
    }
    pkg->io = chip->pkg2pkg_io;
    pkg->io.num = pkg->num_chips * chip->pkg2pkg_io.num;
    xio_update(&pkg->io);
    pkg->perf = pkg->num_chips * chip->perf;
    pkg->tdp = pkg->num_chips * chip->tdp;
    pkg->sram = pkg->num_chips * chip->sram;
    pkg->dram = pkg->dram_bw_per_chip = 0;
    if (chip->mem_3d_vaults > 0) {
        pkg->tdp += pkg->num_chips * chip->mem_3d_vaults * pkg->mem_3d.tdp;
        if (pkg->mem_3d.is_sram) {
            pkg->sram += pkg->num_chips * chip->mem_3d_vaults * pkg->mem_3d.cap;
        } else {
            pkg->dram = pkg->num_chips * chip->mem_3d_vaults * pkg->mem_3d.cap;
            pkg->dram_bw_per_chip = pkg->mem_3d.bandwidth * chip->mem_3d_vaults;
        }
    } else if (pkg->num_hbm_stacks > 0) {
        pkg->tdp += pkg->num_hbm_stacks * pkg->hbm.tdp;
        pkg->dram = pkg->num_hbm_stacks * pkg->hbm.cap;
        pkg->dram_bw_per_chip = pkg->hbm.bandwidth * pkg->num_hbm_stacks / pkg->num_chips;
    }
    pkg->total_mem = pkg->sram + pkg->dram;
    pkg->tops = pkg->num_chips * chip->tops;
    pkg->sram_mb = pkg->num_chips * chip->sram_mb;
    pkg->dram_gb = pkg->dram / 1e9;
    pkg->dram_bw_TB_per_sec = pkg->dram_bw_per_chip * pkg->num_chips / 1e12;

    pkg->total_die_area = pkg->num_chips * chip->area;
    if (pkg->hbm.present)
        pkg->total_die_area += pkg->num_hbm_stacks * pkg->hbm.area;
    pkg->area = pkg->total_die_area * (si ? c->si_area_scale_factor : c->os_area_scale_factor);

    if (!pkg_check_area(pkg, c))
        return;
    pkg->power_density = pkg->tdp / (pkg->heatsource_length * pkg->heatsource_width);
    double limit = (!isnan(pkg->custom_max_power_density) && pkg->custom_max_power_density != 0)
                       ? pkg->custom_max_power_density
                       : c->max_power_density;
    if (pkg->thermal_eval && pkg->power_density > limit) {
        pkg_invalid(pkg, "package power density %.3f W/mm2 is too high", pkg->power_density);
        return;
    }
    int ok;
    double packaging = pkg_packaging_cost(pkg, c, &ok);
    if (!ok) {
        pkg_invalid(pkg, "a %.0f mm2 interposer does not fit on a wafer", pkg->area);
        return;
    }
    pkg->cost = pkg->num_chips * chip->cost;
    if (pkg->hbm.present)
        pkg->cost += pkg->num_hbm_stacks * pkg->hbm.cost;
    if (pkg->mem_3d.present)
        pkg->cost += pkg->num_chips * pkg->mem_3d.cost * chip->mem_3d_vaults;
    pkg->cost += packaging;
    pkg->valid = 1;
}
