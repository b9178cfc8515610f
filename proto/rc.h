/*
 * rc: the one result type of librrasproto (STYLE rule 3).
 *
 * Every fallible function returns enum proto_rc; PROTO_OK is zero so `if (result)` reads as
 * "failed". proto_rc_str() gives a short, stable English text for logs and error bodies.
 * Codes are never renumbered: they may be stored or sent.
 */
#ifndef PROTO_RC_H
#define PROTO_RC_H

#include <stddef.h>

#include "printf_like.h"

enum proto_rc {
    PROTO_OK = 0,
    PROTO_ENOMEM,       /* an allocation failed */
    PROTO_EINVAL,       /* the caller passed something invalid (programmer error) */
    PROTO_ELIMIT,       /* input exceeds a named limit in caps.h */
    PROTO_EPARSE,       /* input is malformed */
    PROTO_ETYPE,        /* a JSON member has the wrong type */
    PROTO_EMISSING,     /* a required member or file is missing */
    PROTO_EIO,          /* reading or writing a file failed */
    PROTO_ENOTFOUND,    /* a looked-up item does not exist */
    PROTO_EUNAVAILABLE, /* a source produced nothing usable (e.g. netsh stub under Wine) */
    PROTO_EENCODING,    /* text could not be decoded */
    PROTO_EUNSUPPORTED, /* well-formed but not something we handle */
    PROTO_ECRYPTO,      /* a cryptographic operation failed */
    PROTO_ECHANGED,     /* what a shortcut relied on has changed: do the full work instead */
    PROTO_ECONFLICT,    /* the key is already taken by another owner (another host's id) */
};

/* Borrowed static string; never NULL. */
const char *proto_rc_str(enum proto_rc rc);

/* Formats a one-line reason into err[0..size) for the caller to show; does nothing when err is
 * NULL or size is 0, and leaves "" if formatting fails. The error-message helper every module
 * shares. */
void proto_errf(char *err, size_t size, const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

#endif
