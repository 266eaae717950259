/*
 * fuzz_reference.c — libFuzzer target for validate's reference-store file
 * (src/validate/reference.c, acc_reference_parse).  Byte 0 picks the
 * expected batch / new_tokens / top_k (1..4, 1..4, 1..2) and whether the
 * rest is taken as a whole file or as the body under a generated, valid
 * header line (right key, right checksum), so the fuzzer reaches the body
 * reader past the SHA-256 check.  A loaded reference has the asked-for
 * shape, non-negative ids and finite logits; a failure is ACC_ERR_INPUT with a message — never a crash, leak or UB.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accinf/program.h"
#include "accinf/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char KEY[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void check(const char *text, size_t size, int batch, int new_tokens, int top_k)
{
    acc_reference ref;
    acc_error err;
    err.message[0] = '\0';
    acc_status st =
        acc_reference_parse(text, size, "fuzz", KEY, batch, new_tokens, top_k, &ref, &err);
    if (st != ACC_OK) {
        if (st != ACC_ERR_INPUT || err.message[0] == '\0' || ref.tokens || ref.top_ids ||
            ref.top_logits)
            abort();
        return;
    }
    if (ref.batch != batch || ref.new_tokens != new_tokens || ref.top_k != top_k)
        abort();
    size_t n = (size_t)batch * (size_t)new_tokens;
    for (size_t i = 0; i < n; i++)
        if (ref.tokens[i] < 0)
            abort();
    for (size_t i = 0; i < n * (size_t)top_k; i++)
        if (ref.top_ids[i] < 0 || !isfinite(ref.top_logits[i]))
            abort();
    acc_reference_free(&ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int batch = 1 + (data[0] & 3), new_tokens = 1 + ((data[0] >> 2) & 3),
        top_k = 1 + ((data[0] >> 4) & 1);
    const char *rest = (const char *)data + 1;
    size--;
    if (!(data[0] & 0x20)) {
        check(rest, size, batch, new_tokens, top_k);
        return 0;
    }
    char checksum[65], header[256];
    acc_sha256_hex(rest, size, checksum);
    int header_len = snprintf(header, sizeof header,
                              "{\"format\":\"accinf-reference\",\"version\":%d,\"key\":\"%s\","
                              "\"checksum\":\"%s\"}\n",
                              ACC_REFERENCE_VERSION, KEY, checksum);
    char *file = malloc((size_t)header_len + size);
    if (!file)
        return 0;
    memcpy(file, header, (size_t)header_len);
    memcpy(file + header_len, rest, size);
    check(file, (size_t)header_len + size, batch, new_tokens, top_k);
    free(file);
    return 0;
}
