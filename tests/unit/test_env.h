/*
 * test_env.h — save and restore an environment variable around a test that
 * sets it (the CPU backend reads ACCINF_CPU_ISA and ACCINF_CPU_AMX when an
 * engine is created).  The saved value is a copy: a pointer from getenv
 * may not survive a later setenv of the same name.
 */
#ifndef ACCINF_TEST_ENV_H
#define ACCINF_TEST_ENV_H

#include <stdlib.h>
#include <string.h>

/* A copy of the variable's value, or NULL when unset. */
static inline char *test_env_save(const char *name)
{
    const char *value = getenv(name);
    return value ? strdup(value) : NULL;
}

/* Puts back what test_env_save returned (unset if NULL) and frees it. */
static inline void test_env_restore(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

#endif
