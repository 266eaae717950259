/*
 * program_cache.c — the on-disk program cache directory CACHE/programs:
 * listing the cached program files (each checked: header, version,
 * checksum) and clearing them.  The file format itself is written and
 * read by program.c (see program_cache.h).
 */
#include "accinf/program.h"

#include "graph/program_cache.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Names of KEY.json files (64 hex digits + ".json") in dir; none when the
 * directory does not exist yet. */
static acc_status program_cache_names(const char *dir, char ***names, int *n, acc_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? ACC_OK
                               : acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot open: %s", dir,
                                               strerror(errno));
    int cap = 0;
    struct dirent *entry;
    acc_status status = ACC_OK;
    while (status == ACC_OK && (entry = readdir(d)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len != 69 || strcmp(entry->d_name + 64, ".json") != 0 ||
            strspn(entry->d_name, "0123456789abcdef") != 64)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) {
                status = acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
                break;
            }
            *names = grown;
        }
        (*names)[*n] = acc_strdup(entry->d_name, err);
        if (!(*names)[*n])
            status = ACC_ERR_RUNTIME;
        else
            (*n)++;
    }
    closedir(d);
    return status;
}

static int program_compare_keys(const void *a, const void *b)
{
    return strcmp(((const acc_cached_program *)a)->key, ((const acc_cached_program *)b)->key);
}

static char *json_dup_string(json_t *body, const char *field)
{
    const char *s = json_string_value(json_object_get(body, field));
    return strdup(s ? s : "?");
}

acc_status acc_program_cache_list(const char *cache_dir, acc_cached_program **entries, int *n,
                                  acc_error *err)
{
    *entries = NULL;
    *n = 0;
    char *dir_path = acc_path_join(cache_dir, "programs", err);
    if (!dir_path)
        return ACC_ERR_RUNTIME;
    char **names = NULL;
    int n_names = 0;
    acc_status status = program_cache_names(dir_path, &names, &n_names, err);
    acc_cached_program *list = n_names ? acc_calloc((size_t)n_names, sizeof *list, err) : NULL;
    if (n_names && !list)
        status = ACC_ERR_RUNTIME;
    for (int i = 0; status == ACC_OK && i < n_names; i++) {
        char *path = acc_path_join(dir_path, names[i], err);
        char *text = NULL;
        size_t size = 0;
        acc_error ignored = {0};
        acc_cached_program *e = &list[(*n)++];
        snprintf(e->key, sizeof e->key, "%.64s", names[i]);
        if (path && acc_read_file(path, &text, &size, &ignored) == ACC_OK) {
            e->file_bytes = size;
            json_t *body = acc_program_file_parse(path, text, size, NULL, e->key, &ignored);
            if (body) {
                e->valid = 1;
                e->model_hash = json_dup_string(body, "graph_hash");
                e->target = json_dup_string(body, "target");
                e->phase = json_dup_string(body, "phase");
                e->dtype = json_dup_string(body, "dtype");
                e->id = (int)json_integer_value(json_object_get(body, "id"));
                e->batch_bucket = (int)json_integer_value(json_object_get(body, "batch_bucket"));
                e->token_bucket = (int)json_integer_value(json_object_get(body, "token_bucket"));
                e->arena_bytes = (size_t)json_integer_value(json_object_get(body, "arena_bytes"));
                e->kv_bytes = (size_t)json_integer_value(json_object_get(body, "kv_bytes"));
                json_decref(body);
            }
        }
        free(text);
        free(path);
    }
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(dir_path);
    if (status != ACC_OK) {
        acc_program_cache_list_free(list, *n);
        *n = 0;
        return status;
    }
    if (*n > 1)
        qsort(list, (size_t)*n, sizeof *list, program_compare_keys);
    *entries = list;
    return ACC_OK;
}

void acc_program_cache_list_free(acc_cached_program *entries, int n)
{
    for (int i = 0; entries && i < n; i++) {
        free(entries[i].model_hash);
        free(entries[i].target);
        free(entries[i].phase);
        free(entries[i].dtype);
    }
    free(entries);
}

acc_status acc_program_cache_clear(const char *cache_dir, int *removed, acc_error *err)
{
    *removed = 0;
    char *dir_path = acc_path_join(cache_dir, "programs", err);
    if (!dir_path)
        return ACC_ERR_RUNTIME;
    char **names = NULL;
    int n = 0;
    acc_status status = program_cache_names(dir_path, &names, &n, err);
    for (int i = 0; status == ACC_OK && i < n; i++) {
        char *path = acc_path_join(dir_path, names[i], err);
        if (!path)
            status = ACC_ERR_RUNTIME;
        else if (unlink(path) != 0 && errno != ENOENT)
            status =
                acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot remove: %s", path, strerror(errno));
        else
            (*removed)++;
        free(path);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir_path);
    return status;
}
