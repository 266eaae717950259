/*
 * fuzz_presets.c — libFuzzer target for compile's presets YAML
 * (src/compile/presets.c).  The whole input is the YAML; the sum of its
 * bytes picks which of a few common preset names are chosen.  A file that loads
 * is resolved with no choice and with that choice: either succeeds with
 * known settings sorted by name, each with a value and an origin, or fails
 * with ACC_ERR_INPUT and a message — never a crash, leak or UB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile/presets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const NAMES[8] = {"offline", "singlestream", "server", "t1",
                                     "t2",      "f32",          "ctx256", "b4"};

static void resolve(const acc_presets *p, const char *const *chosen, int n_chosen)
{
    acc_setting *settings = NULL;
    int n = 0;
    acc_error err;
    err.message[0] = '\0';
    acc_status st = acc_presets_resolve(p, chosen, n_chosen, &settings, &n, &err);
    if (st != ACC_OK) {
        if (st != ACC_ERR_INPUT || err.message[0] == '\0')
            abort();
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!settings[i].name || !settings[i].value || !settings[i].origin ||
            !acc_setting_known(settings[i].name))
            abort();
        if (i > 0 && strcmp(settings[i - 1].name, settings[i].name) >= 0)
            abort();
    }
    acc_settings_free(settings, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc_presets *p = NULL;
    acc_error err;
    err.message[0] = '\0';
    acc_status st = acc_presets_parse((const char *)data, size, "fuzz", &p, &err);
    if (st != ACC_OK) {
        if (st != ACC_ERR_INPUT || err.message[0] == '\0')
            abort();
        return 0;
    }
    resolve(p, NULL, 0);
    const char *chosen[8];
    int n_chosen = 0;
    unsigned mask = 0;
    for (size_t i = 0; i < size; i++)
        mask += data[i];
    for (int i = 0; i < 8; i++)
        if (mask & (1u << i))
            chosen[n_chosen++] = NAMES[i];
    resolve(p, chosen, n_chosen);
    acc_presets_free(p);
    return 0;
}
