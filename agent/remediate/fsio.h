/*
 * fsio: the remediation folder's file primitives: whole-file reads with a cap and atomic
 * replacement (temp file beside the target, fsync, rename, fsync of the folder), so a crash
 * leaves either the old file or the new one, never a mix. Used for the simulated host's bundle
 * files and for the state folder (serial, journal). Owns no state; POSIX today, a *_win32.c
 * twin (MoveFileEx with MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) later.
 */
#ifndef AGENT_FSIO_H
#define AGENT_FSIO_H

#include <stddef.h>

#include "rc.h"

/* Replaces `path` with data[0..len) atomically; the new file gets `mode` (e.g. 0600). The temp
 * file is `path` + ".tmp" and is removed on failure. PROTO_EIO on any failure. */
enum proto_rc agent_fsio_write_atomic(const char *path, const void *data, size_t len,
                                      unsigned mode);

/* Removes `path` and makes the removal durable; an absent file is PROTO_OK. */
enum proto_rc agent_fsio_remove(const char *path);

/* Creates the folder `path` (0700) unless it exists. PROTO_EIO when it cannot, or when `path`
 * exists and is not a folder. */
enum proto_rc agent_fsio_mkdir(const char *path);

/* "dir/name" into out; PROTO_ELIMIT when it does not fit. */
enum proto_rc agent_fsio_join(char *out, size_t out_size, const char *dir, const char *name);

#endif
