/*
 * convert_internal.h — pieces of the converter shared between its files:
 * the tokenizer metadata writer (convert_vocab.c) and the model metadata
 * writer (convert_meta.c), both used by convert.c.
 */
#ifndef ACCINF_CONVERT_INTERNAL_H
#define ACCINF_CONVERT_INTERNAL_H

#include "accinf/convert.h"
#include "accinf/gguf.h"
#include "accinf/hparams.h"

/* tokenizer.ggml.* (and tokenizer.chat_template) from dir/tokenizer.json. */
acc_status convert_write_vocab(const char *dir, const acc_hparams *hp, acc_gguf_writer *w,
                               acc_error *err);
/* general.* and <arch>.* keys. */
acc_status convert_write_hparams(const char *name, const acc_hparams *hp, acc_gguf_writer *w,
                                 acc_error *err);
/* llama.cpp's rope_freqs for Llama-3 rope scaling: head_dim/2 factors. */
void convert_llama3_rope_factors(const acc_hparams *hp, float *factors);

#endif
