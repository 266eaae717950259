/*
 * test_engine_logits.h — the logits of one short sequence through a whole
 * engine, for tests that compare kernel paths (threads, weight precision,
 * ISA or AMX settings) on a real model.  Include after <cmocka.h>: a
 * failed engine call fails the test.
 */
#ifndef ACCINF_TEST_ENGINE_LOGITS_H
#define ACCINF_TEST_ENGINE_LOGITS_H

#include <stdint.h>
#include <stdlib.h>

#include "accinf/engine.h"

/* decode_last = 0: one prefill step of ids[0..n_ids); returns the last
 * token's logits (vocab floats).  decode_last = 1: a prefill of all but the
 * last token, then a one-token decode step, so both kinds of kernels run;
 * returns 2 x vocab floats (the prefill's last logits, then the decode
 * step's).  The caller frees the result. */
static inline float *test_engine_logits(const acc_model *model, int threads,
                                        acc_weights_precision precision, const int32_t *ids,
                                        int n_ids, int decode_last, int vocab)
{
    acc_engine_options options = {.threads = threads, .max_context = 64,
                                  .weights_precision = precision};
    acc_engine *engine;
    acc_error err;
    assert_int_equal(acc_engine_create(model, &options, &engine, &err), ACC_OK);
    int seq;
    assert_int_equal(acc_engine_seq_create(engine, &seq, &err), ACC_OK);
    float *logits = malloc((size_t)(1 + decode_last) * (size_t)vocab * sizeof *logits);
    assert_non_null(logits);
    int prefill = n_ids - decode_last;
    assert_int_equal(acc_engine_forward_one(engine, seq, ids, prefill, logits, &err), ACC_OK);
    if (decode_last)
        assert_int_equal(
            acc_engine_forward_one(engine, seq, ids + prefill, 1, logits + vocab, &err), ACC_OK);
    acc_engine_destroy(engine);
    return logits;
}

#endif
