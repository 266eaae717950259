/*
 * explore_inputs.c — loads the four reallm inputs (hardware, model,
 * constants, system) into typed variant arrays: parse, flatten the system's
 * `workload` section as reallm does, count every sweep and refuse one larger
 * than --max-points before expanding anything, then expand and type-check
 * each variant.  Missing constants and system files fall back to reallm's
 * 7nm_default.yaml and sys_default.yaml.
 */
#include "explore/explore_config.h"
#include "explore/explore_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char DEFAULT_SYSTEM[] = "num_servers: 16\n"
                                     "allreduce_algo: '2d_ring'\n"
                                     "default_mapping:\n"
                                     "  t: 64\n"
                                     "  p: 1\n"
                                     "  micro_batch: 0\n"
                                     "  prefill_micro_batch: 0\n"
                                     "workload:\n"
                                     "  max_batch: 1024\n"
                                     "  eval_len: [[256, 64], [64, 256]]\n";

/* reallm moves workload.max_batch and workload.eval_len to the top level
 * (replacing a top-level key in place, else appending) and drops workload;
 * our workload keys (length distributions, continuous batching) move too. */
static const char *const MOVED[] = {"max_batch",     "eval_len",     "input_len",
                                    "output_len",    "kv_percentile", "continuous_batching"};
#define N_MOVED (sizeof MOVED / sizeof *MOVED)

static acc_status flatten_workload(xarena *arena, const xnode *root, xnode **out, acc_error *err)
{
    const xnode *workload = xnode_get(root, "workload");
    *out = (xnode *)root;
    if (!workload)
        return ACC_OK;
    if (workload->kind != XNODE_MAP)
        return xnode_error(err, workload, "workload: expected a mapping");
    for (size_t i = 0; i < workload->count; i++) {
        const char *k = workload->keys[i]->text;
        size_t m = 0;
        while (m < N_MOVED && strcmp(k, MOVED[m]) != 0)
            m++;
        if (m == N_MOVED)
            return xnode_error(err, workload->keys[i],
                               "unknown key '%s' in workload (known keys: max_batch, eval_len, "
                               "input_len, output_len, kv_percentile, continuous_batching)",
                               k);
    }
    size_t cap = root->count + N_MOVED;
    xnode *flat = xarena_alloc(arena, sizeof *flat, err);
    xnode **keys = xarena_alloc(arena, cap * sizeof *keys, err);
    xnode **items = xarena_alloc(arena, cap * sizeof *items, err);
    if (!flat || !keys || !items)
        return err ? err->status : ACC_ERR_RUNTIME;
    *flat = *root;
    size_t n = 0;
    for (size_t i = 0; i < root->count; i++) {
        if (strcmp(root->keys[i]->text, "workload") == 0)
            continue;
        keys[n] = root->keys[i];
        items[n++] = root->items[i];
    }
    for (size_t m = 0; m < N_MOVED; m++) {
        for (size_t i = 0; i < workload->count; i++) {
            if (strcmp(workload->keys[i]->text, MOVED[m]) != 0)
                continue;
            size_t j = 0;
            while (j < n && strcmp(keys[j]->text, MOVED[m]) != 0)
                j++;
            keys[j] = workload->keys[i];
            items[j] = workload->items[i];
            if (j == n)
                n++;
        }
    }
    flat->keys = keys;
    flat->items = items;
    flat->count = n;
    *out = flat;
    return ACC_OK;
}

static acc_status parse_text(xinputs *in, const xinput_text *t, xnode **root, acc_error *err)
{
    acc_status status = xyaml_parse(&in->arena, t->name, t->text, t->size, root, err);
    if (status)
        return status;
    if ((*root)->kind != XNODE_MAP)
        return xnode_error(err, *root, "expected a mapping at the top of the file");
    return ACC_OK;
}

static acc_status section(const xnode *root, const char *name, const xnode **out, acc_error *err)
{
    *out = xnode_get(root, name);
    if (!*out)
        return xnode_error(err, root, "missing section '%s'", name);
    if ((*out)->kind != XNODE_MAP)
        return xnode_error(err, *out, "%s: expected a mapping", name);
    return ACC_OK;
}

typedef struct counted {
    const char *what;
    const xnode *node;
    double count;
} counted;

acc_status xinputs_load(xinputs *in, const xinput_text *hw, const xinput_text *model,
                        const xinput_text *constants, const xinput_text *system,
                        double max_points, acc_error *err)
{
    memset(in, 0, sizeof *in);
    in->arena.limit_bytes = (size_t)1 << 30;
    xconstants_default(&in->constants);
    acc_status status;
    xnode *hw_root, *model_root, *sys_root, *sys_flat;

    if ((status = parse_text(in, hw, &hw_root, err)))
        return status;
    for (size_t i = 0; i < hw_root->count; i++) {
        const char *k = hw_root->keys[i]->text;
        if (strcmp(k, "Name") && strcmp(k, "Chip") && strcmp(k, "Package") &&
            strcmp(k, "Server") && strcmp(k, "Efficiency") && strcmp(k, "Calibration"))
            return xnode_error(err, hw_root->keys[i],
                               "unknown key '%s' at the top of the hardware file (Name, Chip, "
                               "Package, Server, Efficiency, Calibration)",
                               k);
    }
    const xnode *eff = xnode_get(hw_root, "Efficiency");
    if (eff) {
        if ((status = xconfig_efficiency(eff, &in->hw_eff, err)))
            return status;
        in->has_hw_eff = 1;
    }
    const xnode *calibration = xnode_get(hw_root, "Calibration");
    if (calibration &&
        (status = xnode_string(calibration, "Calibration", in->hw_calibration,
                               sizeof in->hw_calibration, err)))
        return status;
    const xnode *name = xnode_get(hw_root, "Name");
    if (name && (status = xnode_string(name, "Name", in->hw_name, sizeof in->hw_name, err)))
        return status;
    const xnode *chip_sec, *pkg_sec, *srv_sec, *model_sec;
    if ((status = section(hw_root, "Chip", &chip_sec, err)) ||
        (status = section(hw_root, "Package", &pkg_sec, err)) ||
        (status = section(hw_root, "Server", &srv_sec, err)))
        return status;

    if ((status = parse_text(in, model, &model_root, err)))
        return status;
    for (size_t i = 0; i < model_root->count; i++)
        if (strcmp(model_root->keys[i]->text, "Model") != 0)
            return xnode_error(err, model_root->keys[i],
                               "unknown key '%s' at the top of the model file (Model)",
                               model_root->keys[i]->text);
    if ((status = section(model_root, "Model", &model_sec, err)))
        return status;

    if (constants && constants->text) {
        xnode *const_root;
        if ((status = parse_text(in, constants, &const_root, err)) ||
            (status = xconstants_parse(const_root, &in->constants, err)))
            return status;
    }
    xinput_text sys_default = {"<default system (reallm sys_default.yaml)>", DEFAULT_SYSTEM,
                               sizeof DEFAULT_SYSTEM - 1};
    if ((status = parse_text(in, system && system->text ? system : &sys_default, &sys_root, err)) ||
        (status = flatten_workload(&in->arena, sys_root, &sys_flat, err)))
        return status;

    counted parts[5] = {{"chip", chip_sec, 0},
                        {"package", pkg_sec, 0},
                        {"server", srv_sec, 0},
                        {"model", model_sec, 0},
                        {"system", sys_flat, 0}};
    double total = 1;
    size_t largest = 0;
    for (size_t i = 0; i < 5; i++) {
        if ((status = xsweep_count(parts[i].node, &parts[i].count, err)))
            return status;
        total *= parts[i].count;
        if (parts[i].count > parts[largest].count)
            largest = i;
    }
    if (max_points > 0 && total > max_points) {
        const xnode *where = xsweep_first_list(parts[largest].node);
        return xnode_error(err, where ? where : parts[largest].node,
                           "sweep of %.0f design points (chip %.0f x package %.0f x server %.0f x "
                           "model %.0f x system %.0f) is larger than --max-points %.0f",
                           total, parts[0].count, parts[1].count, parts[2].count, parts[3].count,
                           parts[4].count, max_points);
    }

    xnode **variants;
    size_t n;
    if ((status = xsweep_expand(&in->arena, chip_sec, &variants, &n, err)))
        return status;
    in->chips = xarena_alloc(&in->arena, n * sizeof *in->chips, err);
    if (!in->chips)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t i = 0; i < n; i++)
        if ((status = xconfig_chip(variants[i], &in->chips[i], err)))
            return status;
    in->n_chips = n;

    if ((status = xsweep_expand(&in->arena, pkg_sec, &variants, &n, err)))
        return status;
    in->pkgs = xarena_alloc(&in->arena, n * sizeof *in->pkgs, err);
    if (!in->pkgs)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t i = 0; i < n; i++)
        if ((status = xconfig_pkg(variants[i], &in->pkgs[i], err)))
            return status;
    in->n_pkgs = n;

    if ((status = xsweep_expand(&in->arena, srv_sec, &variants, &n, err)))
        return status;
    in->srvs = xarena_alloc(&in->arena, n * sizeof *in->srvs, err);
    if (!in->srvs)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t i = 0; i < n; i++)
        if ((status = xconfig_srv(variants[i], &in->srvs[i], err)))
            return status;
    in->n_srvs = n;

    if ((status = xsweep_expand(&in->arena, model_sec, &variants, &n, err)))
        return status;
    in->models = xarena_alloc(&in->arena, n * sizeof *in->models, err);
    if (!in->models)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t i = 0; i < n; i++)
        if ((status = xconfig_model(variants[i], &in->models[i], err)))
            return status;
    in->n_models = n;

    if ((status = xsweep_expand(&in->arena, sys_flat, &variants, &n, err)))
        return status;
    in->sysconfs = xarena_alloc(&in->arena, n * sizeof *in->sysconfs, err);
    if (!in->sysconfs)
        return err ? err->status : ACC_ERR_RUNTIME;
    for (size_t i = 0; i < n; i++) {
        if ((status = xconfig_sys(variants[i], &in->sysconfs[i], err)))
            return status;
        xsysconf_resolve(&in->sysconfs[i], in->has_hw_eff ? &in->hw_eff : NULL);
    }
    in->n_sysconfs = n;
    return ACC_OK;
}

acc_status xmodel_load_text(const char *name, const char *text, size_t size, xllm *out,
                            acc_error *err)
{
    xarena arena;
    memset(&arena, 0, sizeof arena);
    arena.limit_bytes = (size_t)1 << 26;
    xnode *root;
    const xnode *sec;
    double count;
    acc_status status = xyaml_parse(&arena, name, text, size, &root, err);
    if (!status && root->kind != XNODE_MAP)
        status = xnode_error(err, root, "expected a mapping at the top of the file");
    if (!status)
        status = section(root, "Model", &sec, err);
    if (!status)
        status = xsweep_count(sec, &count, err);
    if (!status && count != 1)
        status = xnode_error(err, xsweep_first_list(sec) ? xsweep_first_list(sec) : sec,
                             "Model: a measured point needs one model, not a sweep of %.0f",
                             count);
    if (!status)
        status = xconfig_model(sec, out, err);
    xarena_free(&arena);
    return status;
}

void xinputs_free(xinputs *in)
{
    xarena_free(&in->arena);
    memset(in, 0, sizeof *in);
}

acc_status acc_explore_check_text(const char *hw, size_t hw_size, const char *model,
                                  size_t model_size, const char *constants,
                                  size_t constants_size, const char *system, size_t system_size,
                                  double max_points, acc_error *err)
{
    xinput_text t_hw = {"hw.yaml", hw, hw_size}, t_model = {"model.yaml", model, model_size};
    xinput_text t_const = {"constants.yaml", constants, constants_size};
    xinput_text t_sys = {"system.yaml", system, system_size};
    xinputs in;
    acc_status status = xinputs_load(&in, &t_hw, &t_model, &t_const, &t_sys, max_points, err);
    xinputs_free(&in);
    return status;
}
