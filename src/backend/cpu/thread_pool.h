/*
 * thread_pool.h — a persistent pool of worker threads for the CPU backend.
 *
 * Threads are created once.  acc_thread_pool_run hands one function to all
 * workers (the caller takes part as worker 0) and returns when every worker
 * has finished: a fork-join barrier per kernel.  Each kernel splits its own
 * work by (worker, n_workers).
 */
#ifndef ACCINF_THREAD_POOL_H
#define ACCINF_THREAD_POOL_H

#include "accinf/base.h"

typedef void (*acc_pool_task)(void *context, int worker, int n_workers);

typedef struct acc_thread_pool acc_thread_pool;

acc_status acc_thread_pool_create(int n_threads, acc_thread_pool **out, acc_error *err);
void acc_thread_pool_destroy(acc_thread_pool *pool);
int acc_thread_pool_size(const acc_thread_pool *pool);
/* Runs task(context, w, n) for w in [0, n) on n workers and waits.  n is
 * the pool size, or 1 when `small` says the work is not worth the fork. */
void acc_thread_pool_run(acc_thread_pool *pool, acc_pool_task task, void *context, int small);

#endif
