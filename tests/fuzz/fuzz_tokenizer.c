/*
 * fuzz_tokenizer.c — libFuzzer target: the fuzz input is a tokenizer.json.
 * If it loads, a fixed text (spaces, digits, accents, CJK, emoji, special-
 * token look-alikes) is encoded with and without special tokens and the
 * ids decoded.  Any input must give ACC_OK or an error, never a crash,
 * leak or UB; on success ids are non-negative and decoded text is UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TEXT[] = "Hello world! It's 2024: caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87 "
                           "\xF0\x9F\x98\x80  <s>x</s> <|endoftext|>\n\n\tend  ";

static void check_ids(const acc_tokenizer *tok, const int32_t *ids, size_t n, int skip)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0)
            abort();
    char *text = NULL;
    size_t text_size = 0;
    acc_error err;
    if (acc_tokenizer_decode(tok, ids, n, skip, &text, &text_size, &err) != ACC_OK)
        return;
    if (!acc_utf8_valid(text, text_size, NULL) || text[text_size] != '\0')
        abort();
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc_tokenizer *tok = NULL;
    acc_error err;
    if (acc_tokenizer_load_json((const char *)data, size, "fuzz", &tok, &err) != ACC_OK)
        return 0;
    for (int add_special = 0; add_special < 2; add_special++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (acc_tokenizer_encode(tok, TEXT, sizeof TEXT - 1, add_special, &ids, &n, &err) ==
            ACC_OK) {
            check_ids(tok, ids, n, add_special);
            free(ids);
        }
    }
    /* Every id the tokenizer knows, decoded alone. */
    int vocab = acc_tokenizer_vocab_size(tok);
    for (int32_t id = 0; id < vocab && id < 512; id++) {
        check_ids(tok, &id, 1, 0);
        (void)acc_tokenizer_token_text(tok, id);
        (void)acc_tokenizer_is_special(tok, id);
    }
    acc_tokenizer_free(tok);
    return 0;
}
