/*
 * file.c — memory-mapped input files, whole-file reads, atomic writes and
 * path helpers.  Errors always name the path and the system's reason.
 */
#include "accinf/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

acc_status acc_mapped_file_open(acc_mapped_file *file, const char *path, acc_error *err)
{
    memset(file, 0, sizeof *file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        return acc_error_set(err, ACC_ERR_INPUT, "%s: not a regular file", path);
    }
    file->size = (size_t)info.st_size;
    if (file->size > 0) {
        void *data = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            close(fd);
            return acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot map: %s", path,
                                 strerror(errno));
        }
        file->data = data;
    }
    close(fd);
    file->path = acc_strdup(path, err);
    if (!file->path) {
        acc_mapped_file_close(file);
        return ACC_ERR_RUNTIME;
    }
    return ACC_OK;
}

void acc_mapped_file_close(acc_mapped_file *file)
{
    if (file->data)
        munmap((void *)file->data, file->size);
    free(file->path);
    memset(file, 0, sizeof *file);
}

acc_status acc_read_file(const char *path, char **out_text, size_t *out_size, acc_error *err)
{
    *out_text = NULL;
    FILE *stream = fopen(path, "rb");
    if (!stream)
        return acc_error_set(err, ACC_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 4096, size = 0;
    char *text = acc_malloc(capacity, err);
    while (text) {
        if (size + 1 >= capacity) {
            char *grown = realloc(text, capacity * 2);
            if (!grown) {
                free(text);
                text = NULL;
                acc_error_set(err, ACC_ERR_RUNTIME, "%s: out of memory", path);
                break;
            }
            text = grown;
            capacity *= 2;
        }
        size_t got = fread(text + size, 1, capacity - size - 1, stream);
        size += got;
        if (got == 0)
            break;
    }
    int failed = ferror(stream);
    fclose(stream);
    if (!text)
        return ACC_ERR_RUNTIME;
    if (failed) {
        free(text);
        return acc_error_set(err, ACC_ERR_INPUT, "%s: read error", path);
    }
    text[size] = '\0';
    *out_text = text;
    if (out_size)
        *out_size = size;
    return ACC_OK;
}

acc_status acc_write_file_atomic(const char *path, const void *data, size_t size, acc_error *err)
{
    size_t tmp_size = strlen(path) + 32;
    char *tmp = acc_malloc(tmp_size, err);
    if (!tmp)
        return ACC_ERR_RUNTIME;
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return ACC_ERR_RUNTIME;
    }
    const uint8_t *bytes = data;
    size_t written = 0;
    while (written < size) {
        ssize_t n = write(fd, bytes + written, size - written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        written += (size_t)n;
    }
    int ok = written == size && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        acc_error_set(err, ACC_ERR_RUNTIME, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return ACC_ERR_RUNTIME;
    }
    free(tmp);
    return ACC_OK;
}

char *acc_path_join(const char *dir, const char *name, acc_error *err)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *joined = acc_malloc(size, err);
    if (joined)
        snprintf(joined, size, "%s/%s", dir, name);
    return joined;
}

int acc_path_is_dir(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

int acc_path_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

double acc_now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}
