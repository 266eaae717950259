/*
 * program.c — compiled programs: for every criteria entry a prefill and a
 * decode program, each the model's graph bound to its bucket with its own
 * memory plan, and the step -> program choice the engine makes.
 *
 * A program's key is the SHA-256 of the graph's content hash, target,
 * phase, buckets, dtype and the resolved settings; its plan is cached as
 * CACHE/programs/KEY.json (a header line with format, version, key and the
 * body's SHA-256, then the body).  A cached file is used only when it is
 * intact and was written for the same key; otherwise the program is
 * planned again and the file rewritten atomically.
 */
#include "accinf/program.h"

#include "graph/graph.h"
#include "graph/program_cache.h"
#include "model/model_internal.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_PREFILL_CHUNK 512

struct acc_program_set {
    acc_criteria criteria;
    int64_t batch_tkv_limit;
    acc_program *programs; /* [2i] prefill, [2i+1] decode of criteria entry i */
    acc_plan *plans;
    int n;
    int64_t max_step_tokens;
};

const char *acc_phase_name(acc_phase phase)
{
    return phase == ACC_PHASE_DECODE ? "decode" : "prefill";
}

char *acc_cache_dir_default(acc_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/')
        return acc_path_join(xdg, "accinf", err);
    const char *home = getenv("HOME");
    if (!home || !home[0]) {
        acc_error_set(err, ACC_ERR_INPUT,
                      "cache: neither XDG_CACHE_HOME nor HOME is set (use --cache-dir)");
        return NULL;
    }
    char *cache = acc_path_join(home, ".cache", err);
    char *dir = cache ? acc_path_join(cache, "accinf", err) : NULL;
    free(cache);
    return dir;
}

/* mkdir -p */
static acc_status program_mkdirs(const char *path, acc_error *err)
{
    char *copy = acc_strdup(path, err);
    if (!copy)
        return ACC_ERR_RUNTIME;
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                acc_status st = acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot create: %s", copy,
                                              strerror(errno));
                free(copy);
                return st;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(copy);
    return ACC_OK;
}

static void program_key(const char *graph_hash, const char *target, const char *dtype,
                        const acc_program *p, const acc_compile_options *o, char hex[65])
{
    char text[512];
    int n = snprintf(text, sizeof text,
                     "%s-v%d;graph=%s;target=%s;phase=%s;batch=%d;tokens=%d;dtype=%s;rows=%lld;"
                     "outputs=%lld;",
                     PROGRAM_FORMAT, PROGRAM_VERSION, graph_hash, target, acc_phase_name(p->phase),
                     p->batch_bucket, p->token_bucket, dtype, (long long)p->step_tokens,
                     (long long)p->step_outputs);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[32] = {0};
    unsigned int len = 0;
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_DigestUpdate(ctx, text, (size_t)n);
        for (int i = 0; i < o->n_settings; i++) {
            EVP_DigestUpdate(ctx, o->settings[i].name, strlen(o->settings[i].name) + 1);
            EVP_DigestUpdate(ctx, o->settings[i].value, strlen(o->settings[i].value) + 1);
        }
        EVP_DigestFinal_ex(ctx, digest, &len);
    }
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* Splits "HEADER\nBODY", checks format, version, key (when want_key) and
 * checksum; returns the parsed body or NULL with err set. */
json_t *acc_program_file_parse(const char *path, const char *text, size_t size,
                               const char *want_key, char key_out[65], acc_error *err)
{
    const char *nl = memchr(text, '\n', size);
    json_error_t jerr;
    json_t *header = nl ? json_loadb(text, (size_t)(nl - text), 0, &jerr) : NULL;
    const char *format = json_string_value(json_object_get(header, "format"));
    const char *key = json_string_value(json_object_get(header, "key"));
    const char *checksum = json_string_value(json_object_get(header, "checksum"));
    json_t *version = json_object_get(header, "version");
    json_t *body = NULL;
    char actual[65];
    if (!format || strcmp(format, PROGRAM_FORMAT) != 0 || !key || strlen(key) != 64 || !checksum ||
        !json_is_integer(version))
        acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt program: bad header line", path);
    else if (json_integer_value(version) != PROGRAM_VERSION)
        acc_error_set(err, ACC_ERR_INPUT, "%s: program format version %lld (this accinf reads %d)",
                      path, (long long)json_integer_value(version), PROGRAM_VERSION);
    else if (want_key && strcmp(key, want_key) != 0)
        acc_error_set(err, ACC_ERR_INPUT, "%s: stale program: written for key %.12s", path, key);
    else {
        acc_sha256_hex(nl + 1, size - (size_t)(nl + 1 - text), actual);
        if (strcmp(actual, checksum) != 0)
            acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt program: checksum mismatch", path);
        else if (!(body = json_loadb(nl + 1, size - (size_t)(nl + 1 - text), 0, &jerr)))
            acc_error_set(err, ACC_ERR_INPUT, "%s: corrupt program: %s", path, jerr.text);
        else if (key_out)
            memcpy(key_out, key, 65);
    }
    json_decref(header);
    return body;
}

/* Reads a cached plan; 1 when used, 0 when absent or unusable. */
static int program_cache_read(const char *path, const acc_program *p, int n_nodes, acc_plan *plan)
{
    if (!acc_path_exists(path))
        return 0;
    char *text = NULL;
    size_t size = 0;
    acc_error err = {0};
    if (acc_read_file(path, &text, &size, &err) != ACC_OK)
        return 0;
    json_t *body = acc_program_file_parse(path, text, size, p->key, NULL, &err);
    free(text);
    json_t *offsets = json_object_get(body, "offsets");
    json_t *arena = json_object_get(body, "arena_bytes");
    int ok = body && json_array_size(offsets) == (size_t)n_nodes && json_is_integer(arena) &&
             json_integer_value(arena) >= 0;
    if (ok) {
        memset(plan, 0, sizeof *plan);
        plan->offsets = malloc((size_t)n_nodes * sizeof *plan->offsets);
        ok = plan->offsets != NULL;
        size_t arena_size = (size_t)json_integer_value(arena);
        for (int i = 0; ok && i < n_nodes; i++) {
            json_t *v = json_array_get(offsets, (size_t)i);
            if (json_is_integer(v) && json_integer_value(v) == -1)
                plan->offsets[i] = ACC_PLAN_NONE;
            else if (json_is_integer(v) && json_integer_value(v) >= 0 &&
                     (size_t)json_integer_value(v) < arena_size)
                plan->offsets[i] = (size_t)json_integer_value(v);
            else
                ok = 0;
        }
        plan->arena_size = arena_size;
        plan->max_tokens = p->step_tokens;
        plan->max_outputs = p->step_outputs;
        if (!ok)
            acc_plan_free(plan);
    }
    json_decref(body);
    return ok;
}

static acc_status program_cache_write(const char *path, const char *graph_hash, const char *target,
                                      const char *dtype, const acc_program *p, const acc_plan *plan,
                                      int n_nodes, const acc_compile_options *o, acc_error *err)
{
    json_t *body = json_object(), *offsets = json_array(), *settings = json_object();
    for (int i = 0; i < n_nodes; i++)
        json_array_append_new(
            offsets,
            json_integer(plan->offsets[i] == ACC_PLAN_NONE ? -1 : (json_int_t)plan->offsets[i]));
    for (int i = 0; i < o->n_settings; i++)
        json_object_set_new(settings, o->settings[i].name, json_string(o->settings[i].value));
    json_object_set_new(body, "graph_hash", json_string(graph_hash));
    json_object_set_new(body, "target", json_string(target));
    json_object_set_new(body, "phase", json_string(acc_phase_name(p->phase)));
    json_object_set_new(body, "dtype", json_string(dtype));
    json_object_set_new(body, "id", json_integer(p->id));
    json_object_set_new(body, "batch_bucket", json_integer(p->batch_bucket));
    json_object_set_new(body, "token_bucket", json_integer(p->token_bucket));
    json_object_set_new(body, "step_tokens", json_integer(p->step_tokens));
    json_object_set_new(body, "step_outputs", json_integer(p->step_outputs));
    json_object_set_new(body, "arena_bytes", json_integer((json_int_t)plan->arena_size));
    json_object_set_new(body, "kv_bytes", json_integer((json_int_t)p->kv_bytes));
    json_object_set_new(body, "settings", settings);
    json_object_set_new(body, "offsets", offsets);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path);
    char checksum[65], header[300];
    size_t body_len = strlen(text);
    acc_sha256_hex(text, body_len, checksum);
    int header_len =
        snprintf(header, sizeof header,
                 "{\"format\":\"%s\",\"version\":%d,\"key\":\"%s\",\"checksum\":\"%s\"}"
                 "\n",
                 PROGRAM_FORMAT, PROGRAM_VERSION, p->key, checksum);
    char *file = acc_malloc((size_t)header_len + body_len, err);
    acc_status status = ACC_ERR_RUNTIME;
    if (file) {
        memcpy(file, header, (size_t)header_len);
        memcpy(file + header_len, text, body_len);
        status = acc_write_file_atomic(path, file, (size_t)header_len + body_len, err);
    }
    free(file);
    free(text);
    return status;
}

static acc_status program_build(const acc_model *model, const char *graph_hash, const char *target,
                                const char *dtype, const char *programs_dir, acc_program *p,
                                acc_plan *plan, const acc_compile_options *o, acc_error *err)
{
    const acc_graph *g = acc_model_graph(model);
    program_key(graph_hash, target, dtype, p, o, p->key);
    uint64_t kv = (uint64_t)g->n_layers * 2u * (uint64_t)g->kv_dim * sizeof(float) *
                  (uint64_t)p->batch_bucket *
                  (uint64_t)(p->phase == ACC_PHASE_DECODE ? p->token_bucket : p->token_bucket);
    p->kv_bytes = (size_t)kv;
    char name[80];
    snprintf(name, sizeof name, "%s.json", p->key);
    char *path = programs_dir ? acc_path_join(programs_dir, name, err) : NULL;
    if (programs_dir && !path)
        return ACC_ERR_RUNTIME;
    if (path && program_cache_read(path, p, g->n_nodes, plan)) {
        p->from_cache = 1;
    } else {
        acc_status status = acc_plan_memory(g, p->step_tokens, p->step_outputs, plan, err);
        if (status == ACC_OK && path)
            status =
                program_cache_write(path, graph_hash, target, dtype, p, plan, g->n_nodes, o, err);
        if (status != ACC_OK) {
            free(path);
            return status;
        }
    }
    p->arena_bytes = plan->arena_size;
    free(path);
    return ACC_OK;
}

acc_status acc_program_set_compile(const acc_model *model, const acc_compile_options *o,
                                   acc_program_set **out, acc_error *err)
{
    *out = NULL;
    const char *target = o->target ? o->target : "cpu";
    const char *dtype = o->dtype ? o->dtype : "f32";
    if (strcmp(target, "cpu") != 0)
        return acc_error_set(err, ACC_ERR_INPUT, "target: '%s' is not available (available: cpu)",
                             target);
    if (strcmp(dtype, "f32") != 0)
        return acc_error_set(err, ACC_ERR_INPUT,
                             "dtype: '%s': the cpu target runs f32 programs only (quantized "
                             "weights come from 'accinf convert')",
                             dtype);
    if (!o->criteria || o->criteria->n < 1)
        return acc_error_set(err, ACC_ERR_INPUT, "compile: no program criteria");
    int chunk = o->prefill_chunk > 0 ? o->prefill_chunk : DEFAULT_PREFILL_CHUNK;
    acc_program_set *set = acc_calloc(1, sizeof *set, err);
    if (!set)
        return ACC_ERR_RUNTIME;
    set->batch_tkv_limit = o->batch_tkv_limit;
    set->n = 2 * o->criteria->n;
    set->criteria.programs =
        acc_malloc((size_t)o->criteria->n * sizeof *set->criteria.programs, err);
    set->programs = acc_calloc((size_t)set->n, sizeof *set->programs, err);
    set->plans = acc_calloc((size_t)set->n, sizeof *set->plans, err);
    acc_status status =
        set->criteria.programs && set->programs && set->plans ? ACC_OK : ACC_ERR_RUNTIME;
    if (status == ACC_OK) {
        memcpy(set->criteria.programs, o->criteria->programs,
               (size_t)o->criteria->n * sizeof *set->criteria.programs);
        set->criteria.n = o->criteria->n;
    }
    char graph_hash[65];
    if (status == ACC_OK)
        status = acc_graph_content_hash(model, graph_hash, err);
    char *cache_dir = NULL, *programs_dir = NULL;
    if (status == ACC_OK && !o->no_cache) {
        cache_dir = o->cache_dir ? acc_strdup(o->cache_dir, err) : acc_cache_dir_default(err);
        programs_dir = cache_dir ? acc_path_join(cache_dir, "programs", err) : NULL;
        status = programs_dir ? program_mkdirs(programs_dir, err) : ACC_ERR_INPUT;
        if (!cache_dir && status == ACC_ERR_INPUT && err && err->status == ACC_OK)
            status = ACC_ERR_RUNTIME;
    }
    int max_context = acc_model_hparams(model)->max_position;
    for (int i = 0; status == ACC_OK && i < o->criteria->n; i++) {
        const acc_program_criteria *c = &o->criteria->programs[i];
        int tkv = c->max_tkv < max_context ? c->max_tkv : max_context;
        acc_program *prefill = &set->programs[2 * i], *decode = &set->programs[2 * i + 1];
        *prefill = (acc_program){.id = i,
                                 .phase = ACC_PHASE_PREFILL,
                                 .batch_bucket = 1,
                                 .token_bucket = tkv < chunk ? tkv : chunk};
        prefill->step_tokens = prefill->token_bucket;
        prefill->step_outputs =
            prefill->token_bucket; /* a batch prefill wants one row per sequence */
        *decode = (acc_program){.id = i,
                                .phase = ACC_PHASE_DECODE,
                                .batch_bucket = c->max_batch,
                                .token_bucket = tkv,
                                .step_tokens = c->max_batch,
                                .step_outputs = c->max_batch};
        status = program_build(model, graph_hash, target, dtype, programs_dir, prefill,
                               &set->plans[2 * i], o, err);
        if (status == ACC_OK)
            status = program_build(model, graph_hash, target, dtype, programs_dir, decode,
                                   &set->plans[2 * i + 1], o, err);
    }
    for (int i = 0; status == ACC_OK && i < set->n; i++)
        if (set->programs[i].step_tokens > set->max_step_tokens)
            set->max_step_tokens = set->programs[i].step_tokens;
    free(cache_dir);
    free(programs_dir);
    if (status != ACC_OK) {
        acc_program_set_free(set);
        return status;
    }
    *out = set;
    return ACC_OK;
}

void acc_program_set_free(acc_program_set *set)
{
    if (!set)
        return;
    for (int i = 0; set->plans && i < set->n; i++)
        acc_plan_free(&set->plans[i]);
    free(set->plans);
    free(set->programs);
    acc_criteria_free(&set->criteria);
    free(set);
}

int acc_program_set_count(const acc_program_set *set)
{
    return set->n;
}

const acc_program *acc_program_set_at(const acc_program_set *set, int index)
{
    return index >= 0 && index < set->n ? &set->programs[index] : NULL;
}

const acc_criteria *acc_program_set_criteria(const acc_program_set *set)
{
    return &set->criteria;
}

int64_t acc_program_set_batch_tkv_limit(const acc_program_set *set)
{
    return set->batch_tkv_limit;
}

int64_t acc_program_set_max_step_tokens(const acc_program_set *set)
{
    return set->max_step_tokens;
}

int acc_program_set_pick(const acc_program_set *set, int is_decode, int n_seqs, int n_tokens,
                         int tkv)
{
    if (is_decode) {
        int id = acc_program_pick(&set->criteria, n_seqs, tkv, set->batch_tkv_limit);
        return id < 0 ? -1 : 2 * id + 1;
    }
    int best = -1;
    for (int i = 0; i < set->criteria.n; i++) {
        const acc_program *p = &set->programs[2 * i];
        if (p->token_bucket < n_tokens || set->criteria.programs[i].max_tkv < tkv)
            continue;
        if (best < 0 || p->token_bucket < set->programs[best].token_bucket ||
            (p->token_bucket == set->programs[best].token_bucket &&
             set->criteria.programs[i].max_tkv <
                 set->criteria.programs[set->programs[best].id].max_tkv))
            best = 2 * i;
    }
    return best;
}
