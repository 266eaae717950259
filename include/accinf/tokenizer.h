/*
 * tokenizer.h — text <-> token ids exactly as Hugging Face `tokenizers`
 * does it, from a tokenizer.json file.
 *
 * Supported: BPE model; ByteLevel pre-tokenizer (GPT-2 regex) and Split
 * regex pre-tokenizers (Llama-3, Qwen2) in a Sequence; Metaspace and
 * byte-fallback (SentencePiece-style, Llama-2/Mistral) with the Prepend/
 * Replace normalizers; added/special tokens; TemplateProcessing and
 * ByteLevel post-processors; the matching decoders.  Anything else in the
 * file is rejected with an error naming the JSON field.
 */
#ifndef ACCINF_TOKENIZER_H
#define ACCINF_TOKENIZER_H

#include "accinf/base.h"

typedef struct acc_tokenizer acc_tokenizer;

acc_status acc_tokenizer_load(const char *path, acc_tokenizer **out, acc_error *err);
/* Same from memory; `name` labels errors.  Used by the fuzz target. */
acc_status acc_tokenizer_load_json(const char *text, size_t size, const char *name,
                                   acc_tokenizer **out, acc_error *err);
void acc_tokenizer_free(acc_tokenizer *tok);

/* From a GGUF file's tokenizer.ggml.* metadata (tok_gguf.c): model "gpt2"
 * with pre-tokenizer gpt-2, llama-bpe or qwen2, and model "llama"
 * (SentencePiece-style).  *out stays NULL when the file has no tokenizer. */
typedef struct acc_gguf acc_gguf;
acc_status acc_tokenizer_load_gguf(const acc_gguf *gguf, acc_tokenizer **out, acc_error *err);

/* Encodes UTF-8 text (invalid UTF-8 is an error with the byte offset).
 * add_special applies the post-processor (BOS/EOS) as HF's
 * encode(add_special_tokens=True) does.  *ids is malloc'ed. */
acc_status acc_tokenizer_encode(const acc_tokenizer *tok, const char *text, size_t size,
                                int add_special, int32_t **ids, size_t *n_ids,
                                acc_error *err);

/* Decodes as HF's decode(ids, skip_special_tokens=skip_special).  The
 * result is malloc'ed and NUL-terminated; it may hold U+FFFD where ids end
 * inside a multi-byte character, exactly as HF does. */
acc_status acc_tokenizer_decode(const acc_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                int skip_special, char **text, size_t *size, acc_error *err);

int acc_tokenizer_vocab_size(const acc_tokenizer *tok);
/* -1 when the tokenizer defines none. */
int32_t acc_tokenizer_bos_id(const acc_tokenizer *tok);
int32_t acc_tokenizer_eos_id(const acc_tokenizer *tok);
/* The token string as stored in the vocabulary (NULL if id out of range). */
const char *acc_tokenizer_token_text(const acc_tokenizer *tok, int32_t id);
int acc_tokenizer_is_special(const acc_tokenizer *tok, int32_t id);

#endif
