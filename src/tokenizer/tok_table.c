/*
 * tok_table.c — open-addressing hash tables for the tokenizer: token text
 * -> id (vocabularies of 100k+ entries must load fast) and (left, right)
 * id pair -> merge rank and merged id (280k merges for Llama-3), plus the
 * small growable id and segment arrays.
 */
#include "tokenizer/tok_internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static size_t table_capacity(size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap *= 2;
    return cap;
}

acc_status tok_strmap_init(tok_strmap *map, size_t expected, acc_error *err)
{
    map->cap = table_capacity(expected);
    map->count = 0;
    map->slots = acc_calloc(map->cap, sizeof *map->slots, err);
    return map->slots ? ACC_OK : ACC_ERR_RUNTIME;
}

static acc_status strmap_grow(tok_strmap *map, acc_error *err)
{
    tok_strmap bigger;
    if (tok_strmap_init(&bigger, map->cap, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    for (size_t i = 0; i < map->cap; i++) {
        tok_strmap_slot *slot = &map->slots[i];
        if (!slot->key)
            continue;
        size_t j = slot->hash & (bigger.cap - 1);
        while (bigger.slots[j].key)
            j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *slot;
        bigger.count++;
    }
    free(map->slots);
    *map = bigger;
    return ACC_OK;
}

acc_status tok_strmap_put(tok_strmap *map, const char *key, size_t len, int32_t value,
                          acc_error *err)
{
    if ((map->count + 1) * 2 > map->cap && strmap_grow(map, err) != ACC_OK)
        return ACC_ERR_RUNTIME;
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (map->cap - 1);
    while (map->slots[j].key) {
        tok_strmap_slot *slot = &map->slots[j];
        if (slot->hash == h && slot->len == len && memcmp(slot->key, key, len) == 0) {
            slot->value = value;
            return ACC_OK;
        }
        j = (j + 1) & (map->cap - 1);
    }
    map->slots[j] = (tok_strmap_slot){.key = key, .len = (uint32_t)len, .hash = h, .value = value};
    map->count++;
    return ACC_OK;
}

int32_t tok_strmap_get(const tok_strmap *map, const char *key, size_t len)
{
    if (!map->slots || len > UINT32_MAX)
        return -1;
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (map->cap - 1);
    while (map->slots[j].key) {
        const tok_strmap_slot *slot = &map->slots[j];
        if (slot->hash == h && slot->len == len && memcmp(slot->key, key, len) == 0)
            return slot->value;
        j = (j + 1) & (map->cap - 1);
    }
    return -1;
}

void tok_strmap_free(tok_strmap *map)
{
    free(map->slots);
    memset(map, 0, sizeof *map);
}

static uint64_t pair_key(int32_t left, int32_t right)
{
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

static size_t pair_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key;
}

acc_status tok_pairmap_init(tok_pairmap *map, size_t expected, acc_error *err)
{
    memset(map, 0, sizeof *map);
    map->cap = table_capacity(expected);
    map->keys = acc_calloc(map->cap, sizeof *map->keys, err);
    map->rank = acc_malloc(map->cap * sizeof *map->rank, err);
    map->merged = acc_malloc(map->cap * sizeof *map->merged, err);
    if (!map->keys || !map->rank || !map->merged) {
        tok_pairmap_free(map);
        return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory for merges");
    }
    return ACC_OK;
}

static void pairmap_insert(tok_pairmap *map, uint64_t key, int32_t rank, int32_t merged)
{
    size_t j = pair_hash(key) & (map->cap - 1);
    while (map->keys[j] && map->keys[j] != key)
        j = (j + 1) & (map->cap - 1);
    if (!map->keys[j])
        map->count++;
    map->keys[j] = key;
    map->rank[j] = rank;
    map->merged[j] = merged;
}

acc_status tok_pairmap_put(tok_pairmap *map, int32_t left, int32_t right, int32_t rank,
                           int32_t merged, acc_error *err)
{
    if ((map->count + 1) * 2 > map->cap) {
        tok_pairmap bigger;
        if (tok_pairmap_init(&bigger, map->cap, err) != ACC_OK)
            return ACC_ERR_RUNTIME;
        for (size_t i = 0; i < map->cap; i++)
            if (map->keys[i])
                pairmap_insert(&bigger, map->keys[i], map->rank[i], map->merged[i]);
        tok_pairmap_free(map);
        *map = bigger;
    }
    pairmap_insert(map, pair_key(left, right), rank, merged);
    return ACC_OK;
}

int tok_pairmap_get(const tok_pairmap *map, int32_t left, int32_t right, int32_t *rank,
                    int32_t *merged)
{
    if (!map->keys || map->count == 0)
        return 0;
    uint64_t key = pair_key(left, right);
    size_t j = pair_hash(key) & (map->cap - 1);
    while (map->keys[j]) {
        if (map->keys[j] == key) {
            *rank = map->rank[j];
            *merged = map->merged[j];
            return 1;
        }
        j = (j + 1) & (map->cap - 1);
    }
    return 0;
}

void tok_pairmap_free(tok_pairmap *map)
{
    free(map->keys);
    free(map->rank);
    free(map->merged);
    memset(map, 0, sizeof *map);
}

acc_status tok_ids_push(tok_ids *ids, int32_t id, acc_error *err)
{
    if (ids->len == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *grown = realloc(ids->data, cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        ids->data = grown;
        ids->cap = cap;
    }
    ids->data[ids->len++] = id;
    return ACC_OK;
}

acc_status tok_segments_push(tok_segments *s, size_t start, size_t end, int32_t flag,
                             acc_error *err)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        tok_segment *grown = realloc(s->data, cap * sizeof *grown);
        if (!grown)
            return acc_error_set(err, ACC_ERR_RUNTIME, "tokenizer: out of memory");
        s->data = grown;
        s->cap = cap;
    }
    s->data[s->len++] = (tok_segment){.start = start, .end = end, .flag = flag};
    return ACC_OK;
}
