/* rc: text for each result code. */
#include "rc.h"

#include <stdarg.h>
#include <stdio.h>

const char *proto_rc_str(enum proto_rc rc)
{
    switch (rc) {
    case PROTO_OK:
        return "ok";
    case PROTO_ENOMEM:
        return "out of memory";
    case PROTO_EINVAL:
        return "invalid argument";
    case PROTO_ELIMIT:
        return "limit exceeded";
    case PROTO_EPARSE:
        return "malformed input";
    case PROTO_ETYPE:
        return "wrong type";
    case PROTO_EMISSING:
        return "missing";
    case PROTO_EIO:
        return "input/output error";
    case PROTO_ENOTFOUND:
        return "not found";
    case PROTO_EUNAVAILABLE:
        return "source unavailable";
    case PROTO_EENCODING:
        return "undecodable text";
    case PROTO_EUNSUPPORTED:
        return "unsupported";
    case PROTO_ECRYPTO:
        return "cryptographic failure";
    case PROTO_ECHANGED:
        return "changed meanwhile";
    case PROTO_ECONFLICT:
        return "taken by another owner";
    }
    return "unknown error";
}

void proto_errf(char *err, size_t size, const char *fmt, ...)
{
    if (err == NULL || size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err[0] = '\0';
    }
}
