/*
 * explore_config.c — typed reading of one expanded (sweep-free) reallm input
 * section: every key is looked up in a field table, unknown keys, wrong
 * types and negative numbers are errors at FILE:LINE:COL, and unset optional
 * inputs take reallm's defaults.  Features that need reallm's external
 * simulators (DRAMSim3 tables, SRAM compiler, LLMCompass, dynamic
 * sub-systems) are refused with a clear message rather than guessed.
 */
#include "explore/explore_config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- generic field tables ------------------------------------------------ */

static acc_status unknown_key(const xnode *key, const char *section, const xfield *fields,
                              size_t n, acc_error *err)
{
    char known[512];
    size_t used = 0;
    known[0] = '\0';
    for (size_t i = 0; i < n && used + 40 < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                                 fields[i].name);
    return xnode_error(err, key, "unknown key '%s' in %s (known keys: %s)", key->text, section,
                       known);
}

acc_status xfields_read(const xnode *map, const char *section, const xfield *fields, size_t n,
                        void *base, const xnode **handled, acc_error *err)
{
    if (map->kind != XNODE_MAP)
        return xnode_error(err, map, "%s: expected a mapping", section);
    for (size_t k = 0; k < map->count; k++) {
        const xnode *key = map->keys[k];
        const xnode *value = map->items[k];
        const xfield *f = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(fields[i].name, key->text) == 0)
                f = &fields[i];
        if (!f)
            return unknown_key(key, section, fields, n, err);
        if (f->type == XF_CUSTOM) {
            if (handled)
                handled[f - fields] = value;
            continue;
        }
        if (xnode_is_null(value))
            continue; /* None: keep the default */
        unsigned char *slot = (unsigned char *)base + f->offset;
        char field[128];
        snprintf(field, sizeof field, "%s.%s", section, f->name);
        acc_status status = ACC_OK;
        switch (f->type) {
        case XF_NUM:
        case XF_INT:
        case XF_POS:
        case XF_POSINT: {
            double v;
            if ((status = xnode_number(value, field, &v, err)))
                return status;
            if (v < 0)
                return xnode_error(err, value, "%s: must not be negative (got %g)", field, v);
            if ((f->type == XF_INT || f->type == XF_POSINT) && v != floor(v))
                return xnode_error(err, value, "%s: must be a whole number (got %g)", field, v);
            if ((f->type == XF_POS || f->type == XF_POSINT) && v <= 0)
                return xnode_error(err, value, "%s: must be greater than zero", field);
            *(double *)slot = v;
            break;
        }
        case XF_BOOL:
            if ((status = xnode_bool(value, field, (int *)slot, err)))
                return status;
            break;
        case XF_STR:
            if ((status = xnode_string(value, field, (char *)slot, f->cap, err)))
                return status;
            break;
        case XF_IGNORE_STR: {
            char scratch[256];
            if ((status = xnode_string(value, field, scratch, sizeof scratch, err)))
                return status;
            break;
        }
        case XF_CUSTOM:
            break;
        }
    }
    return ACC_OK;
}

#define NUM(s, f) {#f, XF_NUM, offsetof(s, f), 0}
#define INT(s, f) {#f, XF_INT, offsetof(s, f), 0}
#define POS(s, f) {#f, XF_POS, offsetof(s, f), 0}
#define POSINT(s, f) {#f, XF_POSINT, offsetof(s, f), 0}
#define BOOL(s, f) {#f, XF_BOOL, offsetof(s, f), 0}
#define STR(s, f) {#f, XF_STR, offsetof(s, f), sizeof(((s *)0)->f)}
#define IGNORE(name) {name, XF_IGNORE_STR, 0, 0}
#define CUSTOM(name) {name, XF_CUSTOM, 0, 0}
#define COUNT(a) (sizeof(a) / sizeof *(a))

static int required(const xnode *map, double value, const char *section, const char *name,
                    acc_error *err)
{
    if (!isnan(value))
        return 0;
    xnode_error(err, map, "%s: missing required key '%s'", section, name);
    return 1;
}

/* ---- IO links ------------------------------------------------------------ */

static const xfield io_fields[] = {
    STR(xio, io_type), NUM(xio, num), POS(xio, bandwidth_per_io), NUM(xio, area_per_io),
    NUM(xio, tdp_per_io), NUM(xio, pj_per_byte), NUM(xio, init_time),
};

static acc_status read_io(const xnode *map, const char *section, xio *io, acc_error *err)
{
    memset(io, 0, sizeof *io);
    io->num = io->bandwidth_per_io = NAN;
    io->init_time = 1e-10;
    acc_status status = xfields_read(map, section, io_fields, COUNT(io_fields), io, NULL, err);
    if (status)
        return status;
    if (required(map, io->num, section, "num", err) ||
        required(map, io->bandwidth_per_io, section, "bandwidth_per_io", err))
        return ACC_ERR_INPUT;
    io->present = 1;
    xio_update(io);
    return ACC_OK;
}

/* ---- chip ---------------------------------------------------------------- */

static const xfield core_fields[] = {
    {"core_count", XF_NUM, 0, 0},    {"sublane_count", XF_NUM, 0, 0},
    {"sa_width", XF_NUM, 0, 0},      {"sa_height", XF_NUM, 0, 0},
    {"vector_width", XF_NUM, 0, 0},  {"vector_flop_per_cycle", XF_NUM, 0, 0},
    {"num_registers", XF_NUM, 0, 0}, {"SRAM_KB", XF_NUM, 0, 0},
};

enum { CHIP_DATAFLOW, CHIP_P2P, CHIP_C2C, CHIP_CORE, CHIP_AREA_MODEL, CHIP_ID };
static const xfield chip_fields[] = {
    CUSTOM("dataflow"),
    CUSTOM("pkg2pkg_io"),
    CUSTOM("chip2chip_io"),
    CUSTOM("core"),
    CUSTOM("area_model"),
    CUSTOM("chip_id"),
    STR(xchip, tech),
    IGNORE("sram_tech"),
    POS(xchip, freq),
    POS(xchip, bytes_per_word),
    BOOL(xchip, thermal_eval),
    NUM(xchip, perf),
    NUM(xchip, sram),
    NUM(xchip, sram_bw),
    NUM(xchip, area),
    NUM(xchip, mac_ratio),
    NUM(xchip, operational_intensity),
    NUM(xchip, other_area),
    NUM(xchip, core_area_ratio),
    POSINT(xchip, num_sa),
    POS(xchip, acc_depth),
    INT(xchip, hbm_channels),
    INT(xchip, mem_3d_vaults),
    INT(xchip, mem_3d_vault_tsvs),
    NUM(xchip, macs_density),
    NUM(xchip, w_per_tops),
    POS(xchip, vdd),
};

acc_status xconfig_chip(const xnode *map, xchip *chip, acc_error *err)
{
    memset(chip, 0, sizeof *chip);
    chip->freq = 1e9;
    chip->bytes_per_word = 2;
    chip->thermal_eval = 1;
    chip->perf = chip->sram = chip->sram_bw = NAN;
    chip->area = chip->mac_ratio = chip->operational_intensity = NAN;
    chip->other_area = 0;
    chip->core_area_ratio = 0.7;
    chip->num_sa = 1;
    chip->acc_depth = 1e100;
    chip->mem_3d_vault_tsvs = NAN;
    chip->macs_density = chip->w_per_tops = NAN;
    chip->vdd = 0.8;
    chip->tech[0] = '\0';
    const xnode *custom[COUNT(chip_fields)] = {0};
    acc_status status =
        xfields_read(map, "Chip", chip_fields, COUNT(chip_fields), chip, custom, err);
    if (status)
        return status;
    if (!chip->tech[0])
        return xnode_error(err, map, "Chip: missing required key 'tech'");
    const xnode *df = custom[CHIP_DATAFLOW];
    char text[32];
    if (!df)
        return xnode_error(err, map, "Chip: missing required key 'dataflow'");
    if ((status = xnode_string(df, "Chip.dataflow", text, sizeof text, err)))
        return status;
    if (!strcmp(text, "roofline"))
        chip->dataflow = XDF_ROOFLINE;
    else if (!strcmp(text, "WS"))
        chip->dataflow = XDF_WS;
    else if (!strcmp(text, "llmcompass"))
        chip->dataflow = XDF_LLMCOMPASS;
    else
        return xnode_error(err, df, "Chip.dataflow: expected 'roofline', 'WS' or 'llmcompass', got '%.40s'",
                           text);
    if (custom[CHIP_AREA_MODEL]) {
        if ((status = xnode_string(custom[CHIP_AREA_MODEL], "Chip.area_model", text, sizeof text,
                                   err)))
            return status;
        if (strcmp(text, "linear") != 0)
            return xnode_error(err, custom[CHIP_AREA_MODEL],
                               "Chip.area_model: only 'linear' is supported ('%.40s' needs "
                               "reallm's SRAM compiler)",
                               text);
    }
    if (!custom[CHIP_P2P])
        return xnode_error(err, map, "Chip: missing required key 'pkg2pkg_io'");
    if ((status = read_io(custom[CHIP_P2P], "Chip.pkg2pkg_io", &chip->pkg2pkg_io, err)))
        return status;
    if (custom[CHIP_C2C] && !xnode_is_null(custom[CHIP_C2C]) &&
        (status = read_io(custom[CHIP_C2C], "Chip.chip2chip_io", &chip->chip2chip_io, err)))
        return status;
    if (custom[CHIP_CORE] && !xnode_is_null(custom[CHIP_CORE])) {
        double scratch[COUNT(core_fields)];
        if ((status = xfields_read(custom[CHIP_CORE], "Chip.core", core_fields,
                                   COUNT(core_fields), scratch, NULL, err)))
            return status;
    }
    if (custom[CHIP_ID]) {
        if ((status = xnode_string(custom[CHIP_ID], "Chip.chip_id", chip->chip_id,
                                   sizeof chip->chip_id, err)))
            return status;
    }
    int by_perf = !isnan(chip->perf) && !isnan(chip->sram) && !isnan(chip->sram_bw);
    int by_area = !isnan(chip->area) && !isnan(chip->mac_ratio) &&
                  !isnan(chip->operational_intensity);
    if (!by_perf && !by_area)
        return xnode_error(err, map,
                           "Chip: give either perf, sram and sram_bw, or area, mac_ratio and "
                           "operational_intensity");
    if (by_area && !by_perf && (chip->mac_ratio >= 1 || chip->operational_intensity <= 0))
        return xnode_error(err, map,
                           "Chip: mac_ratio must be below 1 and operational_intensity above 0");
    if (chip->core_area_ratio <= 0 || chip->core_area_ratio > 1)
        return xnode_error(err, map, "Chip.core_area_ratio: must be in (0, 1]");
    return ACC_OK;
}

/* ---- package ------------------------------------------------------------- */

static const xfield hbm_fields[] = {
    STR(xhbm, config),          IGNORE("mem_type"),      CUSTOM("simulator"),
    POS(xhbm, channel_bytes),   POS(xhbm, channel_width), POS(xhbm, bit_rate),
    POSINT(xhbm, num_channels), NUM(xhbm, cost_per_gb),  NUM(xhbm, pj_per_byte),
    POS(xhbm, vdd),             NUM(xhbm, x),            NUM(xhbm, y),
    NUM(xhbm, stack_cost),      IGNORE("bw_dict_path"),
};

static const xfield mem3d_fields[] = {
    STR(xmem3d, config),      STR(xmem3d, mem_type),  CUSTOM("simulator"),
    POS(xmem3d, tsvs),        NUM(xmem3d, layer_bytes), POS(xmem3d, layer_area),
    NUM(xmem3d, layer_cost),  POSINT(xmem3d, num_layers), NUM(xmem3d, density),
    NUM(xmem3d, tsv_area),    NUM(xmem3d, bit_rate),  NUM(xmem3d, pj_per_bit),
    NUM(xmem3d, pj_per_byte), POS(xmem3d, vdd),
};

static acc_status refuse_simulator(const xnode *node, const char *field, acc_error *err)
{
    int on = 0;
    if (!node || xnode_is_null(node))
        return ACC_OK;
    acc_status status = xnode_bool(node, field, &on, err);
    if (status)
        return status;
    if (on)
        return xnode_error(err, node,
                           "%s: true needs reallm's DRAMSim3 bandwidth tables; not supported",
                           field);
    return ACC_OK;
}

static acc_status read_hbm(const xnode *map, xhbm *hbm, acc_error *err)
{
    memset(hbm, 0, sizeof *hbm);
    snprintf(hbm->config, sizeof hbm->config, "HBM2_4GB");
    hbm->channel_bytes = hbm->channel_width = hbm->bit_rate = hbm->num_channels = NAN;
    hbm->cost_per_gb = 7.5;
    hbm->pj_per_byte = 31.2;
    hbm->vdd = 1.2;
    hbm->x = 7.75;
    hbm->y = 11.87;
    hbm->stack_cost = NAN;
    const xnode *custom[COUNT(hbm_fields)] = {0};
    acc_status status =
        xfields_read(map, "Package.hbm", hbm_fields, COUNT(hbm_fields), hbm, custom, err);
    if (status || (status = refuse_simulator(custom[2], "Package.hbm.simulator", err)))
        return status;
    if (required(map, hbm->channel_bytes, "Package.hbm", "channel_bytes", err) ||
        required(map, hbm->channel_width, "Package.hbm", "channel_width", err) ||
        required(map, hbm->bit_rate, "Package.hbm", "bit_rate", err) ||
        required(map, hbm->num_channels, "Package.hbm", "num_channels", err))
        return ACC_ERR_INPUT;
    hbm->present = 1;
    return xhbm_update(hbm, err);
}

static acc_status read_mem3d(const xnode *map, xmem3d *mem, acc_error *err)
{
    memset(mem, 0, sizeof *mem);
    mem->tsvs = mem->layer_bytes = mem->layer_area = mem->layer_cost = NAN;
    mem->num_layers = mem->density = mem->tsv_area = mem->pj_per_byte = NAN;
    mem->bit_rate = 9.2e9;
    mem->pj_per_bit = 3.0;
    mem->vdd = 1.2;
    const xnode *custom[COUNT(mem3d_fields)] = {0};
    acc_status status = xfields_read(map, "Package.mem_3d", mem3d_fields, COUNT(mem3d_fields),
                                     mem, custom, err);
    if (status || (status = refuse_simulator(custom[2], "Package.mem_3d.simulator", err)))
        return status;
    if (!mem->mem_type[0])
        return xnode_error(err, map, "Package.mem_3d: missing required key 'mem_type'");
    if (required(map, mem->num_layers, "Package.mem_3d", "num_layers", err) ||
        required(map, mem->layer_area, "Package.mem_3d", "layer_area", err) ||
        required(map, mem->layer_cost, "Package.mem_3d", "layer_cost", err))
        return ACC_ERR_INPUT;
    mem->present = 1;
    status = xmem3d_update(mem, err);
    if (status)
        return acc_error_wrap(err, "%s:%d:%d", map->file, map->line, map->column);
    return ACC_OK;
}

enum { PKG_HBM, PKG_MEM3D, PKG_SI };
static const xfield pkg_fields[] = {
    CUSTOM("hbm"),
    CUSTOM("mem_3d"),
    CUSTOM("si"),
    POSINT(xpkg, num_chips),
    BOOL(xpkg, thermal_eval),
    NUM(xpkg, custom_max_power_density),
};

acc_status xconfig_pkg(const xnode *map, xpkg *pkg, acc_error *err)
{
    memset(pkg, 0, sizeof *pkg);
    pkg->num_chips = NAN;
    pkg->thermal_eval = 1;
    pkg->si = -1;
    pkg->custom_max_power_density = NAN;
    const xnode *custom[COUNT(pkg_fields)] = {0};
    acc_status status = xfields_read(map, "Package", pkg_fields, COUNT(pkg_fields), pkg, custom,
                                     err);
    if (status)
        return status;
    if (required(map, pkg->num_chips, "Package", "num_chips", err))
        return ACC_ERR_INPUT;
    if (custom[PKG_HBM] && !xnode_is_null(custom[PKG_HBM]) &&
        (status = read_hbm(custom[PKG_HBM], &pkg->hbm, err)))
        return status;
    if (custom[PKG_MEM3D] && !xnode_is_null(custom[PKG_MEM3D]) &&
        (status = read_mem3d(custom[PKG_MEM3D], &pkg->mem_3d, err)))
        return status;
    if (custom[PKG_SI] && !xnode_is_null(custom[PKG_SI]) &&
        (status = xnode_bool(custom[PKG_SI], "Package.si", &pkg->si, err)))
        return status;
    return ACC_OK;
}

/* ---- server -------------------------------------------------------------- */

static const xfield srv_fields[] = {
    CUSTOM("io"),
    POSINT(xserver, packages_per_lane),
    POSINT(xserver, num_lanes),
    BOOL(xserver, thermal_eval),
    NUM(xserver, custom_max_power),
    POS(xserver, package_max_power_factor),
};

acc_status xconfig_srv(const xnode *map, xserver *srv, acc_error *err)
{
    memset(srv, 0, sizeof *srv);
    srv->packages_per_lane = NAN;
    srv->num_lanes = 8;
    srv->thermal_eval = 1;
    srv->custom_max_power = NAN;
    srv->package_max_power_factor = 1.0;
    const xnode *custom[COUNT(srv_fields)] = {0};
    acc_status status =
        xfields_read(map, "Server", srv_fields, COUNT(srv_fields), srv, custom, err);
    if (status)
        return status;
    if (required(map, srv->packages_per_lane, "Server", "packages_per_lane", err))
        return ACC_ERR_INPUT;
    if (!custom[0])
        return xnode_error(err, map, "Server: missing required key 'io'");
    return read_io(custom[0], "Server.io", &srv->io, err);
}

/* ---- model --------------------------------------------------------------- */

static const xfield model_fields[] = {
    STR(xllm, name),
    POSINT(xllm, num_layers),
    POSINT(xllm, d),
    POSINT(xllm, num_heads),
    POSINT(xllm, d_head),
    POSINT(xllm, d_ff),
    STR(xllm, act),
    POSINT(xllm, heads_per_kv_cache),
    POS(xllm, bytes_per_number),
    INT(xllm, num_experts),
    INT(xllm, experts_per_token),
    POS(xllm, weight_bits),
    POS(xllm, kv_bits),
    POSINT(xllm, vocab_size),
    BOOL(xllm, tied_embeddings),
};

acc_status xconfig_model(const xnode *map, xllm *m, acc_error *err)
{
    memset(m, 0, sizeof *m);
    m->num_layers = m->d = m->num_heads = m->d_head = m->d_ff = NAN;
    snprintf(m->act, sizeof m->act, "gelu");
    m->heads_per_kv_cache = 1;
    m->bytes_per_number = 2;
    m->weight_bits = m->kv_bits = NAN;
    acc_status status = xfields_read(map, "Model", model_fields, COUNT(model_fields), m, NULL, err);
    if (status)
        return status;
    if (!m->name[0])
        return xnode_error(err, map, "Model: missing required key 'name'");
    if (required(map, m->num_layers, "Model", "num_layers", err) ||
        required(map, m->d, "Model", "d", err) ||
        required(map, m->num_heads, "Model", "num_heads", err))
        return ACC_ERR_INPUT;
    if (m->heads_per_kv_cache > m->num_heads)
        return xnode_error(err, map, "Model.heads_per_kv_cache: %g is more than num_heads %g",
                           m->heads_per_kv_cache, m->num_heads);
    if ((m->num_experts > 0) != (m->experts_per_token > 0) ||
        m->experts_per_token > m->num_experts)
        return xnode_error(err, map,
                           "Model: num_experts and experts_per_token go together, with "
                           "experts_per_token <= num_experts");
    status = xllm_update(m, err);
    if (status)
        return acc_error_wrap(err, "%s:%d:%d", map->file, map->line, map->column);
    return ACC_OK;
}

/* ---- system -------------------------------------------------------------- */

static const xfield mapping_fields[] = {
    POSINT(xmapping, t),
    POSINT(xmapping, p),
    INT(xmapping, micro_batch),
    INT(xmapping, prefill_micro_batch),
};

enum { SYS_ALGO, SYS_EVAL, SYS_MAPPING, SYS_SUB, SYS_ASPLOS, SYS_IN, SYS_OUT, SYS_CB };
static const xfield sys_fields[] = {
    CUSTOM("allreduce_algo"),
    CUSTOM("eval_len"),
    CUSTOM("default_mapping"),
    CUSTOM("sub_sys_num_servers"),
    CUSTOM("asplos_version"),
    CUSTOM("input_len"),
    CUSTOM("output_len"),
    CUSTOM("continuous_batching"),
    POS(xsysconf, kv_percentile),
    POSINT(xsysconf, num_servers),
    NUM(xsysconf, kv_cache_ratio),
    POSINT(xsysconf, max_ctx_len_batch_1),
    POS(xsysconf, max_tco),
    POSINT(xsysconf, max_batch),
    BOOL(xsysconf, energy_model),
    POS(xsysconf, compute_perf_efficiency),
    POS(xsysconf, io_bandwidth_efficiency),
    POS(xsysconf, weight_bandwidth_efficiency),
    NUM(xsysconf, prefill_overhead_sec),
    NUM(xsysconf, decode_overhead_sec),
    POS(xsysconf, kv_bandwidth_efficiency),
    NUM(xsysconf, roofline_softness),
    NUM(xsysconf, layer_overhead_sec),
    NUM(xsysconf, collective_overhead_sec),
};

/* The efficiency factors, in xeff_param order: system-file key, --fit name,
 * reallm's default, fit bounds and a typical magnitude (the fit's scale). */
static const struct {
    xeff_info info;
    size_t offset;
} eff_table[XEFF_COUNT] = {
    {{"compute_perf_efficiency", "compute", 1, 0.05, 1, 0.1},
     offsetof(xsysconf, compute_perf_efficiency)},
    {{"weight_bandwidth_efficiency", "bandwidth", 1, 0.05, 1, 0.1},
     offsetof(xsysconf, weight_bandwidth_efficiency)},
    {{"kv_bandwidth_efficiency", "kv_bandwidth", NAN, 0.05, 1, 0.1},
     offsetof(xsysconf, kv_bandwidth_efficiency)},
    {{"io_bandwidth_efficiency", "io", 1, 0.01, 1, 0.1},
     offsetof(xsysconf, io_bandwidth_efficiency)},
    {{"roofline_softness", "softness", 0, 0, 1, 0.1}, offsetof(xsysconf, roofline_softness)},
    {{"layer_overhead_sec", "layer", 0, 0, 1e-3, 1e-5}, offsetof(xsysconf, layer_overhead_sec)},
    {{"prefill_overhead_sec", "prefill", 0, 0, 1, 1e-3}, offsetof(xsysconf, prefill_overhead_sec)},
    {{"decode_overhead_sec", "decode", 0, 0, 0.1, 1e-4}, offsetof(xsysconf, decode_overhead_sec)},
    {{"collective_overhead_sec", "collective", 0, 0, 1e-3, 1e-5},
     offsetof(xsysconf, collective_overhead_sec)},
};

const xeff_info *xeff_info_get(xeff_param p)
{
    return &eff_table[p].info;
}

double *xsysconf_eff(xsysconf *s, xeff_param p)
{
    return (double *)((unsigned char *)s + eff_table[p].offset);
}

int xcalibration_is_uncalibrated(const char *calibration)
{
    static const char word[] = "uncalibrated";
    for (size_t i = 0; i < sizeof word - 1; i++)
        if (tolower((unsigned char)calibration[i]) != word[i])
            return 0; /* also stops at the terminator of a shorter string */
    return 1;
}

void xsysconf_resolve(xsysconf *s, const xsysconf *hw_eff)
{
    for (int p = 0; p < XEFF_COUNT; p++) {
        double *v = xsysconf_eff(s, (xeff_param)p);
        if (!isnan(*v))
            continue;
        if (hw_eff)
            *v = *xsysconf_eff((xsysconf *)hw_eff, (xeff_param)p);
        if (isnan(*v))
            *v = eff_table[p].info.def;
    }
    if (!s->has_allreduce_algo && hw_eff && hw_eff->has_allreduce_algo) {
        s->allreduce_algo = hw_eff->allreduce_algo;
        s->has_allreduce_algo = 1;
    }
}

static const struct {
    const char *name;
    xallreduce algo;
} algos[] = {
    {"ring", XAR_RING},
    {"2d_ring", XAR_2D_RING},
    {"3d_ring", XAR_3D_RING},
    {"local_4d_16", XAR_LOCAL_4D_16},
    {"local_2d_16", XAR_LOCAL_2D_16},
    {"local_ring_16", XAR_LOCAL_RING_16},
    {"local_ring_8", XAR_LOCAL_RING_8},
    {"direct", XAR_DIRECT},
};

static acc_status read_algo(const xnode *node, xsysconf *s, acc_error *err)
{
    char text[32];
    acc_status status = xnode_string(node, "allreduce_algo", text, sizeof text, err);
    if (status)
        return status;
    size_t i = 0;
    while (i < COUNT(algos) && strcmp(algos[i].name, text) != 0)
        i++;
    if (i == COUNT(algos))
        return xnode_error(err, node,
                           "allreduce_algo: unknown algorithm '%.40s' (ring, 2d_ring, 3d_ring, "
                           "local_4d_16, local_2d_16, local_ring_16, local_ring_8, direct)",
                           text);
    s->allreduce_algo = algos[i].algo;
    s->has_allreduce_algo = 1;
    return ACC_OK;
}

static const xfield cb_fields[] = {
    POSINT(xcbatch_conf, chunk_tokens),
    POSINT(xcbatch_conf, concurrency),
    POS(xcbatch_conf, arrival_rate),
};

/* input_len / output_len (numbers or distributions, overriding eval_len),
 * their representative points, and the KV context at kv_percentile. */
static acc_status read_workload(const xnode *in_node, const xnode *out_node, const xnode *map,
                                xsysconf *s, acc_error *err)
{
    xlen_src src[2];
    const xnode *nodes[2] = {in_node, out_node};
    static const char *const names[2] = {"input_len", "output_len"};
    acc_status status = ACC_OK;
    int parsed = 0;
    for (; parsed < 2; parsed++) {
        if (nodes[parsed] && !xnode_is_null(nodes[parsed]))
            status = xlen_src_parse(nodes[parsed], names[parsed], &src[parsed], err);
        else
            xlen_src_point(&src[parsed], s->eval_len[parsed]);
        if (status)
            break;
    }
    if (!status && !(s->kv_percentile <= 100))
        status = xnode_error(err, map, "kv_percentile: a percentage up to 100 (got %g)",
                             s->kv_percentile);
    if (!status) {
        s->has_dist = src[0].kind != XLEN_POINT || src[1].kind != XLEN_POINT;
        xlen_discretize(&src[0], &s->len_in);
        xlen_discretize(&src[1], &s->len_out);
        s->eval_len[0] = s->len_in.mean;
        s->eval_len[1] = s->len_out.mean;
        s->kv_ctx = xlen_sum_quantile(&src[0], &src[1], s->kv_percentile / 100);
    }
    for (int i = 0; i < parsed && i < 2; i++)
        xlen_src_free(&src[i]);
    return status;
}

static acc_status read_cbatch(const xnode *node, xsysconf *s, acc_error *err)
{
    xcbatch_conf *cb = &s->cb;
    cb->chunk_tokens = 512;
    acc_status status =
        xfields_read(node, "continuous_batching", cb_fields, COUNT(cb_fields), cb, NULL, err);
    if (status)
        return status;
    cb->on = 1;
    if (cb->concurrency > 0 && cb->arrival_rate > 0)
        return xnode_error(err, node,
                           "continuous_batching: give concurrency or arrival_rate, not both");
    if (cb->concurrency > s->max_batch)
        return xnode_error(err, node,
                           "continuous_batching.concurrency: %g is above max_batch %g",
                           cb->concurrency, s->max_batch);
    return ACC_OK;
}

acc_status xconfig_sys(const xnode *map, xsysconf *s, acc_error *err)
{
    memset(s, 0, sizeof *s);
    s->num_servers = s->kv_cache_ratio = s->max_ctx_len_batch_1 = s->max_tco = NAN;
    s->max_batch = 1024;
    s->eval_len[0] = 128;
    s->eval_len[1] = 129;
    s->energy_model = 1;
    s->kv_percentile = 99;
    for (int p = 0; p < XEFF_COUNT; p++)
        *xsysconf_eff(s, (xeff_param)p) = NAN; /* xsysconf_resolve fills them */
    s->allreduce_algo = XAR_RING;
    const xnode *custom[COUNT(sys_fields)] = {0};
    acc_status status =
        xfields_read(map, "system", sys_fields, COUNT(sys_fields), s, custom, err);
    if (status)
        return status;
    if (custom[SYS_ALGO] && (status = read_algo(custom[SYS_ALGO], s, err)))
        return status;
    const xnode *eval = custom[SYS_EVAL];
    if (eval) {
        if (eval->kind != XNODE_SEQ || eval->count != 2)
            return xnode_error(err, eval,
                               "eval_len: expected an [input_len, output_len] pair (a list of "
                               "pairs is a sweep: [[256, 64], [64, 256]])");
        for (int i = 0; i < 2; i++) {
            double v;
            if ((status = xnode_number(eval->items[i], "eval_len", &v, err)))
                return status;
            if (v < 1 || v != floor(v))
                return xnode_error(err, eval->items[i],
                                   "eval_len: lengths must be whole numbers >= 1 (got %g)", v);
            s->eval_len[i] = v;
        }
    }
    if ((status = read_workload(custom[SYS_IN], custom[SYS_OUT], map, s, err)))
        return status;
    if (custom[SYS_CB] && !xnode_is_null(custom[SYS_CB]) &&
        (status = read_cbatch(custom[SYS_CB], s, err)))
        return status;
    const xnode *dm = custom[SYS_MAPPING];
    if (dm && !xnode_is_null(dm)) {
        xmapping *mp = &s->default_mapping;
        mp->t = mp->p = 1;
        mp->micro_batch = mp->prefill_micro_batch = 1;
        if ((status = xfields_read(dm, "default_mapping", mapping_fields, COUNT(mapping_fields),
                                   mp, NULL, err)))
            return status;
        s->has_default_mapping = 1;
    }
    if (custom[SYS_SUB] && !xnode_is_null(custom[SYS_SUB]))
        return xnode_error(err, custom[SYS_SUB],
                           "sub_sys_num_servers: dynamic sub-systems are not supported");
    if (custom[SYS_ASPLOS] && !xnode_is_null(custom[SYS_ASPLOS])) {
        int on;
        if ((status = xnode_bool(custom[SYS_ASPLOS], "asplos_version", &on, err)))
            return status;
        if (on)
            return xnode_error(err, custom[SYS_ASPLOS],
                               "asplos_version: the ASPLOS-submission model is not supported");
    }
    if (!isnan(s->kv_cache_ratio) && s->kv_cache_ratio >= 1)
        return xnode_error(err, map, "kv_cache_ratio: must be below 1");
    if (isnan(s->num_servers) && isnan(s->kv_cache_ratio) && isnan(s->max_ctx_len_batch_1) &&
        isnan(s->max_tco))
        return xnode_error(err, map,
                           "system: give one of num_servers, kv_cache_ratio, "
                           "max_ctx_len_batch_1 or max_tco");
    return ACC_OK;
}

/* The hardware file's Efficiency section: the system file's efficiency keys
 * and allreduce_algo, as defaults for every system on this hardware. */
acc_status xconfig_efficiency(const xnode *map, xsysconf *s, acc_error *err)
{
    xfield fields[XEFF_COUNT + 1];
    for (int p = 0; p < XEFF_COUNT; p++) {
        xfield_type type = eff_table[p].info.def == 0 ? XF_NUM : XF_POS;
        fields[p] = (xfield){eff_table[p].info.key, type, eff_table[p].offset, 0};
    }
    fields[XEFF_COUNT] = (xfield)CUSTOM("allreduce_algo");
    memset(s, 0, sizeof *s);
    for (int p = 0; p < XEFF_COUNT; p++)
        *xsysconf_eff(s, (xeff_param)p) = NAN;
    const xnode *custom[XEFF_COUNT + 1] = {0};
    acc_status status = xfields_read(map, "Efficiency", fields, XEFF_COUNT + 1, s, custom, err);
    if (status || !custom[XEFF_COUNT])
        return status;
    return read_algo(custom[XEFF_COUNT], s, err);
}

/* ---- constants ----------------------------------------------------------- */

static const xfield const_chip_fields[] = {
    NUM(xconst_chip, sram_density),     NUM(xconst_chip, macs_density),
    NUM(xconst_chip, w_per_tops),       NUM(xconst_chip, max_power_density),
    NUM(xconst_chip, padring_width),    POS(xconst_chip, max_die_area),
    NUM(xconst_chip, D0),               POS(xconst_chip, alpha),
    POS(xconst_chip, wafer_diameter),   NUM(xconst_chip, wafer_dicing_gap),
    NUM(xconst_chip, wafer_cost),       NUM(xconst_chip, testing_cost_overhead),
    NUM(xconst_chip, hbm_phy_ctrl_area_per_channel),
    NUM(xconst_chip, mem_3d_tsv_ctrl_area_per_vault),
    NUM(xconst_chip, mem_3d_ctrl_area_per_vault),
    NUM(xconst_chip, mem_3d_area_per_tsv),
    NUM(xconst_chip, mem_3d_test_area_per_vault),
};

static const xfield const_pkg_fields[] = {
    CUSTOM("os_layer_scale_factor"),   POS(xconst_pkg, max_die_area),
    NUM(xconst_pkg, max_power_density), POS(xconst_pkg, os_area_scale_factor),
    NUM(xconst_pkg, os_cost_per_mm2),   POS(xconst_pkg, os_bonding_yield),
    NUM(xconst_pkg, c4_bump_cost_per_mm2), POS(xconst_pkg, si_area_scale_factor),
    NUM(xconst_pkg, si_wafer_cost),     POS(xconst_pkg, si_bonding_yield),
    NUM(xconst_pkg, si_D0),             POS(xconst_pkg, si_alpha),
};

static const xfield const_srv_fields[] = {
    NUM(xconst_srv, PCBCost),          NUM(xconst_srv, PCBPartsCost),
    NUM(xconst_srv, DCDCCostPerAmp),   NUM(xconst_srv, DCDCMaxCurrent),
    POS(xconst_srv, DCDCEfficiency),   NUM(xconst_srv, MaxDCDCCost),
    NUM(xconst_srv, FanPower),         NUM(xconst_srv, FanCost),
    NUM(xconst_srv, APPPower),         NUM(xconst_srv, APPCost),
    NUM(xconst_srv, PSUCostPerW),      POS(xconst_srv, PSUEfficiency),
    NUM(xconst_srv, PSUOutputVoltage), NUM(xconst_srv, MaxPSUCost),
    NUM(xconst_srv, ChassisCost),      NUM(xconst_srv, EthernetCost),
    POS(xconst_srv, SrvLife),          NUM(xconst_srv, SrvMaxPower),
    NUM(xconst_srv, LaneAreaMin),      NUM(xconst_srv, LaneAreaMax),
};

static const xfield const_tco_fields[] = {
    NUM(xconst_tco, ElectricityCost), POS(xconst_tco, InterestRate),
    NUM(xconst_tco, DCCapex),         POS(xconst_tco, DCAmortPeriod),
    NUM(xconst_tco, DCOpex),          POS(xconst_tco, PUE),
    NUM(xconst_tco, SrvOpexRate),     NUM(xconst_tco, SrvAvgPwr),
};

static const xfield const_energy_fields[] = {
    NUM(xconst_energy, sram_wgt), NUM(xconst_energy, sram_act),     NUM(xconst_energy, dram),
    NUM(xconst_energy, hbm2),     NUM(xconst_energy, stacked_dram), NUM(xconst_energy, fma_fp16),
};

static acc_status read_thresholds(const xnode *map, xconst_pkg *c, acc_error *err)
{
    if (map->kind != XNODE_MAP)
        return xnode_error(err, map,
                           "Package.os_layer_scale_factor: expected a mapping {area: factor}");
    if (map->count == 0 || map->count > XMAX_THRESHOLDS)
        return xnode_error(err, map, "Package.os_layer_scale_factor: 1 to %d entries",
                           XMAX_THRESHOLDS);
    for (size_t i = 0; i < map->count; i++) {
        acc_status status;
        if ((status = xnode_number(map->keys[i], "Package.os_layer_scale_factor",
                                   &c->layer_threshold[i], err)) ||
            (status = xnode_number(map->items[i], "Package.os_layer_scale_factor",
                                   &c->layer_factor[i], err)))
            return status;
        if (c->layer_threshold[i] < 0 || c->layer_factor[i] < 0)
            return xnode_error(err, map->items[i],
                               "Package.os_layer_scale_factor: must not be negative");
    }
    c->n_layer_factors = map->count;
    return ACC_OK;
}

acc_status xconstants_parse(const xnode *root, xconstants *c, acc_error *err)
{
    if (root->kind != XNODE_MAP)
        return xnode_error(err, root, "constants: expected a mapping of sections");
    for (size_t i = 0; i < root->count; i++) {
        const char *name = root->keys[i]->text;
        const xnode *section = root->items[i];
        acc_status status;
        if (!strcmp(name, "Chip")) {
            status = xfields_read(section, "Chip", const_chip_fields, COUNT(const_chip_fields),
                                  &c->chip, NULL, err);
        } else if (!strcmp(name, "Package")) {
            const xnode *custom[COUNT(const_pkg_fields)] = {0};
            status = xfields_read(section, "Package", const_pkg_fields,
                                  COUNT(const_pkg_fields), &c->pkg, custom, err);
            if (!status && custom[0])
                status = read_thresholds(custom[0], &c->pkg, err);
        } else if (!strcmp(name, "Server")) {
            status = xfields_read(section, "Server", const_srv_fields, COUNT(const_srv_fields),
                                  &c->srv, NULL, err);
        } else if (!strcmp(name, "TCO")) {
            status = xfields_read(section, "TCO", const_tco_fields, COUNT(const_tco_fields),
                                  &c->tco, NULL, err);
        } else if (!strcmp(name, "Energy")) {
            status = xfields_read(section, "Energy", const_energy_fields,
                                  COUNT(const_energy_fields), &c->energy, NULL, err);
        } else {
            return xnode_error(err, root->keys[i],
                               "unknown constants section '%s' (Chip, Package, Server, TCO, "
                               "Energy)",
                               name);
        }
        if (status)
            return status;
    }
    if (c->srv.LaneAreaMin > c->srv.LaneAreaMax)
        return xnode_error(err, root, "Server: LaneAreaMin is above LaneAreaMax");
    return ACC_OK;
}

void xconstants_default(xconstants *c)
{
    memset(c, 0, sizeof *c);
    c->chip = (xconst_chip){.macs_density = 0.72,
                            .sram_density = 0.45,
                            .w_per_tops = 1.3,
                            .max_power_density = 1.1,
                            .padring_width = 0.35,
                            .max_die_area = 900.0,
                            .D0 = 0.001,
                            .alpha = 10.0,
                            .wafer_diameter = 300,
                            .wafer_dicing_gap = 0.1,
                            .wafer_cost = 10000,
                            .testing_cost_overhead = 0.01,
                            .hbm_phy_ctrl_area_per_channel = 1.04,
                            .mem_3d_tsv_ctrl_area_per_vault = 0.5,
                            .mem_3d_ctrl_area_per_vault = 0.15,
                            .mem_3d_area_per_tsv = 0.0097,
                            .mem_3d_test_area_per_vault = 0.72};
    c->pkg = (xconst_pkg){.max_die_area = 1600.0,
                          .max_power_density = 1.0,
                          .os_area_scale_factor = 4.0,
                          .os_cost_per_mm2 = 0.005,
                          .n_layer_factors = 3,
                          .layer_threshold = {900, 289, 0},
                          .layer_factor = {2, 1.75, 1.0},
                          .os_bonding_yield = 0.99,
                          .c4_bump_cost_per_mm2 = 0.005,
                          .si_area_scale_factor = 1.1,
                          .si_wafer_cost = 1937.0,
                          .si_bonding_yield = 0.95,
                          .si_D0 = 0.0007,
                          .si_alpha = 6.0};
    c->srv = (xconst_srv){.PCBCost = 50.0,
                          .PCBPartsCost = 50.0,
                          .DCDCCostPerAmp = 0.33,
                          .DCDCMaxCurrent = 30.0,
                          .DCDCEfficiency = 0.95,
                          .MaxDCDCCost = 300.0,
                          .FanPower = 7.4,
                          .FanCost = 15.0,
                          .APPPower = 50.0,
                          .APPCost = 200.0,
                          .PSUCostPerW = 0.13,
                          .PSUEfficiency = 0.95,
                          .PSUOutputVoltage = 12.0,
                          .MaxPSUCost = 100.0,
                          .ChassisCost = 30.0,
                          .EthernetCost = 450.0,
                          .SrvLife = 1.5,
                          .SrvMaxPower = 2000.0,
                          .LaneAreaMin = 100.0,
                          .LaneAreaMax = 9000.0};
    c->tco = (xconst_tco){.ElectricityCost = 0.067,
                          .InterestRate = 0.08,
                          .DCCapex = 10.0,
                          .DCAmortPeriod = 12.0,
                          .DCOpex = 0.04,
                          .PUE = 1.5,
                          .SrvOpexRate = 0.05,
                          .SrvAvgPwr = 1.0};
    c->energy = (xconst_energy){.sram_wgt = 1.25,
                                .sram_act = 0.94,
                                .dram = 80.0,
                                .hbm2 = 31.2,
                                .stacked_dram = 18.72,
                                .fma_fp16 = 1.3};
}
