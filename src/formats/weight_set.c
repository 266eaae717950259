/*
 * weight_set.c — the weights of one model: every tensor of a single
 * model.safetensors or of the shards that model.safetensors.index.json lists.
 *
 * Each shard is mmapped once and parsed by safetensors.c.  The set checks the
 * index against the shards (each tensor in the file the index names, none
 * missing, none unlisted, none in two shards) and keeps a name-sorted index
 * so lookups are O(log n).
 */
#include "accinf/safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct acc_weight_set {
    size_t n_files;
    acc_mapped_file *files;
    acc_safetensors_header *headers;
    size_t n_tensors;
    acc_tensor_view *tensors; /* shard order, then file order within a shard */
    size_t *file_of;          /* which file each tensor came from */
    size_t *by_name;          /* tensor indices sorted by name */
};

void acc_weight_set_close(acc_weight_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_files; i++) {
        acc_safetensors_header_free(&set->headers[i]);
        acc_mapped_file_close(&set->files[i]);
    }
    free(set->files);
    free(set->headers);
    free(set->tensors);
    free(set->file_of);
    free(set->by_name);
    free(set);
}

size_t acc_weight_set_count(const acc_weight_set *set)
{
    return set ? set->n_tensors : 0;
}

const acc_tensor_view *acc_weight_set_at(const acc_weight_set *set, size_t index)
{
    return set && index < set->n_tensors ? &set->tensors[index] : NULL;
}

const acc_tensor_view *acc_weight_set_find(const acc_weight_set *set, const char *name)
{
    if (!set || !name)
        return NULL;
    size_t low = 0, high = set->n_tensors;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const acc_tensor_view *view = &set->tensors[set->by_name[middle]];
        int order = strcmp(view->name, name);
        if (order == 0)
            return view;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

/* qsort has no context argument, so sort pairs that carry the name. */
typedef struct name_entry {
    const char *name;
    size_t index;
} name_entry;

static int compare_name_entries(const void *a, const void *b)
{
    const name_entry *left = a, *right = b;
    int order = strcmp(left->name, right->name);
    if (order != 0)
        return order;
    return left->index < right->index ? -1 : left->index > right->index;
}

/* Maps and parses `paths[0..n)` and builds the tensor table; rejects a
 * tensor name that occurs in two files. */
static acc_status weight_set_build(char **paths, size_t n_files, acc_weight_set **out,
                                   acc_error *err)
{
    acc_weight_set *set = acc_calloc(1, sizeof *set, err);
    if (!set)
        return ACC_ERR_RUNTIME;
    set->files = acc_calloc(n_files, sizeof *set->files, err);
    set->headers = acc_calloc(n_files, sizeof *set->headers, err);
    if (!set->files || !set->headers) {
        acc_weight_set_close(set);
        return ACC_ERR_RUNTIME;
    }
    for (size_t i = 0; i < n_files; i++) {
        acc_status status = acc_mapped_file_open(&set->files[i], paths[i], err);
        if (status != ACC_OK) {
            acc_weight_set_close(set);
            return status;
        }
        set->n_files = i + 1;
        status = acc_safetensors_parse(set->files[i].data, set->files[i].size, set->files[i].path,
                                       &set->headers[i], err);
        if (status != ACC_OK) {
            acc_weight_set_close(set);
            return status;
        }
        set->n_tensors += set->headers[i].n_tensors;
    }

    set->tensors = acc_calloc(set->n_tensors, sizeof *set->tensors, err);
    set->file_of = acc_calloc(set->n_tensors, sizeof *set->file_of, err);
    set->by_name = acc_calloc(set->n_tensors, sizeof *set->by_name, err);
    name_entry *entries = acc_calloc(set->n_tensors, sizeof *entries, err);
    if (!set->tensors || !set->file_of || !set->by_name || !entries) {
        free(entries);
        acc_weight_set_close(set);
        return ACC_ERR_RUNTIME;
    }
    size_t next = 0;
    for (size_t i = 0; i < n_files; i++) {
        for (size_t t = 0; t < set->headers[i].n_tensors; t++, next++) {
            set->tensors[next] = set->headers[i].tensors[t];
            set->file_of[next] = i;
            entries[next] = (name_entry){set->tensors[next].name, next};
        }
    }
    qsort(entries, set->n_tensors, sizeof *entries, compare_name_entries);
    for (size_t i = 0; i < set->n_tensors; i++) {
        if (i > 0 && strcmp(entries[i].name, entries[i - 1].name) == 0) {
            acc_error_set(err, ACC_ERR_INPUT, "tensor '%s': present in both %s and %s",
                          entries[i].name, set->files[set->file_of[entries[i - 1].index]].path,
                          set->files[set->file_of[entries[i].index]].path);
            free(entries);
            acc_weight_set_close(set);
            return ACC_ERR_INPUT;
        }
        set->by_name[i] = entries[i].index;
    }
    free(entries);
    *out = set;
    return ACC_OK;
}

acc_status acc_weight_set_from_views(const acc_tensor_view *views, size_t n, acc_weight_set **out,
                                     acc_error *err)
{
    *out = NULL;
    acc_weight_set *set = acc_calloc(1, sizeof *set, err);
    if (!set)
        return ACC_ERR_RUNTIME;
    set->n_tensors = n;
    set->tensors = acc_calloc(n ? n : 1, sizeof *set->tensors, err);
    set->file_of = acc_calloc(n ? n : 1, sizeof *set->file_of, err);
    set->by_name = acc_calloc(n ? n : 1, sizeof *set->by_name, err);
    name_entry *entries = acc_calloc(n ? n : 1, sizeof *entries, err);
    if (!set->tensors || !set->file_of || !set->by_name || !entries) {
        free(entries);
        acc_weight_set_close(set);
        return ACC_ERR_RUNTIME;
    }
    for (size_t i = 0; i < n; i++) {
        set->tensors[i] = views[i];
        entries[i] = (name_entry){views[i].name, i};
    }
    qsort(entries, n, sizeof *entries, compare_name_entries);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(entries[i].name, entries[i - 1].name) == 0) {
            acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': present twice",
                          views[entries[i].index].file ? views[entries[i].index].file : "?",
                          entries[i].name);
            free(entries);
            acc_weight_set_close(set);
            return ACC_ERR_INPUT;
        }
        set->by_name[i] = entries[i].index;
    }
    free(entries);
    *out = set;
    return ACC_OK;
}

acc_status acc_weight_set_open_file(const char *path, acc_weight_set **out, acc_error *err)
{
    *out = NULL;
    char *paths[1] = {(char *)path};
    return weight_set_build(paths, 1, out, err);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A shard name must be a plain file name inside the model directory. */
static int shard_name_is_safe(const char *shard)
{
    return shard[0] != '\0' && shard[0] != '.' && !strchr(shard, '/') && !strchr(shard, '\\');
}

/* Every tensor of the shards must sit in the file the index names, and every
 * name the index lists must have been found. */
static acc_status check_against_index(const acc_weight_set *set, json_t *weight_map,
                                      char **shard_names, const char *index_path, acc_error *err)
{
    for (size_t i = 0; i < set->n_tensors; i++) {
        const acc_tensor_view *view = &set->tensors[i];
        json_t *listed = json_object_get(weight_map, view->name);
        if (!listed)
            return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': not listed in %s",
                                 view->file, view->name, index_path);
        const char *listed_shard = json_string_value(listed);
        const char *actual_shard = shard_names[set->file_of[i]];
        if (strcmp(listed_shard, actual_shard) != 0)
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: tensor '%s': index places it in shard '%s' but it is in "
                                 "shard '%s'",
                                 index_path, view->name, listed_shard, actual_shard);
    }
    if (json_object_size(weight_map) != set->n_tensors) {
        const char *key;
        json_t *value;
        json_object_foreach(weight_map, key, value)
        {
            if (!acc_weight_set_find(set, key))
                return acc_error_set(err, ACC_ERR_INPUT, "%s: tensor '%s': not found in shard '%s'",
                                     index_path, key, json_string_value(value));
        }
    }
    return ACC_OK;
}

static acc_status open_sharded(const char *dir, const char *index_path, acc_weight_set **out,
                               acc_error *err)
{
    char *text = NULL;
    size_t size = 0;
    acc_status status = acc_read_file(index_path, &text, &size, err);
    if (status != ACC_OK)
        return status;
    json_error_t json_err;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &json_err);
    free(text);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: line %d column %d: %s", index_path,
                             json_err.line, json_err.column, json_err.text);

    char **shard_names = NULL, **shard_paths = NULL;
    size_t n_shards = 0;
    json_t *weight_map = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    json_t *metadata = json_is_object(root) ? json_object_get(root, "metadata") : NULL;
    if (!json_is_object(root)) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: must be a JSON object", index_path);
        goto done;
    }
    if (metadata && !json_is_object(metadata) && !json_is_null(metadata)) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: field 'metadata': must be an object",
                               index_path);
        goto done;
    }
    if (!json_is_object(weight_map)) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: field 'weight_map': %s", index_path,
                               weight_map ? "must be an object" : "missing");
        goto done;
    }
    if (json_object_size(weight_map) == 0) {
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: field 'weight_map': is empty", index_path);
        goto done;
    }

    /* Each distinct shard once, in name order (model-00001-of-N first). */
    shard_names = acc_calloc(json_object_size(weight_map), sizeof *shard_names, err);
    if (!shard_names) {
        status = ACC_ERR_RUNTIME;
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(weight_map, key, value)
    {
        if (!json_is_string(value) || !shard_name_is_safe(json_string_value(value))) {
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "%s: tensor '%s': shard must be a file name in %s", index_path,
                                   key, dir);
            goto done;
        }
        shard_names[n_shards++] = (char *)json_string_value(value);
    }
    qsort(shard_names, n_shards, sizeof *shard_names, compare_strings);
    size_t n_unique = 0;
    for (size_t i = 0; i < n_shards; i++)
        if (n_unique == 0 || strcmp(shard_names[i], shard_names[n_unique - 1]) != 0)
            shard_names[n_unique++] = shard_names[i];
    n_shards = n_unique;

    shard_paths = acc_calloc(n_shards, sizeof *shard_paths, err);
    if (!shard_paths) {
        status = ACC_ERR_RUNTIME;
        goto done;
    }
    for (size_t i = 0; i < n_shards; i++) {
        shard_paths[i] = acc_path_join(dir, shard_names[i], err);
        if (!shard_paths[i]) {
            status = ACC_ERR_RUNTIME;
            goto done;
        }
        if (!acc_path_exists(shard_paths[i])) {
            status = acc_error_set(err, ACC_ERR_INPUT, "%s: shard '%s' does not exist (%s)",
                                   index_path, shard_names[i], shard_paths[i]);
            goto done;
        }
    }

    acc_weight_set *set = NULL;
    status = weight_set_build(shard_paths, n_shards, &set, err);
    if (status == ACC_OK) {
        status = check_against_index(set, weight_map, shard_names, index_path, err);
        if (status == ACC_OK)
            *out = set;
        else
            acc_weight_set_close(set);
    }

done:
    if (shard_paths)
        for (size_t i = 0; i < n_shards; i++)
            free(shard_paths[i]);
    free(shard_paths);
    free(shard_names);
    json_decref(root);
    return status;
}

acc_status acc_weight_set_open_dir(const char *dir, acc_weight_set **out, acc_error *err)
{
    *out = NULL;
    if (!acc_path_is_dir(dir))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: not a directory", dir);
    char *single = acc_path_join(dir, "model.safetensors", err);
    if (!single)
        return ACC_ERR_RUNTIME;
    if (acc_path_exists(single)) {
        acc_status status = acc_weight_set_open_file(single, out, err);
        free(single);
        return status;
    }
    free(single);
    char *index = acc_path_join(dir, "model.safetensors.index.json", err);
    if (!index)
        return ACC_ERR_RUNTIME;
    acc_status status;
    if (acc_path_exists(index))
        status = open_sharded(dir, index, out, err);
    else
        status = acc_error_set(err, ACC_ERR_INPUT,
                               "%s: no model.safetensors or model.safetensors.index.json", dir);
    free(index);
    return status;
}
