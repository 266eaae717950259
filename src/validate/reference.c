/*
 * reference.c — the stored reference of a validation case: greedy tokens
 * and top-k logits of the fp32 CPU run, so a second validation skips it.
 *
 * File layout (text): one header line
 *   {"format":"accinf-reference","version":1,"key":KEY,"checksum":SHA}
 * then the body JSON {"batch","new_tokens","top_k","tokens","top_ids",
 * "top_logits"} (floats with 9 significant digits, exact for f32).  KEY is
 * the SHA-256 of everything the reference depends on (model content,
 * shape, enforced sizes, prompt ids, new tokens, top-k); SHA is the SHA-256
 * of the body bytes.  Loading checks all of it: a flipped byte, another
 * version or a file written for another key is reported, never used.
 */
#include "accinf/validate.h"

#include <jansson.h>
#include <float.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERENCE_FORMAT "accinf-reference"

acc_status acc_reference_alloc(acc_reference *ref, int batch, int new_tokens, int top_k,
                               acc_error *err)
{
    memset(ref, 0, sizeof *ref);
    size_t n = (size_t)batch * (size_t)new_tokens;
    ref->tokens = acc_calloc(n, sizeof *ref->tokens, err);
    ref->top_ids = acc_calloc(n * (size_t)top_k, sizeof *ref->top_ids, err);
    ref->top_logits = acc_calloc(n * (size_t)top_k, sizeof *ref->top_logits, err);
    if (!ref->tokens || !ref->top_ids || !ref->top_logits) {
        acc_reference_free(ref);
        return ACC_ERR_RUNTIME;
    }
    ref->batch = batch;
    ref->new_tokens = new_tokens;
    ref->top_k = top_k;
    return ACC_OK;
}

void acc_reference_free(acc_reference *ref)
{
    free(ref->tokens);
    free(ref->top_ids);
    free(ref->top_logits);
    memset(ref, 0, sizeof *ref);
}

static void key_add(EVP_MD_CTX *ctx, const char *label, int64_t value)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%s=%lld;", label, (long long)value);
    EVP_DigestUpdate(ctx, buf, (size_t)n);
}

void acc_reference_key(const char *model_hash, const acc_validate_case *c, int new_tokens,
                       int top_k, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[32] = {0};
    unsigned int len = 0;
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_DigestUpdate(ctx, REFERENCE_FORMAT, strlen(REFERENCE_FORMAT));
        key_add(ctx, "version", ACC_REFERENCE_VERSION);
        EVP_DigestUpdate(ctx, model_hash, strlen(model_hash));
        key_add(ctx, "batch", c->batch);
        key_add(ctx, "padded_length", c->prompt_len);
        key_add(ctx, "new_tokens", new_tokens);
        key_add(ctx, "top_k", top_k);
        key_add(ctx, "enforced", c->n_enforced);
        for (int i = 0; i < c->n_enforced; i++)
            key_add(ctx, "size", c->enforced_sizes[i]);
        for (int i = 0; i < c->batch; i++) {
            key_add(ctx, "prompt", c->prompt_lengths[i]);
            for (int t = 0; t < c->prompt_lengths[i]; t++)
                key_add(ctx, "t", c->prompt_ids[i][t]);
        }
        EVP_DigestFinal_ex(ctx, digest, &len);
    }
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

acc_status acc_reference_save(const char *path, const char *key, const acc_reference *ref,
                              acc_error *err)
{
    size_t n = (size_t)ref->batch * (size_t)ref->new_tokens, nk = n * (size_t)ref->top_k;
    for (size_t i = 0; i < nk; i++)
        if (!isfinite(ref->top_logits[i]))
            return acc_error_set(err, ACC_ERR_RUNTIME,
                                 "%s: the reference has a non-finite logit; not saved", path);
    json_t *body = json_object(), *tokens = json_array(), *ids = json_array(),
           *logits = json_array();
    for (int s = 0; s < ref->batch; s++) {
        json_t *row = json_array();
        for (int t = 0; t < ref->new_tokens; t++)
            json_array_append_new(row, json_integer(ref->tokens[(size_t)s * ref->new_tokens + t]));
        json_array_append_new(tokens, row);
    }
    for (size_t i = 0; i < nk; i++) {
        json_array_append_new(ids, json_integer(ref->top_ids[i]));
        json_array_append_new(logits, json_real(ref->top_logits[i]));
    }
    json_object_set_new(body, "batch", json_integer(ref->batch));
    json_object_set_new(body, "new_tokens", json_integer(ref->new_tokens));
    json_object_set_new(body, "top_k", json_integer(ref->top_k));
    json_object_set_new(body, "tokens", tokens);
    json_object_set_new(body, "top_ids", ids);
    json_object_set_new(body, "top_logits", logits);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(body);
    if (!text)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path);
    size_t body_len = strlen(text);
    char checksum[65];
    acc_sha256_hex(text, body_len, checksum);
    char header[256];
    int header_len =
        snprintf(header, sizeof header,
                 "{\"format\":\"%s\",\"version\":%d,\"key\":\"%s\",\"checksum\":\"%s\"}"
                 "\n",
                 REFERENCE_FORMAT, ACC_REFERENCE_VERSION, key, checksum);
    char *file = acc_malloc((size_t)header_len + body_len, err);
    if (!file) {
        free(text);
        return ACC_ERR_RUNTIME;
    }
    memcpy(file, header, (size_t)header_len);
    memcpy(file + header_len, text, body_len);
    free(text);
    acc_status status = acc_write_file_atomic(path, file, (size_t)header_len + body_len, err);
    free(file);
    return status;
}

static acc_status reference_read_body(json_t *body, const char *path, int batch, int new_tokens,
                                      int top_k, acc_reference *out, acc_error *err)
{
    const char *fields[3] = {"batch", "new_tokens", "top_k"};
    int want[3] = {batch, new_tokens, top_k};
    for (int f = 0; f < 3; f++) {
        json_t *v = json_object_get(body, fields[f]);
        if (!json_is_integer(v) || json_integer_value(v) != want[f])
            return acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: %s is not %d", path,
                                 fields[f], want[f]);
    }
    size_t n = (size_t)batch * (size_t)new_tokens, nk = n * (size_t)top_k;
    json_t *tokens = json_object_get(body, "tokens"), *ids = json_object_get(body, "top_ids"),
           *logits = json_object_get(body, "top_logits");
    if (json_array_size(tokens) != (size_t)batch || json_array_size(ids) != nk ||
        json_array_size(logits) != nk)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: array sizes", path);
    acc_status status = acc_reference_alloc(out, batch, new_tokens, top_k, err);
    if (status != ACC_OK)
        return status;
    for (int s = 0; s < batch; s++) {
        json_t *row = json_array_get(tokens, (size_t)s);
        if (json_array_size(row) != (size_t)new_tokens)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: tokens[%d]", path, s);
        for (int t = 0; t < new_tokens; t++) {
            json_t *v = json_array_get(row, (size_t)t);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 0x7FFFFFFF)
                return acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: tokens[%d][%d]",
                                     path, s, t);
            out->tokens[(size_t)s * new_tokens + t] = (int32_t)json_integer_value(v);
        }
    }
    for (size_t i = 0; i < nk; i++) {
        json_t *id = json_array_get(ids, i), *lv = json_array_get(logits, i);
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) > 0x7FFFFFFF || !json_is_number(lv))
            return acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: entry %zu", path, i);
        /* save refuses non-finite logits; one here (1e39 overflows a float)
         * would turn every cross entropy against it into NaN */
        double logit = json_number_value(lv);
        if (!isfinite(logit) || fabs(logit) > FLT_MAX)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: corrupt reference: top_logits[%zu] is not a finite float",
                                 path, i);
        out->top_ids[i] = (int32_t)json_integer_value(id);
        out->top_logits[i] = (float)logit;
    }
    return ACC_OK;
}

acc_status acc_reference_parse(const char *text, size_t size, const char *path, const char *key,
                               int batch, int new_tokens, int top_k, acc_reference *out,
                               acc_error *err)
{
    memset(out, 0, sizeof *out);
    acc_status status = ACC_OK;
    const char *nl = memchr(text, '\n', size);
    json_t *header = NULL, *body = NULL;
    json_error_t jerr;
    if (nl)
        header = json_loadb(text, (size_t)(nl - text), 0, &jerr);
    const char *format = json_string_value(json_object_get(header, "format"));
    json_t *version = json_object_get(header, "version");
    const char *stored_key = json_string_value(json_object_get(header, "key"));
    const char *checksum = json_string_value(json_object_get(header, "checksum"));
    char actual[65];
    if (!header || !format || strcmp(format, REFERENCE_FORMAT) != 0 || !stored_key || !checksum ||
        !json_is_integer(version)) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: bad header line", path);
    } else if (json_integer_value(version) != ACC_REFERENCE_VERSION) {
        status = acc_error_set(err, ACC_ERR_INPUT,
                               "%s: reference format version %lld (this accinf reads %d)", path,
                               (long long)json_integer_value(version), ACC_REFERENCE_VERSION);
    } else if (strcmp(stored_key, key) != 0) {
        status = acc_error_set(err, ACC_ERR_INPUT,
                               "%s: stale reference: written for key %.12s, this case needs "
                               "%.12s",
                               path, stored_key, key);
    } else {
        size_t body_len = size - (size_t)(nl + 1 - text);
        acc_sha256_hex(nl + 1, body_len, actual);
        if (strcmp(actual, checksum) != 0)
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "%s: corrupt reference: checksum %.12s does not match the "
                                   "stored %.12s",
                                   path, actual, checksum);
        else if (!(body = json_loadb(nl + 1, body_len, 0, &jerr)))
            status =
                acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt reference: %s", path, jerr.text);
        else
            status = reference_read_body(body, path, batch, new_tokens, top_k, out, err);
    }
    json_decref(header);
    json_decref(body);
    if (status != ACC_OK)
        acc_reference_free(out);
    return status;
}

acc_status acc_reference_load(const char *path, const char *key, int batch, int new_tokens,
                              int top_k, acc_reference *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(path, &text, &size, err);
    if (status != ACC_OK)
        return status;
    status = acc_reference_parse(text, size, path, key, batch, new_tokens, top_k, out, err);
    free(text);
    return status;
}
