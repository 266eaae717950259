/*
 * base.h — errors with context, memory-mapped files and small helpers that
 * every layer of libaccinf uses.
 *
 * Every fallible function returns an acc_status and, on failure, fills the
 * caller's acc_error with "<where>: <what>" (file, field, byte offset or
 * line:column).  Nothing below the CLI prints or exits.
 */
#ifndef ACCINF_BASE_H
#define ACCINF_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ACC_VERSION "0.1.0"

/* The numeric values are the CLI's exit codes (DESIGN.md, Contracts). */
typedef enum acc_status {
    ACC_OK = 0,
    ACC_ERR_CHECK = 1,   /* a check failed (validate, bench constraints) */
    ACC_ERR_INPUT = 2,   /* bad input or usage: files, configs, prompts */
    ACC_ERR_RUNTIME = 3, /* out of memory, device or system failure */
} acc_status;

typedef struct acc_error {
    acc_status status;
    char message[1024];
} acc_error;

/* Sets err (if not NULL) and returns status, so callers can write
 * `return acc_error_set(err, ACC_ERR_INPUT, "%s: bad magic", path);`. */
acc_status acc_error_set(acc_error *err, acc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<prefix>: " to an existing message (adds outer context). */
acc_status acc_error_wrap(acc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation helpers that report out-of-memory through err. */
void *acc_malloc(size_t size, acc_error *err);
void *acc_calloc(size_t count, size_t size, acc_error *err);
char *acc_strdup(const char *text, acc_error *err);

/* Overflow-checked arithmetic: return 0 and store the result, or 1 on overflow. */
int acc_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out);
int acc_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out);

/* A read-only memory-mapped file. size 0 files map to data == NULL. */
typedef struct acc_mapped_file {
    const uint8_t *data;
    size_t size;
    char *path;
} acc_mapped_file;

acc_status acc_mapped_file_open(acc_mapped_file *file, const char *path, acc_error *err);
void acc_mapped_file_close(acc_mapped_file *file);

/* Reads a whole (small) file into a NUL-terminated heap buffer. */
acc_status acc_read_file(const char *path, char **out_text, size_t *out_size, acc_error *err);

/* Writes data to path atomically: a temp file beside it, fsync, rename. */
acc_status acc_write_file_atomic(const char *path, const void *data, size_t size, acc_error *err);

/* Path helpers. join allocates; the caller frees. */
char *acc_path_join(const char *dir, const char *name, acc_error *err);
int acc_path_is_dir(const char *path);
int acc_path_exists(const char *path);

/* Monotonic clock in seconds. */
double acc_now_seconds(void);

/* UTF-8: returns 1 if the n bytes are valid UTF-8, else 0 and the offset of
 * the first bad byte in *bad_offset. */
int acc_utf8_valid(const char *text, size_t n, size_t *bad_offset);

#endif
