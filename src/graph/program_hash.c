/*
 * program_hash.c — SHA-256 content hashes (OpenSSL EVP): of the graph's
 * structure, which is everything a memory plan depends on, and of the
 * whole model (graph + every stored tensor's name, dtype, shape and bytes),
 * which is everything a reference output depends on.  Hashing content
 * rather than paths or times means a copied model hits the cache and a
 * changed weight misses it.
 */
#include "accinf/program.h"

#include "model/model_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void hash_to_hex(const unsigned char digest[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

void acc_sha256_hex(const void *data, size_t size, char hex[65])
{
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_Digest(data, size, digest, &len, EVP_sha256(), NULL);
    hash_to_hex(digest, hex);
}

static void hash_int(EVP_MD_CTX *ctx, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    EVP_DigestUpdate(ctx, b, 8);
}

static void hash_float(EVP_MD_CTX *ctx, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    hash_int(ctx, bits);
}

static void hash_string(EVP_MD_CTX *ctx, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    hash_int(ctx, (int64_t)n);
    if (n)
        EVP_DigestUpdate(ctx, s, n);
}

static void hash_graph(EVP_MD_CTX *ctx, const acc_graph *g)
{
    hash_string(ctx, "accinf-graph-v1");
    hash_int(ctx, g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        const acc_node *n = &g->nodes[i];
        hash_int(ctx, n->op);
        for (int s = 0; s < 3; s++)
            hash_int(ctx, n->src[s]);
        hash_int(ctx, n->rows);
        hash_int(ctx, n->fixed_rows);
        hash_int(ctx, n->cols);
        hash_int(ctx, n->weight);
        hash_int(ctx, n->index_by);
        hash_float(ctx, n->alpha);
        hash_float(ctx, n->scale);
        hash_float(ctx, n->eps);
        hash_int(ctx, n->layer);
        hash_int(ctx, n->n_heads);
        hash_int(ctx, n->n_kv_heads);
        hash_int(ctx, n->head_dim);
    }
    hash_int(ctx, g->n_weights);
    for (int i = 0; i < g->n_weights; i++) {
        const acc_weight_source *w = &g->weights[i];
        hash_string(ctx, w->name);
        hash_string(ctx, w->source);
        hash_int(ctx, w->source_dims);
        hash_int(ctx, w->source_shape[0]);
        hash_int(ctx, w->source_shape[1]);
        hash_int(ctx, w->transpose);
        hash_int(ctx, w->row_begin);
        hash_int(ctx, w->col_begin);
        hash_int(ctx, w->rows);
        hash_int(ctx, w->cols);
    }
    hash_int(ctx, g->output);
    hash_int(ctx, g->n_layers);
    hash_int(ctx, g->kv_dim);
    hash_int(ctx, g->rope_dims);
    for (int i = 0; g->rope_inv_freq && i < g->rope_dims / 2; i++)
        hash_float(ctx, g->rope_inv_freq[i]);
}

static acc_status hash_finish(EVP_MD_CTX *ctx, char hex[65], acc_error *err)
{
    unsigned char digest[32];
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return acc_error_set(err, ACC_ERR_RUNTIME, "SHA-256: digest failed");
    hash_to_hex(digest, hex);
    return ACC_OK;
}

static EVP_MD_CTX *hash_start(acc_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(ctx);
        acc_error_set(err, ACC_ERR_RUNTIME, "SHA-256: cannot create a digest context");
        return NULL;
    }
    return ctx;
}

acc_status acc_graph_content_hash(const acc_model *model, char hex[65], acc_error *err)
{
    EVP_MD_CTX *ctx = hash_start(err);
    if (!ctx)
        return ACC_ERR_RUNTIME;
    hash_graph(ctx, acc_model_graph(model));
    return hash_finish(ctx, hex, err);
}

acc_status acc_model_content_hash(const acc_model *model, char hex[65], acc_error *err)
{
    EVP_MD_CTX *ctx = hash_start(err);
    if (!ctx)
        return ACC_ERR_RUNTIME;
    hash_graph(ctx, acc_model_graph(model));
    const acc_weight_set *set = acc_model_weights(model);
    size_t n = acc_weight_set_count(set);
    hash_int(ctx, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        const acc_tensor_view *v = acc_weight_set_at(set, i);
        hash_string(ctx, v->name);
        hash_int(ctx, v->dtype);
        hash_int(ctx, v->n_dims);
        for (int d = 0; d < v->n_dims; d++)
            hash_int(ctx, v->shape[d]);
        hash_int(ctx, (int64_t)v->nbytes);
        if (v->nbytes)
            EVP_DigestUpdate(ctx, v->data, (size_t)v->nbytes);
    }
    return hash_finish(ctx, hex, err);
}
