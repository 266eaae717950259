/*
 * explore_server.c — server model (lanes of packages under heatsinks, fans,
 * DC/DC and PSU losses and costs, host processor, board, chassis, network)
 * and the datacenter TCO over the server's life: datacenter capex amortised
 * with interest, datacenter opex, electricity with PUE, server capex with
 * interest and server opex (ASIC Clouds' model, as reallm uses it).
 */
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>

double xinterest_paid(double borrowing, double annual_rate, double years)
{
    double payments = years * 12;
    double r = annual_rate / 12;
    double growth = pow(1 + r, payments);
    double monthly = r * borrowing * growth / (growth - 1);
    return monthly * payments - borrowing;
}

void xtco_eval(const xconst_tco *c, double server_tdp, double server_cost, double server_life,
               xtco *t)
{
    t->dc_amortization = c->DCCapex * server_tdp * server_life / c->DCAmortPeriod;
    t->dc_interest = xinterest_paid(c->DCCapex, c->InterestRate, c->DCAmortPeriod) *
                     server_tdp * server_life / c->DCAmortPeriod;
    t->dc_opex = c->DCOpex * server_tdp * server_life * 12;
    /* $/kWh for a 30-day month, over the server life */
    t->srv_power = c->ElectricityCost * c->SrvAvgPwr / 1000 * 24 * 30 * server_tdp * server_life *
                   12;
    t->pue_overhead = t->srv_power * (c->PUE - 1.0);
    t->srv_amortization = server_cost;
    t->srv_opex = t->srv_amortization * c->SrvOpexRate;
    t->srv_interest = xinterest_paid(server_cost, c->InterestRate, server_life);
    t->fix_part = t->srv_amortization + t->srv_interest + t->srv_opex;
    t->power_part = t->dc_amortization + t->dc_interest + t->dc_opex + t->srv_power +
                    t->pue_overhead;
    t->total = t->fix_part + t->power_part;
}

static void srv_invalid(xserver *srv, const char *fmt, double value)
{
    srv->valid = 0;
    snprintf(srv->invalid_reason, sizeof srv->invalid_reason, fmt, value);
}

void xserver_update(xserver *srv, const xconstants *c)
{
    const xpkg *pkg = srv->pkg;
    const xconst_srv *k = &c->srv;
    srv->valid = 0;
    srv->invalid_reason[0] = '\0';
    srv->constants = c;
    double lane_silicon = pkg->heatsource_length * pkg->heatsource_width * srv->packages_per_lane;
    if (lane_silicon > k->LaneAreaMax) {
        srv_invalid(srv, "lane silicon area %.0f mm2 is too large", lane_silicon);
        return;
    }
    if (lane_silicon < k->LaneAreaMin) {
        srv_invalid(srv, "lane silicon area %.0f mm2 is too small", lane_silicon);
        return;
    }
    srv->num_packages = srv->num_lanes * srv->packages_per_lane;
    srv->num_chips = srv->num_packages * pkg->num_chips;
    srv->core_tdp = srv->num_packages * pkg->tdp;
    xheatsink_design(pkg->heatsource_length, pkg->heatsource_width, srv->packages_per_lane,
                     &srv->hs);
    /* reallm prices an impossible heatsink at infinity even without the
     * thermal check; we prune the design instead. */
    if (!srv->hs.valid) {
        srv_invalid(srv, "no heatsink fits a %.1f mm package", pkg->heatsource_length);
        return;
    }
    if (srv->thermal_eval) {
        if (srv->hs.max_power * srv->package_max_power_factor < pkg->tdp) {
            srv_invalid(srv, "the heatsink cannot cool a %.0f W package", pkg->tdp);
            return;
        }
        double max_power = (!isnan(srv->custom_max_power) && srv->custom_max_power != 0)
                               ? srv->custom_max_power
                               : k->SrvMaxPower;
        if (max_power < srv->core_tdp) {
            srv_invalid(srv, "server core power %.0f W is above the maximum", srv->core_tdp);
            return;
        }
    }
    srv->perf = pkg->perf * srv->num_packages;
    srv->sram = pkg->sram * srv->num_packages;
    srv->dram = pkg->dram * srv->num_packages;
    srv->other_tdp = (k->FanPower * srv->num_lanes + k->APPPower) / k->DCDCEfficiency /
                     k->PSUEfficiency;
    srv->core_tdp = srv->core_tdp / k->DCDCEfficiency / k->PSUEfficiency;
    srv->tdp = srv->core_tdp + srv->other_tdp;

    const xchip *chip = pkg->chip;
    double amps = k->APPPower / 1.0 + (chip->core_tdp / chip->vdd) * srv->num_chips;
    if (pkg->mem_3d.present)
        amps += (chip->mem_3d_vaults * pkg->mem_3d.tdp / pkg->mem_3d.vdd) * srv->num_chips;
    else if (pkg->hbm.present)
        amps += (pkg->num_hbm_stacks * pkg->hbm.tdp / pkg->hbm.vdd) * srv->num_packages;
    srv->cost_dcdc = fmin(k->DCDCCostPerAmp * amps, k->MaxDCDCCost);
    srv->cost_psu = fmin(srv->tdp * k->PSUCostPerW, k->MaxPSUCost);
    double system_cost = k->PCBCost * 2 + k->PCBPartsCost + k->ChassisCost;
    srv->cost = pkg->cost * srv->num_packages + srv->hs.cost * srv->num_packages +
                k->FanCost * srv->num_lanes + k->EthernetCost + srv->cost_dcdc + srv->cost_psu +
                system_cost;
    xtco_eval(&c->tco, srv->tdp, srv->cost, k->SrvLife, &srv->tco);
    srv->tops = srv->perf / 1e12;
    srv->sram_mb = srv->sram / 1e6;
    srv->total_mem = srv->sram + srv->dram;
    srv->valid = 1;
}
