/*
 * presets.h — compile presets composed the way MLCommons CM composes
 * variations: named presets in groups (scenario, batch, dtype, threads ..),
 * at most one choice per group, a default per group, and combinations
 * ("offline+q4_K_M") whose settings override those of less specific ones.
 * See docs/COMPILE.md for the YAML format.
 */
#ifndef ACCINF_PRESETS_H
#define ACCINF_PRESETS_H

#include "accinf/base.h"
#include "accinf/program.h"

typedef struct acc_presets acc_presets;

acc_status acc_presets_load(const char *path, acc_presets **out, acc_error *err);
/* From memory; `where` labels errors (which name line:column). */
acc_status acc_presets_parse(const char *text, size_t size, const char *where, acc_presets **out,
                             acc_error *err);
void acc_presets_free(acc_presets *presets);

/* Resolves the chosen preset names (plus each group's default) into
 * settings sorted by name; every setting names its origin.  Errors: an
 * unknown preset, two choices from one group, two equally specific
 * combinations setting one key to different values. */
acc_status acc_presets_resolve(const acc_presets *presets, const char *const *chosen, int n_chosen,
                               acc_setting **settings, int *n_settings, acc_error *err);

/* Sets (or overrides) one setting; origin is copied. */
acc_status acc_settings_set(acc_setting **settings, int *n, const char *name, const char *value,
                            const char *origin, acc_error *err);
/* The value of a setting, or NULL. */
const char *acc_settings_get(const acc_setting *settings, int n, const char *name);
void acc_settings_free(acc_setting *settings, int n);
/* Whether `name` is a setting compile understands. */
int acc_setting_known(const char *name);

#endif
