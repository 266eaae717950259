/*
 * thread_pool.c — persistent pthread workers, pinned to cores, that spin
 * briefly before sleeping.
 *
 * A decode step runs a hundred or so kernels a few microseconds apart;
 * waking a sleeping thread through a condition variable for each would cost
 * more than many of the kernels.  So a posted task is announced by an
 * atomic generation counter that idle workers poll (with a pause hint) for
 * SPIN_NS, and only then do they sleep on the condition variable; the poster
 * takes the mutex and broadcasts only when someone sleeps.  The caller is
 * worker 0 and waits for the others on an atomic count.  With ACCINF_PIN=1
 * workers are pinned one per allowed CPU (worker i on the i-th CPU of the
 * process's affinity mask, leaving the first to the caller; skipped when
 * there are more threads than CPUs).  Pinning is off by default: on a
 * machine shared with other work it stops the OS from moving a worker off
 * a busy core, which measured slower here (docs/ARCHITECTURE.md).
 */
#include "backend/cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long an idle worker polls before it sleeps. */
#define SPIN_NS 200000L

struct acc_thread_pool {
    int n_threads;            /* workers including the caller */
    pthread_t *threads;       /* n_threads - 1 helpers */
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a task was posted or shutdown */
    atomic_ulong generation;  /* bumped once per posted task */
    atomic_int pending;       /* helpers still running the current task */
    atomic_int sleepers;      /* helpers blocked (or about to block) on `wake` */
    atomic_int shutdown;
    acc_pool_task task;       /* published by the release of `generation` */
    void *context;
};

typedef struct worker_arg {
    acc_thread_pool *pool;
    int index;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long elapsed_ns(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000000000L + (now.tv_nsec - start->tv_nsec);
}

/* Returns the generation after `seen` (or whatever is current at shutdown). */
static unsigned long worker_wait(acc_thread_pool *pool, unsigned long seen)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned spins = 1;; spins++) {
        unsigned long g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&pool->shutdown, memory_order_relaxed))
            return g;
        cpu_relax();
        if (spins % 256 == 0) {
            if (elapsed_ns(&start) > SPIN_NS)
                break;
            /* on a shared machine the caller may be waiting for this core */
            sched_yield();
        }
    }
    /* Announce the sleep before the last check; the poster bumps the
     * generation before it reads `sleepers` (both sequentially consistent),
     * so either we see the new task or it sees us and broadcasts under the
     * mutex we hold until pthread_cond_wait releases it. */
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->sleepers, 1);
    unsigned long g;
    while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->shutdown))
        pthread_cond_wait(&pool->wake, &pool->lock);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->lock);
    return g;
}

static void *worker_main(void *arg_ptr)
{
    worker_arg *arg = arg_ptr;
    acc_thread_pool *pool = arg->pool;
    int index = arg->index;
    free(arg);
    unsigned long seen = 0;
    for (;;) {
        seen = worker_wait(pool, seen);
        if (atomic_load(&pool->shutdown))
            break;
        pool->task(pool->context, index, pool->n_threads);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
    return NULL;
}

/* With ACCINF_PIN=1, pins helper i to the i-th allowed CPU; a failure
 * only costs speed. */
static void pool_pin_workers(acc_thread_pool *pool)
{
    const char *pin = getenv("ACCINF_PIN");
    if (!pin || !*pin || strcmp(pin, "0") == 0)
        return;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 ||
        CPU_COUNT(&allowed) < pool->n_threads)
        return;
    int index = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && index < pool->n_threads; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        if (index > 0 && index - 1 < pool->n_started) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pool->threads[index - 1], sizeof one, &one);
        }
        index++;
    }
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
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->shutdown, 0);
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
    pool_pin_workers(pool);
    *out = pool;
    return ACC_OK;
}

void acc_thread_pool_destroy(acc_thread_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->shutdown, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
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
    /* No helper reads task/context now: the previous run waited for all. */
    pool->task = task;
    pool->context = context;
    atomic_store(&pool->pending, pool->n_started);
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }

    task(context, 0, pool->n_threads);

    /* Helpers finish the same kernel at about the same time: spin, and
     * yield the core now and then in case one was descheduled. */
    for (unsigned spins = 1; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0;
         spins++) {
        cpu_relax();
        if (spins % 1024 == 0)
            sched_yield();
    }
}
