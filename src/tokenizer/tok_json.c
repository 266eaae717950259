/*
 * tok_json.c — small typed accessors over jansson for tokenizer.json, so
 * every loader reports bad or unsupported fields the same way:
 * "<file>: <field path>: <what is wrong>".
 */
#include "tokenizer/tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

acc_status tok_json_error(const tok_ctx *ctx, const char *field, const char *fmt, ...)
{
    char what[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    return acc_error_set(ctx->err, ACC_ERR_INPUT, "%s: %s: %s", ctx->name, field, what);
}

acc_status tok_json_type(const tok_ctx *ctx, json_t *obj, const char *field,
                         const char **type)
{
    if (!json_is_object(obj))
        return tok_json_error(ctx, field, "expected an object");
    json_t *value = json_object_get(obj, "type");
    if (!json_is_string(value))
        return tok_json_error(ctx, field, "missing \"type\"");
    *type = json_string_value(value);
    return ACC_OK;
}

acc_status tok_json_component(const tok_ctx *ctx, json_t *json, const char *field, int depth,
                              const char **type)
{
    *type = NULL;
    if (!json || json_is_null(json))
        return ACC_OK;
    if (depth > TOK_MAX_NESTING)
        return tok_json_error(ctx, field, "nested too deeply");
    return tok_json_type(ctx, json, field, type);
}

acc_status tok_json_list(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         json_t **list)
{
    *list = json_object_get(obj, key);
    if (!json_is_array(*list))
        return tok_json_error(ctx, field, "\"%s\" must be a list", key);
    return ACC_OK;
}

acc_status tok_json_bool(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         int def, int *out)
{
    json_t *value = json_object_get(obj, key);
    if (!value || json_is_null(value)) {
        *out = def;
        return ACC_OK;
    }
    if (!json_is_boolean(value))
        return tok_json_error(ctx, field, "\"%s\" must be true or false", key);
    *out = json_is_true(value);
    return ACC_OK;
}

acc_status tok_json_string(const tok_ctx *ctx, json_t *obj, const char *key,
                           const char *field, const char **out, size_t *len)
{
    json_t *value = json_object_get(obj, key);
    *out = NULL;
    if (len)
        *len = 0;
    if (!value || json_is_null(value))
        return ACC_OK;
    if (!json_is_string(value))
        return tok_json_error(ctx, field, "\"%s\" must be a string", key);
    *out = json_string_value(value);
    if (len)
        *len = json_string_length(value);
    return ACC_OK;
}

acc_status tok_json_uint(const tok_ctx *ctx, json_t *value, const char *field, int64_t max,
                         int64_t *out)
{
    if (!json_is_integer(value))
        return tok_json_error(ctx, field, "expected an integer");
    json_int_t v = json_integer_value(value);
    if (v < 0 || v > max)
        return tok_json_error(ctx, field, "%lld out of range 0..%lld", (long long)v,
                              (long long)max);
    *out = v;
    return ACC_OK;
}

acc_status tok_json_char(const tok_ctx *ctx, json_t *obj, const char *key, const char *field,
                         uint32_t *out)
{
    const char *text;
    size_t len;
    if (tok_json_string(ctx, obj, key, field, &text, &len) != ACC_OK)
        return ACC_ERR_INPUT;
    if (!text || len == 0)
        return tok_json_error(ctx, field, "\"%s\" must be one character", key);
    uint32_t cp;
    size_t n = tok_utf8_next(text, len, 0, &cp);
    if (n != len)
        return tok_json_error(ctx, field, "\"%s\" must be one character", key);
    *out = cp;
    return ACC_OK;
}

acc_status tok_json_pattern(const tok_ctx *ctx, json_t *obj, const char *key,
                            const char *field, tok_regex **out)
{
    *out = NULL;
    json_t *pattern = json_object_get(obj, key);
    char path[256];
    snprintf(path, sizeof path, "%s.%s", field, key);
    if (!json_is_object(pattern))
        return tok_json_error(ctx, path, "expected {\"String\": ...} or {\"Regex\": ...}");
    json_t *string = json_object_get(pattern, "String");
    json_t *regex = json_object_get(pattern, "Regex");
    if (json_is_string(string)) {
        snprintf(path, sizeof path, "%s.%s.String", field, key);
        return tok_regex_compile(json_string_value(string), json_string_length(string), 1,
                                 ctx->name, path, out, ctx->err);
    }
    if (json_is_string(regex)) {
        snprintf(path, sizeof path, "%s.%s.Regex", field, key);
        return tok_regex_compile(json_string_value(regex), json_string_length(regex), 0,
                                 ctx->name, path, out, ctx->err);
    }
    return tok_json_error(ctx, path, "expected {\"String\": ...} or {\"Regex\": ...}");
}

char *tok_strndup(const char *text, size_t len, acc_error *err)
{
    char *copy = acc_malloc(len + 1, err);
    if (copy) {
        if (len)
            memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}
