/*
 * fuzz_measured.c — libFuzzer target for `explore calibrate`'s measured-
 * points JSON (src/explore/explore_measured.c): a list of points, a
 * {"points", "fit"} object or one `accinf bench --json` object.  Parsing
 * either yields n >= 1 points with a known metric and at most 16 fit
 * entries, or fails with ACC_ERR_INPUT and a message — never a crash, leak
 * or UB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "explore/explore_calibrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmeasured m;
    acc_error err;
    err.message[0] = '\0';
    acc_status st = xmeasured_parse("/fuzz/measured.json", (const char *)data, size, &m, &err);
    if (st != ACC_OK) {
        if (st != ACC_ERR_INPUT || err.message[0] == '\0' || m.points || m.n)
            abort();
        return 0;
    }
    if (m.n < 1 || !m.points || m.n_fit > sizeof m.fit / sizeof m.fit[0])
        abort();
    for (size_t i = 0; i < m.n; i++)
        if ((unsigned)m.points[i].metric >= XM_COUNT ||
            !memchr(m.points[i].name, '\0', sizeof m.points[i].name) ||
            !memchr(m.points[i].model, '\0', sizeof m.points[i].model) ||
            !memchr(m.points[i].hardware, '\0', sizeof m.points[i].hardware))
            abort();
    xmeasured_free(&m);
    return 0;
}
