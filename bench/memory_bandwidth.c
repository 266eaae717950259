/*
 * memory_bandwidth.c — measures this machine's sustained read bandwidth with
 * T threads summing a buffer far larger than the caches.  Decode of a dense
 * model reads every weight once per token, so bytes-per-token divided by this
 * figure is the decode speed limit that docs/PERFORMANCE.md quotes.
 * usage: accinf-membw [THREADS] [MIB]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const float *data;
    size_t count;
    double sum;
} slice;

/* 64 independent partial sums: with fewer, the chain of dependent adds,
 * not memory, limits the loop (8 sums measured ~40% low on AVX-512). */
#define SUMS 64

static void *sum_slice(void *arg)
{
    slice *s = arg;
    float acc[SUMS] = {0};
    for (size_t i = 0; i + SUMS <= s->count; i += SUMS)
        for (int k = 0; k < SUMS; k++)
            acc[k] += s->data[i + k];
    for (int k = 0; k < SUMS; k++)
        s->sum += acc[k];
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 64) {
        fprintf(stderr, "usage: accinf-membw [THREADS 1..256] [MIB >= 64]\n");
        return 2;
    }
    size_t count = mib * 1024 * 1024 / sizeof(float);
    float *data = malloc(count * sizeof(float));
    if (!data) {
        fprintf(stderr, "accinf-membw: out of memory\n");
        return 3;
    }
    for (size_t i = 0; i < count; i++)
        data[i] = (float)(i & 1023);
    double best = 0, checksum = 0;
    for (int rep = 0; rep < 5; rep++) {
        pthread_t ids[256];
        slice slices[256];
        size_t per = count / (size_t)threads;
        double start = now();
        for (int t = 0; t < threads; t++) {
            slices[t] = (slice){data + (size_t)t * per, per, 0};
            pthread_create(&ids[t], NULL, sum_slice, &slices[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(ids[t], NULL);
            checksum += slices[t].sum;
        }
        double gbps = (double)(per * (size_t)threads * sizeof(float)) / (now() - start) / 1e9;
        if (gbps > best)
            best = gbps;
    }
    printf("{\"threads\":%d,\"mib\":%zu,\"read_gb_s\":%.2f,\"checksum\":%.0f}\n", threads, mib,
           best, checksum);
    free(data);
    return 0;
}
