/*
 * thread_pool.c — persistent pthread workers woken per kernel.
 *
 * A generation counter under one mutex tells workers a new task is posted;
 * `pending` counts workers still running it.  Workers sleep on a condition
 * variable between tasks, so an idle engine uses no CPU.
 */
#include "backend/cpu/thread_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct acc_thread_pool {
    int n_threads;            /* workers including the caller */
    pthread_t *threads;       /* n_threads - 1 helpers */
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a task was posted or shutdown */
    pthread_cond_t done;      /* pending reached 0 */
    unsigned long generation;
    int pending;
    int shutdown;
    acc_pool_task task;
    void *context;
};

typedef struct worker_arg {
    acc_thread_pool *pool;
    int index;
} worker_arg;

static void *worker_main(void *arg_ptr)
{
    worker_arg *arg = arg_ptr;
    acc_thread_pool *pool = arg->pool;
    int index = arg->index;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutdown && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->shutdown)
            break;
        seen = pool->generation;
        acc_pool_task task = pool->task;
        void *context = pool->context;
        pthread_mutex_unlock(&pool->lock);
        task(context, index, pool->n_threads);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

acc_status acc_thread_pool_create(int n_threads, acc_thread_pool **out, acc_error *err)
{
    *out = NULL;
    if (n_threads < 1)
        n_threads = 1;
    acc_thread_pool *pool = acc_calloc(1, sizeof *pool, err);
    if (!pool)
        return ACC_ERR_RUNTIME;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->threads = acc_calloc((size_t)n_threads, sizeof *pool->threads, err);
    if (!pool->threads) {
        acc_thread_pool_destroy(pool);
        return ACC_ERR_RUNTIME;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *arg = acc_malloc(sizeof *arg, err);
        if (!arg) {
            acc_thread_pool_destroy(pool);
            return ACC_ERR_RUNTIME;
        }
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->threads[pool->n_started], NULL, worker_main, arg) != 0) {
            free(arg);
            acc_thread_pool_destroy(pool);
            return acc_error_set(err, ACC_ERR_RUNTIME, "cannot start worker thread %d", i);
        }
        pool->n_started++;
    }
    *out = pool;
    return ACC_OK;
}

void acc_thread_pool_destroy(acc_thread_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->shutdown = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool->threads);
    free(pool);
}

int acc_thread_pool_size(const acc_thread_pool *pool)
{
    return pool->n_threads;
}

void acc_thread_pool_run(acc_thread_pool *pool, acc_pool_task task, void *context, int small)
{
    if (small || pool->n_started == 0) {
        task(context, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->task = task;
    pool->context = context;
    pool->pending = pool->n_started;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    task(context, 0, pool->n_threads);

    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
