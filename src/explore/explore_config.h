/*
 * explore_config.h — typed readers for one expanded section of the reallm
 * inputs (Chip, Package, Server, Model, system, constants), driven by field
 * tables.  Each reader fills reallm's defaults first, then the file's values.
 */
#ifndef ACCINF_EXPLORE_CONFIG_H
#define ACCINF_EXPLORE_CONFIG_H

#include "explore/explore_model.h"

typedef enum xfield_type {
    XF_NUM,       /* number >= 0 */
    XF_INT,       /* whole number >= 0 */
    XF_POS,       /* number > 0 */
    XF_POSINT,    /* whole number > 0 */
    XF_BOOL,      /* int 0/1 */
    XF_STR,       /* char[cap] */
    XF_IGNORE_STR, /* accepted for compatibility, not used */
    XF_CUSTOM,    /* handed back to the caller through `handled` */
} xfield_type;

typedef struct xfield {
    const char *name;
    xfield_type type;
    size_t offset;
    size_t cap;
} xfield;

/* Reads map's keys into base through the table; unknown keys are errors.
 * handled[i] receives the node of custom field i (may be NULL if none). */
acc_status xfields_read(const xnode *map, const char *section, const xfield *fields, size_t n,
                        void *base, const xnode **handled, acc_error *err);

acc_status xconfig_chip(const xnode *map, xchip *chip, acc_error *err);
acc_status xconfig_pkg(const xnode *map, xpkg *pkg, acc_error *err);
acc_status xconfig_srv(const xnode *map, xserver *srv, acc_error *err);
acc_status xconfig_model(const xnode *map, xllm *m, acc_error *err);
acc_status xconfig_sys(const xnode *map, xsysconf *s, acc_error *err);
acc_status xconfig_efficiency(const xnode *map, xsysconf *s, acc_error *err);

#endif
