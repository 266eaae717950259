/*
 * fuzz_explore_yaml.c — libFuzzer target for the explorer's YAML loader:
 * the input is tried as the hardware file, as the model file, as the system
 * file and as the constants file (the others fixed and valid).  Loading must
 * either succeed or fail with ACC_ERR_INPUT and a message (never crash,
 * leak, or report a runtime failure on a small input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/explore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char HW[] = "Chip:\n  tech: 7nm\n  dataflow: roofline\n  perf: 1.0e+14\n"
                         "  sram: 1.0e+8\n  sram_bw: 1.0e+12\n"
                         "  pkg2pkg_io: {io_type: p2p, num: 2, bandwidth_per_io: 1.0e+11}\n"
                         "Package: {num_chips: 1}\n"
                         "Server: {packages_per_lane: 2, num_lanes: 2,\n"
                         "  io: {io_type: s2s, num: 2, bandwidth_per_io: 1.0e+11}}\n";
static const char MODEL[] = "Model: {name: m, num_layers: 4, d: 256, num_heads: 4}\n";
static const char SYSTEM[] = "num_servers: 1\nworkload: {max_batch: 4, eval_len: [[8, 8]]}\n";

static void try_load(const char *hw, size_t hw_size, const char *model, size_t model_size,
                     const char *consts, size_t consts_size, const char *sys, size_t sys_size)
{
    acc_error err;
    err.message[0] = '\0';
    acc_status status = acc_explore_check_text(hw, hw_size, model, model_size, consts,
                                               consts_size, sys, sys_size, 1e4, &err);
    if (status != ACC_OK && (status != ACC_ERR_INPUT || err.message[0] == '\0'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    try_load(text, size, MODEL, sizeof MODEL - 1, NULL, 0, SYSTEM, sizeof SYSTEM - 1);
    try_load(HW, sizeof HW - 1, text, size, NULL, 0, SYSTEM, sizeof SYSTEM - 1);
    try_load(HW, sizeof HW - 1, MODEL, sizeof MODEL - 1, NULL, 0, text, size);
    try_load(HW, sizeof HW - 1, MODEL, sizeof MODEL - 1, text, size, SYSTEM, sizeof SYSTEM - 1);
    return 0;
}
