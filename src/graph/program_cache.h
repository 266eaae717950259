/*
 * program_cache.h — the program file format shared by program.c (which
 * writes and reads plans) and program_cache.c (which lists and clears the
 * cache): a header line {"format","version","key","checksum"} and a JSON
 * body whose SHA-256 is the checksum.
 */
#ifndef ACCINF_PROGRAM_CACHE_H
#define ACCINF_PROGRAM_CACHE_H

#include "accinf/base.h"

#include <jansson.h>

#define PROGRAM_FORMAT "accinf-program"
#define PROGRAM_VERSION 1

/* Checks format, version, key (when want_key is not NULL) and checksum;
 * returns the parsed body (caller decrefs) or NULL with err set.  key_out
 * (may be NULL) receives the stored key. */
json_t *acc_program_file_parse(const char *path, const char *text, size_t size,
                               const char *want_key, char key_out[65], acc_error *err);

#endif
