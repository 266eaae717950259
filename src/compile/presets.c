/*
 * presets.c — loading and resolving compile presets (YAML through
 * libyaml's document API).  The file:
 *
 *   groups:
 *     GROUP: {default: NAME?, presets: {NAME: {SETTING: VALUE, ..}, ..}}
 *   combinations:
 *     "NAME+NAME..": {SETTING: VALUE, ..}
 *
 * Settings are a closed set (target, dtype, max_batch, max_context,
 * batch_tkv_limit, prefill_chunk, threads) so a typo is an error, not a
 * silently ignored key.  Preset names are unique across groups.
 */
#include "compile/presets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define PRESETS_MAX_NAME 64

typedef struct preset_kv {
    char *name, *value;
} preset_kv;

typedef struct preset {
    char *name;
    int group; /* -1 for a combination */
    preset_kv *settings;
    int n_settings;
    int *members, n_members; /* combination: preset indices */
} preset;

struct acc_presets {
    char **groups;
    int *group_default; /* preset index or -1 */
    int n_groups;
    preset *presets; /* named presets */
    int n_presets;
    preset *combinations;
    int n_combinations;
};

static const char *const known_settings[] = {
    "target", "dtype", "max_batch", "max_context", "batch_tkv_limit", "prefill_chunk", "threads"};

int acc_setting_known(const char *name)
{
    for (size_t i = 0; i < sizeof known_settings / sizeof known_settings[0]; i++)
        if (strcmp(name, known_settings[i]) == 0)
            return 1;
    return 0;
}

static int setting_is_integer(const char *name)
{
    return strcmp(name, "target") != 0 && strcmp(name, "dtype") != 0;
}

/* ---- YAML helpers ---- */

typedef struct yaml_ctx {
    yaml_document_t *doc;
    const char *where;
    acc_error *err;
} yaml_ctx;

static acc_status yaml_fail(yaml_ctx *y, yaml_node_t *node, const char *what)
{
    return acc_error_set(y->err, ACC_ERR_INPUT, "%s:%zu:%zu: %s", y->where,
                         node ? node->start_mark.line + 1 : 0,
                         node ? node->start_mark.column + 1 : 0, what);
}

static const char *yaml_scalar(yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static yaml_node_t *yaml_get(yaml_ctx *y, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = yaml_scalar(yaml_document_get_node(y->doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(y->doc, p->value);
    }
    return NULL;
}

static acc_status presets_read_settings(yaml_ctx *y, yaml_node_t *map, const char *owner,
                                        preset *out)
{
    char what[256];
    if (!map || map->type != YAML_MAPPING_NODE) {
        snprintf(what, sizeof what, "%s: expected a mapping of settings", owner);
        return yaml_fail(y, map, what);
    }
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    out->settings = acc_calloc(n ? n : 1, sizeof *out->settings, y->err);
    if (!out->settings)
        return ACC_ERR_RUNTIME;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
        const char *k = yaml_scalar(kn), *v = yaml_scalar(vn);
        if (!k || !acc_setting_known(k)) {
            snprintf(what, sizeof what,
                     "%s: unknown setting '%.40s' (known: target, dtype, max_batch, "
                     "max_context, batch_tkv_limit, prefill_chunk, threads)",
                     owner, k ? k : "?");
            return yaml_fail(y, kn, what);
        }
        if (!v || !v[0]) {
            snprintf(what, sizeof what, "%s.%s: expected a value", owner, k);
            return yaml_fail(y, vn, what);
        }
        if (setting_is_integer(k)) {
            char *end;
            long value = strtol(v, &end, 10);
            if (*end || value < 0 || value > (1L << 30)) {
                snprintf(what, sizeof what, "%s.%s: '%.40s' is not a non-negative integer", owner,
                         k, v);
                return yaml_fail(y, vn, what);
            }
        }
        for (int i = 0; i < out->n_settings; i++)
            if (strcmp(out->settings[i].name, k) == 0) {
                snprintf(what, sizeof what, "%s: setting '%s' twice", owner, k);
                return yaml_fail(y, kn, what);
            }
        out->settings[out->n_settings].name = acc_strdup(k, y->err);
        out->settings[out->n_settings].value = acc_strdup(v, y->err);
        if (!out->settings[out->n_settings].name || !out->settings[out->n_settings].value)
            return ACC_ERR_RUNTIME;
        out->n_settings++;
    }
    return ACC_OK;
}

static int presets_find(const acc_presets *p, const char *name)
{
    for (int i = 0; i < p->n_presets; i++)
        if (strcmp(p->presets[i].name, name) == 0)
            return i;
    return -1;
}

static acc_status presets_read_groups(yaml_ctx *y, yaml_node_t *groups, acc_presets *p)
{
    if (!groups || groups->type != YAML_MAPPING_NODE)
        return yaml_fail(y, groups, "groups: expected a mapping of GROUP: {default, presets}");
    size_t n = (size_t)(groups->data.mapping.pairs.top - groups->data.mapping.pairs.start);
    size_t total = 0;
    for (yaml_node_pair_t *g = groups->data.mapping.pairs.start; g < groups->data.mapping.pairs.top;
         g++) {
        yaml_node_t *ps = yaml_get(y, yaml_document_get_node(y->doc, g->value), "presets");
        if (ps && ps->type == YAML_MAPPING_NODE)
            total += (size_t)(ps->data.mapping.pairs.top - ps->data.mapping.pairs.start);
    }
    p->groups = acc_calloc(n ? n : 1, sizeof *p->groups, y->err);
    p->group_default = acc_calloc(n ? n : 1, sizeof *p->group_default, y->err);
    p->presets = acc_calloc(total ? total : 1, sizeof *p->presets, y->err);
    if (!p->groups || !p->group_default || !p->presets)
        return ACC_ERR_RUNTIME;
    char what[256];
    for (yaml_node_pair_t *g = groups->data.mapping.pairs.start; g < groups->data.mapping.pairs.top;
         g++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, g->key);
        yaml_node_t *body = yaml_document_get_node(y->doc, g->value);
        const char *name = yaml_scalar(kn);
        if (!name || !name[0] || strlen(name) > PRESETS_MAX_NAME)
            return yaml_fail(y, kn, "groups: a group needs a name of 1 to 64 characters");
        int gi = p->n_groups++;
        p->groups[gi] = acc_strdup(name, y->err);
        p->group_default[gi] = -1;
        if (!p->groups[gi])
            return ACC_ERR_RUNTIME;
        yaml_node_t *ps = yaml_get(y, body, "presets");
        if (!ps || ps->type != YAML_MAPPING_NODE) {
            snprintf(what, sizeof what, "groups.%s: needs 'presets:', a mapping of NAME: settings",
                     name);
            return yaml_fail(y, body, what);
        }
        for (yaml_node_pair_t *e = ps->data.mapping.pairs.start; e < ps->data.mapping.pairs.top;
             e++) {
            yaml_node_t *en = yaml_document_get_node(y->doc, e->key);
            const char *pname = yaml_scalar(en);
            if (!pname || !pname[0] || strlen(pname) > PRESETS_MAX_NAME || strchr(pname, '+'))
                return yaml_fail(y, en, "a preset name must be 1 to 64 characters without '+'");
            if (presets_find(p, pname) >= 0) {
                snprintf(what, sizeof what, "preset '%s' is defined twice", pname);
                return yaml_fail(y, en, what);
            }
            preset *pr = &p->presets[p->n_presets++];
            pr->name = acc_strdup(pname, y->err);
            pr->group = gi;
            if (!pr->name)
                return ACC_ERR_RUNTIME;
            snprintf(what, sizeof what, "groups.%s.presets.%s", name, pname);
            acc_status st =
                presets_read_settings(y, yaml_document_get_node(y->doc, e->value), what, pr);
            if (st != ACC_OK)
                return st;
        }
        yaml_node_t *def = yaml_get(y, body, "default");
        if (def) {
            const char *dname = yaml_scalar(def);
            int di = dname ? presets_find(p, dname) : -1;
            if (di < 0 || p->presets[di].group != gi) {
                snprintf(what, sizeof what,
                         "groups.%s.default: '%.64s' is not a preset of the group", name,
                         dname ? dname : "?");
                return yaml_fail(y, def, what);
            }
            p->group_default[gi] = di;
        }
    }
    return ACC_OK;
}

static acc_status presets_read_combinations(yaml_ctx *y, yaml_node_t *combos, acc_presets *p)
{
    if (!combos)
        return ACC_OK;
    if (combos->type != YAML_MAPPING_NODE)
        return yaml_fail(y, combos, "combinations: expected a mapping of \"A+B\": settings");
    size_t n = (size_t)(combos->data.mapping.pairs.top - combos->data.mapping.pairs.start);
    p->combinations = acc_calloc(n ? n : 1, sizeof *p->combinations, y->err);
    if (!p->combinations)
        return ACC_ERR_RUNTIME;
    char what[300];
    for (yaml_node_pair_t *c = combos->data.mapping.pairs.start; c < combos->data.mapping.pairs.top;
         c++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, c->key);
        const char *name = yaml_scalar(kn);
        if (!name || strlen(name) > 4 * PRESETS_MAX_NAME)
            return yaml_fail(y, kn, "combinations: a key must be \"A+B\"");
        preset *pr = &p->combinations[p->n_combinations++];
        pr->name = acc_strdup(name, y->err);
        pr->group = -1;
        pr->members = acc_calloc(strlen(name) + 1, sizeof *pr->members, y->err);
        if (!pr->name || !pr->members)
            return ACC_ERR_RUNTIME;
        char buf[4 * PRESETS_MAX_NAME + 1];
        snprintf(buf, sizeof buf, "%s", name);
        for (char *save = NULL, *part = strtok_r(buf, "+", &save); part;
             part = strtok_r(NULL, "+", &save)) {
            int idx = presets_find(p, part);
            if (idx < 0) {
                snprintf(what, sizeof what, "combinations.%s: unknown preset '%s'", name, part);
                return yaml_fail(y, kn, what);
            }
            for (int m = 0; m < pr->n_members; m++)
                if (p->presets[pr->members[m]].group == p->presets[idx].group) {
                    snprintf(what, sizeof what,
                             "combinations.%s: two presets of group '%s' can never be chosen "
                             "together",
                             name, p->groups[p->presets[idx].group]);
                    return yaml_fail(y, kn, what);
                }
            pr->members[pr->n_members++] = idx;
        }
        if (pr->n_members < 2) {
            snprintf(what, sizeof what, "combinations.%s: name two or more presets joined by '+'",
                     name);
            return yaml_fail(y, kn, what);
        }
        snprintf(what, sizeof what, "combinations.%s", name);
        acc_status st =
            presets_read_settings(y, yaml_document_get_node(y->doc, c->value), what, pr);
        if (st != ACC_OK)
            return st;
    }
    return ACC_OK;
}

acc_status acc_presets_parse(const char *text, size_t size, const char *where, acc_presets **out,
                             acc_error *err)
{
    *out = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot start the YAML parser", where);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    if (!yaml_parser_load(&parser, &doc)) {
        acc_status st = acc_error_set(err, ACC_ERR_INPUT, "%s:%zu:%zu: YAML: %s", where,
                                      parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                      parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_parser_delete(&parser);
    yaml_ctx y = {.doc = &doc, .where = where, .err = err};
    acc_presets *p = acc_calloc(1, sizeof *p, err);
    acc_status status = p ? ACC_OK : ACC_ERR_RUNTIME;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (status == ACC_OK && (!root || root->type != YAML_MAPPING_NODE))
        status = yaml_fail(&y, root, "expected a mapping with 'groups:'");
    if (status == ACC_OK)
        status = presets_read_groups(&y, yaml_get(&y, root, "groups"), p);
    if (status == ACC_OK)
        status = presets_read_combinations(&y, yaml_get(&y, root, "combinations"), p);
    if (status == ACC_OK) {
        for (yaml_node_pair_t *k = root->data.mapping.pairs.start;
             k < root->data.mapping.pairs.top && status == ACC_OK; k++) {
            yaml_node_t *kn = yaml_document_get_node(&doc, k->key);
            const char *key = yaml_scalar(kn);
            if (!key || (strcmp(key, "groups") != 0 && strcmp(key, "combinations") != 0))
                status = yaml_fail(&y, kn, "unknown top-level key (want groups, combinations)");
        }
    }
    yaml_document_delete(&doc);
    if (status != ACC_OK) {
        acc_presets_free(p);
        return status;
    }
    *out = p;
    return ACC_OK;
}

acc_status acc_presets_load(const char *path, acc_presets **out, acc_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(path, &text, &size, err);
    if (status != ACC_OK)
        return status;
    status = acc_presets_parse(text, size, path, out, err);
    free(text);
    return status;
}

static void preset_free(preset *pr)
{
    free(pr->name);
    for (int i = 0; pr->settings && i < pr->n_settings; i++) {
        free(pr->settings[i].name);
        free(pr->settings[i].value);
    }
    free(pr->settings);
    free(pr->members);
}

void acc_presets_free(acc_presets *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_groups; i++)
        free(p->groups[i]);
    free(p->groups);
    free(p->group_default);
    for (int i = 0; i < p->n_presets; i++)
        preset_free(&p->presets[i]);
    free(p->presets);
    for (int i = 0; i < p->n_combinations; i++)
        preset_free(&p->combinations[i]);
    free(p->combinations);
    free(p);
}

/* ---- settings ---- */

const char *acc_settings_get(const acc_setting *settings, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(settings[i].name, name) == 0)
            return settings[i].value;
    return NULL;
}

acc_status acc_settings_set(acc_setting **settings, int *n, const char *name, const char *value,
                            const char *origin, acc_error *err)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp((*settings)[i].name, name) == 0) {
            char *v = acc_strdup(value, err), *o = acc_strdup(origin, err);
            if (!v || !o) {
                free(v);
                free(o);
                return ACC_ERR_RUNTIME;
            }
            free((*settings)[i].value);
            free((*settings)[i].origin);
            (*settings)[i].value = v;
            (*settings)[i].origin = o;
            return ACC_OK;
        }
    }
    acc_setting *grown = realloc(*settings, (size_t)(*n + 1) * sizeof *grown);
    if (!grown)
        return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
    *settings = grown;
    acc_setting *s = &grown[*n];
    s->name = acc_strdup(name, err);
    s->value = acc_strdup(value, err);
    s->origin = acc_strdup(origin, err);
    if (!s->name || !s->value || !s->origin) {
        free(s->name);
        free(s->value);
        free(s->origin);
        return ACC_ERR_RUNTIME;
    }
    (*n)++;
    /* keep sorted by name: the cache key must not depend on the order */
    for (int i = *n - 1; i > 0 && strcmp(grown[i - 1].name, grown[i].name) > 0; i--) {
        acc_setting t = grown[i];
        grown[i] = grown[i - 1];
        grown[i - 1] = t;
    }
    return ACC_OK;
}

void acc_settings_free(acc_setting *settings, int n)
{
    for (int i = 0; settings && i < n; i++) {
        free(settings[i].name);
        free(settings[i].value);
        free(settings[i].origin);
    }
    free(settings);
}

static acc_status presets_apply(const preset *pr, const char *origin, acc_setting **settings,
                                int *n, acc_error *err)
{
    for (int i = 0; i < pr->n_settings; i++) {
        acc_status st =
            acc_settings_set(settings, n, pr->settings[i].name, pr->settings[i].value, origin, err);
        if (st != ACC_OK)
            return st;
    }
    return ACC_OK;
}

acc_status acc_presets_resolve(const acc_presets *p, const char *const *chosen, int n_chosen,
                               acc_setting **settings, int *n_settings, acc_error *err)
{
    *settings = NULL;
    *n_settings = 0;
    int *pick = acc_malloc((size_t)(p->n_groups ? p->n_groups : 1) * sizeof *pick, err);
    char *selected = acc_calloc((size_t)(p->n_presets ? p->n_presets : 1), 1, err);
    char *applicable = acc_calloc((size_t)(p->n_combinations ? p->n_combinations : 1), 1, err);
    acc_status status = pick && selected && applicable ? ACC_OK : ACC_ERR_RUNTIME;
    for (int g = 0; status == ACC_OK && g < p->n_groups; g++)
        pick[g] = -1;
    for (int i = 0; status == ACC_OK && i < n_chosen; i++) {
        int idx = presets_find(p, chosen[i]);
        if (idx < 0) {
            char list[512] = "";
            size_t len = 0;
            for (int k = 0; k < p->n_presets && len + 70 < sizeof list; k++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k ? ", " : "",
                                        p->presets[k].name);
            status = acc_error_set(err, ACC_ERR_INPUT, "--preset %s: unknown preset (known: %s)",
                                   chosen[i], list);
            break;
        }
        int g = p->presets[idx].group;
        if (pick[g] >= 0 && pick[g] != idx) {
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "--preset %s and --preset %s: both from group '%s' (choose "
                                   "one)",
                                   p->presets[pick[g]].name, chosen[i], p->groups[g]);
            break;
        }
        pick[g] = idx;
    }
    char origin[PRESETS_MAX_NAME * 4 + 32];
    for (int g = 0; status == ACC_OK && g < p->n_groups; g++) {
        int idx = pick[g] >= 0 ? pick[g] : p->group_default[g];
        if (idx < 0)
            continue;
        selected[idx] = 1;
        snprintf(origin, sizeof origin, "%s %s", pick[g] >= 0 ? "preset" : "default preset",
                 p->presets[idx].name);
        status = presets_apply(&p->presets[idx], origin, settings, n_settings, err);
    }
    /* combinations, least specific first, so more specific ones override */
    for (int c = 0; status == ACC_OK && c < p->n_combinations; c++) {
        applicable[c] = 1;
        for (int m = 0; m < p->combinations[c].n_members; m++)
            if (!selected[p->combinations[c].members[m]])
                applicable[c] = 0;
    }
    for (int c = 0; status == ACC_OK && c < p->n_combinations; c++)
        for (int d = c + 1; status == ACC_OK && d < p->n_combinations; d++) {
            const preset *a = &p->combinations[c], *b = &p->combinations[d];
            if (!applicable[c] || !applicable[d] || a->n_members != b->n_members)
                continue;
            for (int i = 0; i < a->n_settings; i++)
                for (int j = 0; j < b->n_settings; j++)
                    if (strcmp(a->settings[i].name, b->settings[j].name) == 0 &&
                        strcmp(a->settings[i].value, b->settings[j].value) != 0) {
                        status = acc_error_set(err, ACC_ERR_INPUT,
                                               "presets: combinations '%s' and '%s' are equally "
                                               "specific and set %s to %s and %s",
                                               a->name, b->name, a->settings[i].name,
                                               a->settings[i].value, b->settings[j].value);
                        i = a->n_settings;
                        break;
                    }
        }
    int max_members = 0;
    for (int c = 0; c < p->n_combinations; c++)
        if (p->combinations[c].n_members > max_members)
            max_members = p->combinations[c].n_members;
    for (int size = 2; status == ACC_OK && size <= max_members; size++)
        for (int c = 0; status == ACC_OK && c < p->n_combinations; c++) {
            if (!applicable[c] || p->combinations[c].n_members != size)
                continue;
            snprintf(origin, sizeof origin, "combination %s", p->combinations[c].name);
            status = presets_apply(&p->combinations[c], origin, settings, n_settings, err);
        }
    free(pick);
    free(selected);
    free(applicable);
    if (status != ACC_OK) {
        acc_settings_free(*settings, *n_settings);
        *settings = NULL;
        *n_settings = 0;
    }
    return status;
}
