/*
 * fuzz_config.c — libFuzzer target: acc_hparams_parse_json on raw bytes
 * (not NUL-terminated).  On success the struct must satisfy the invariants
 * the graph builders rely on.
 */
#include <stdint.h>
#include <stdlib.h>

#include "accinf/hparams.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc_hparams hp;
    acc_error err;
    if (acc_hparams_parse_json((const char *)data, size, "fuzz", &hp, &err) != ACC_OK)
        return 0;
    if (hp.vocab_size <= 0 || hp.hidden_size <= 0 || hp.n_layers <= 0 || hp.n_heads <= 0 ||
        hp.n_kv_heads <= 0 || hp.n_heads % hp.n_kv_heads != 0 || hp.head_dim <= 0 ||
        hp.intermediate_size <= 0 || hp.max_position <= 0 || !(hp.norm_eps > 0.0f) ||
        !(hp.norm_eps < 1.0f) || (unsigned)hp.arch >= ACC_ARCH_COUNT)
        abort();
    if (hp.sliding_window != 0 && (hp.sliding_window < 0 || hp.sliding_window >= hp.max_position))
        abort();
    if (hp.arch != ACC_ARCH_GPT2 && !(hp.rope_theta > 0.0f))
        abort();
    return 0;
}
