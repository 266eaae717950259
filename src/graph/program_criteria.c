/*
 * program_criteria.c — the AIU program-criteria file
 * {"programs":[{"max_batch","max_tkv","batch_granularity","tkv_granularity"}]}:
 * strict parsing (every field a positive integer, errors name the field),
 * writing it back, and deriving a default set from the limits when the user
 * gives no file.  Unknown keys are ignored so that files with extra
 * annotations (as compilers emit) still load.
 */
#include "accinf/program.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRITERIA_MAX_PROGRAMS 4096
#define CRITERIA_MAX_VALUE (1 << 24)

static const char *const criteria_fields[4] = {"max_batch", "max_tkv", "batch_granularity",
                                               "tkv_granularity"};

static acc_status criteria_read_entry(json_t *entry, int index, const char *where,
                                      acc_program_criteria *out, acc_error *err)
{
    if (!json_is_object(entry))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: programs[%d]: expected an object", where,
                             index);
    int values[4];
    for (int f = 0; f < 4; f++) {
        json_t *v = json_object_get(entry, criteria_fields[f]);
        if (!v)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: programs[%d]: missing '%s'", where, index,
                                 criteria_fields[f]);
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > CRITERIA_MAX_VALUE)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: programs[%d].%s: expected an integer from 1 to %d", where,
                                 index, criteria_fields[f], CRITERIA_MAX_VALUE);
        values[f] = (int)json_integer_value(v);
    }
    *out = (acc_program_criteria){values[0], values[1], values[2], values[3]};
    return ACC_OK;
}

acc_status acc_criteria_parse(const char *text, size_t size, const char *where, acc_criteria *out,
                              acc_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s:%d:%d: invalid JSON: %s", where, jerr.line,
                             jerr.column, jerr.text);
    acc_status status = ACC_OK;
    json_t *programs = json_is_object(root) ? json_object_get(root, "programs") : NULL;
    size_t n = json_array_size(programs);
    if (!json_is_object(root))
        status =
            acc_error_set(err, ACC_ERR_INPUT, "%s: expected an object with \"programs\"", where);
    else if (!programs)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: missing \"programs\"", where);
    else if (!json_is_array(programs))
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: programs: expected an array", where);
    else if (n == 0)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: programs: the list is empty", where);
    else if (n > CRITERIA_MAX_PROGRAMS)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: programs: %zu entries (at most %d)", where,
                               n, CRITERIA_MAX_PROGRAMS);
    if (status == ACC_OK) {
        out->programs = acc_calloc(n, sizeof *out->programs, err);
        if (!out->programs)
            status = ACC_ERR_RUNTIME;
    }
    for (size_t i = 0; status == ACC_OK && i < n; i++)
        status =
            criteria_read_entry(json_array_get(programs, i), (int)i, where, &out->programs[i], err);
    json_decref(root);
    if (status != ACC_OK) {
        acc_criteria_free(out);
        return status;
    }
    out->n = (int)n;
    return ACC_OK;
}

acc_status acc_criteria_load(const char *path, acc_criteria *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(path, &text, &size, err);
    if (status != ACC_OK)
        return status;
    status = acc_criteria_parse(text, size, path, out, err);
    free(text);
    return status;
}

char *acc_criteria_to_json(const acc_criteria *c, acc_error *err)
{
    size_t cap = 32 + (size_t)c->n * 128;
    char *text = acc_malloc(cap, err);
    if (!text)
        return NULL;
    size_t len = (size_t)snprintf(text, cap, "{\n  \"programs\": [\n");
    for (int i = 0; i < c->n; i++) {
        const acc_program_criteria *p = &c->programs[i];
        len += (size_t)snprintf(text + len, cap - len,
                                "    {\"max_batch\": %d, \"max_tkv\": %d, \"batch_granularity\": "
                                "%d, \"tkv_granularity\": %d}%s\n",
                                p->max_batch, p->max_tkv, p->batch_granularity, p->tkv_granularity,
                                i + 1 < c->n ? "," : "");
    }
    snprintf(text + len, cap - len, "  ]\n}\n");
    return text;
}

acc_status acc_criteria_default(int max_batch, int max_context, int64_t batch_tkv_limit,
                                acc_criteria *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_batch < 1 || max_batch > 4096)
        return acc_error_set(err, ACC_ERR_INPUT, "max batch: %d (1 to 4096 allowed)", max_batch);
    if (max_context < ACC_PROGRAM_PAD_MULTIPLE * 2 || max_context > CRITERIA_MAX_VALUE)
        return acc_error_set(err, ACC_ERR_INPUT, "max context: %d (at least %d)", max_context,
                             ACC_PROGRAM_PAD_MULTIPLE * 2);
    if (batch_tkv_limit <= 0)
        batch_tkv_limit = (int64_t)max_batch * max_context;
    /* at most log2(4096)+2 batch buckets x log2(2^24)+1 tkv buckets */
    out->programs = acc_calloc(16 * 26, sizeof *out->programs, err);
    if (!out->programs)
        return ACC_ERR_RUNTIME;
    for (int b = 1;; b = b * 2 < max_batch ? b * 2 : max_batch) {
        int tkv = max_context / ACC_PROGRAM_PAD_MULTIPLE * ACC_PROGRAM_PAD_MULTIPLE;
        for (;;) {
            if ((int64_t)b * tkv <= batch_tkv_limit)
                out->programs[out->n++] = (acc_program_criteria){b, tkv, b, tkv};
            int next = tkv / 2 / ACC_PROGRAM_PAD_MULTIPLE * ACC_PROGRAM_PAD_MULTIPLE;
            if (next < 256)
                break;
            tkv = next;
        }
        if (b == max_batch)
            break;
    }
    if (out->n == 0) {
        acc_criteria_free(out);
        return acc_error_set(err, ACC_ERR_INPUT,
                             "batch-tkv limit %lld leaves no program (need at least %d)",
                             (long long)batch_tkv_limit, max_context < 256 ? max_context : 256);
    }
    return ACC_OK;
}

void acc_criteria_free(acc_criteria *c)
{
    free(c->programs);
    memset(c, 0, sizeof *c);
}
