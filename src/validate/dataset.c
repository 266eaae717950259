/*
 * dataset.c — prompt sources for `accinf validate`:
 *   sharegpt     a JSON array of {"conversations":[{"value": PROMPT}, ...]};
 *                the first turn's value (entries without one are skipped)
 *   rag_factoid  JSON Lines: each non-empty line is a JSON string, or an
 *                object whose "prompt", "text" or "question" is the prompt
 *   custom       a directory; every regular file (sorted by name) is a prompt
 * Prompts must be valid UTF-8; errors name the file and the entry or line.
 */
#include "accinf/validate.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATASET_MAX_PROMPTS 1000000

acc_status acc_dataset_type_parse(const char *name, acc_dataset_type *out, acc_error *err)
{
    if (strcmp(name, "sharegpt") == 0)
        *out = ACC_DATASET_SHAREGPT;
    else if (strcmp(name, "rag_factoid") == 0)
        *out = ACC_DATASET_RAG_FACTOID;
    else if (strcmp(name, "custom") == 0)
        *out = ACC_DATASET_CUSTOM;
    else
        return acc_error_set(err, ACC_ERR_INPUT,
                             "--dataset-type: '%s' (want sharegpt, rag_factoid or custom)", name);
    return ACC_OK;
}

const char *acc_dataset_type_name(acc_dataset_type type)
{
    return type == ACC_DATASET_SHAREGPT      ? "sharegpt"
           : type == ACC_DATASET_RAG_FACTOID ? "rag_factoid"
                                             : "custom";
}

static acc_status dataset_add(acc_dataset *d, int *cap, const char *text, size_t size,
                              const char *where, const char *entry, long index, acc_error *err)
{
    size_t bad = 0;
    if (!acc_utf8_valid(text, size, &bad))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: %s %ld: invalid UTF-8 at byte %zu", where,
                             entry, index, bad);
    if (d->n >= DATASET_MAX_PROMPTS)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: more than %d prompts", where,
                             DATASET_MAX_PROMPTS);
    if (d->n == *cap) {
        int grown = *cap ? *cap * 2 : 64;
        char **prompts = realloc(d->prompts, (size_t)grown * sizeof *prompts);
        if (prompts)
            d->prompts = prompts;
        size_t *sizes = realloc(d->sizes, (size_t)grown * sizeof *sizes);
        if (sizes)
            d->sizes = sizes;
        if (!prompts || !sizes)
            return acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
        *cap = grown;
    }
    char *copy = acc_malloc(size + 1, err);
    if (!copy)
        return ACC_ERR_RUNTIME;
    memcpy(copy, text, size);
    copy[size] = '\0';
    d->prompts[d->n] = copy;
    d->sizes[d->n] = size;
    d->n++;
    return ACC_OK;
}

static acc_status dataset_parse_sharegpt(const char *text, size_t size, const char *where,
                                         acc_dataset *d, int *cap, acc_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, size, 0, &jerr);
    if (!root)
        return acc_error_set(err, ACC_ERR_INPUT, "%s:%d:%d: invalid JSON: %s", where, jerr.line,
                             jerr.column, jerr.text);
    acc_status status = ACC_OK;
    if (!json_is_array(root))
        status = acc_error_set(err, ACC_ERR_INPUT,
                               "%s: expected a JSON array of {\"conversations\": [...]}", where);
    for (size_t i = 0; status == ACC_OK && i < json_array_size(root); i++) {
        json_t *entry = json_array_get(root, i);
        json_t *turns = json_is_object(entry) ? json_object_get(entry, "conversations") : NULL;
        json_t *first = json_array_get(turns, 0);
        json_t *value = json_is_object(first) ? json_object_get(first, "value") : NULL;
        if (!json_is_string(value))
            continue; /* ShareGPT dumps hold empty conversations; skip them */
        status = dataset_add(d, cap, json_string_value(value), json_string_length(value), where,
                             "entry", (long)i, err);
    }
    json_decref(root);
    return status;
}

static acc_status dataset_parse_jsonl(const char *text, size_t size, const char *where,
                                      acc_dataset *d, int *cap, acc_error *err)
{
    static const char *const fields[] = {"prompt", "text", "question"};
    size_t pos = 0;
    long line = 0;
    while (pos < size) {
        line++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - start) : size - pos;
        pos += len + (nl ? 1 : 0);
        size_t blank = 0;
        while (blank < len && (start[blank] == ' ' || start[blank] == '\t' || start[blank] == '\r'))
            blank++;
        if (blank == len)
            continue;
        json_error_t jerr;
        json_t *v = json_loadb(start, len, JSON_DECODE_ANY, &jerr);
        if (!v)
            return acc_error_set(err, ACC_ERR_INPUT, "%s:%ld:%d: invalid JSON: %s", where, line,
                                 jerr.column, jerr.text);
        json_t *s = v;
        if (json_is_object(v)) {
            s = NULL;
            for (size_t f = 0; f < 3 && !s; f++)
                if (json_is_string(json_object_get(v, fields[f])))
                    s = json_object_get(v, fields[f]);
        }
        acc_status status;
        if (!json_is_string(s))
            status = acc_error_set(err, ACC_ERR_INPUT,
                                   "%s:%ld: expected a JSON string or an object with a string "
                                   "\"prompt\", \"text\" or \"question\"",
                                   where, line);
        else
            status = dataset_add(d, cap, json_string_value(s), json_string_length(s), where, "line",
                                 line, err);
        json_decref(v);
        if (status != ACC_OK)
            return status;
    }
    return ACC_OK;
}

acc_status acc_dataset_parse(acc_dataset_type type, const char *text, size_t size,
                             const char *where, acc_dataset *out, acc_error *err)
{
    memset(out, 0, sizeof *out);
    int cap = 0;
    acc_status status;
    if (type == ACC_DATASET_SHAREGPT)
        status = dataset_parse_sharegpt(text, size, where, out, &cap, err);
    else if (type == ACC_DATASET_RAG_FACTOID)
        status = dataset_parse_jsonl(text, size, where, out, &cap, err);
    else
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: a custom dataset is a directory", where);
    if (status == ACC_OK && out->n == 0)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: no prompts", where);
    if (status != ACC_OK)
        acc_dataset_free(out);
    return status;
}

static int dataset_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static acc_status dataset_load_dir(const char *path, acc_dataset *out, acc_error *err)
{
    DIR *dir = opendir(path);
    if (!dir)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: cannot open the directory", path);
    char **names = NULL;
    int n = 0, cap_names = 0;
    acc_status status = ACC_OK;
    struct dirent *entry;
    while (status == ACC_OK && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (n == cap_names) {
            cap_names = cap_names ? cap_names * 2 : 64;
            char **grown = realloc(names, (size_t)cap_names * sizeof *names);
            if (!grown) {
                status = acc_error_set(err, ACC_ERR_RUNTIME, "out of memory");
                break;
            }
            names = grown;
        }
        names[n] = acc_strdup(entry->d_name, err);
        if (!names[n])
            status = ACC_ERR_RUNTIME;
        else
            n++;
    }
    closedir(dir);
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, dataset_compare_names);
    int cap = 0;
    for (int i = 0; status == ACC_OK && i < n; i++) {
        char *file = acc_path_join(path, names[i], err);
        if (!file) {
            status = ACC_ERR_RUNTIME;
            break;
        }
        struct stat st;
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            char *text = NULL;
            size_t size = 0;
            status = acc_read_file(file, &text, &size, err);
            if (status == ACC_OK)
                status = dataset_add(out, &cap, text, size, file, "file", (long)i, err);
            free(text);
        }
        free(file);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (status == ACC_OK && out->n == 0)
        status = acc_error_set(err, ACC_ERR_INPUT, "%s: no prompt files", path);
    return status;
}

acc_status acc_dataset_load(acc_dataset_type type, const char *path, acc_dataset *out,
                            acc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!acc_path_exists(path))
        return acc_error_set(err, ACC_ERR_INPUT, "%s: no such file or directory", path);
    acc_status status;
    if (type == ACC_DATASET_CUSTOM) {
        if (!acc_path_is_dir(path))
            return acc_error_set(err, ACC_ERR_INPUT,
                                 "%s: a custom dataset must be a directory of prompt files", path);
        status = dataset_load_dir(path, out, err);
    } else {
        if (acc_path_is_dir(path))
            return acc_error_set(err, ACC_ERR_INPUT, "%s: is a directory (want a %s file)", path,
                                 acc_dataset_type_name(type));
        char *text = NULL;
        size_t size = 0;
        status = acc_read_file(path, &text, &size, err);
        if (status == ACC_OK)
            status = acc_dataset_parse(type, text, size, path, out, err);
        free(text);
    }
    if (status != ACC_OK)
        acc_dataset_free(out);
    return status;
}

void acc_dataset_free(acc_dataset *d)
{
    for (int i = 0; d->prompts && i < d->n; i++)
        free(d->prompts[i]);
    free(d->prompts);
    free(d->sizes);
    memset(d, 0, sizeof *d);
}
