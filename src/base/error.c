/*
 * error.c — acc_error: one message with its context, built up as an error
 * travels outward (innermost "what", outer layers prepend "where").
 */
#include "accinf/base.h"

#include <stdio.h>
#include <string.h>

acc_status acc_error_set(acc_error *err, acc_status status, const char *fmt, ...)
{
    if (err) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, args);
        va_end(args);
        err->status = status;
    }
    return status;
}

acc_status acc_error_wrap(acc_error *err, const char *fmt, ...)
{
    if (!err)
        return ACC_ERR_RUNTIME;
    char prefix[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    /* Large enough for both parts, then cut to the message's size. */
    char joined[sizeof prefix + sizeof err->message + 2];
    snprintf(joined, sizeof joined, "%s: %s", prefix, err->message);
    snprintf(err->message, sizeof err->message, "%.*s", (int)sizeof err->message - 1, joined);
    return err->status;
}
