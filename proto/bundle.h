/*
 * bundle: reads a capture bundle folder (DESIGN §5) into a snapshot.
 *
 * Reads host.txt first (its OEMCodePage applies to the rest), then LocalMachine-My/NNN-*.cer in
 * NNN order with private-keys.txt, then the netsh and reg captures. Every missing, oversized or
 * unreadable file becomes an entry in snapshot.errors with the reason; only a missing folder or
 * an allocation failure makes the read fail. Never follows more than PROTO_MAX_CERTS files.
 */
#ifndef PROTO_BUNDLE_H
#define PROTO_BUNDLE_H

#include "model.h"

/* Caller destroys *out with proto_snapshot_destroy. PROTO_ENOTFOUND if dir is not a folder. */
enum proto_rc proto_bundle_read(const char *dir, struct proto_snapshot **out);

/* Reads a whole file up to `max` bytes. *out is caller-freed (NUL-terminated). PROTO_ENOTFOUND
 * if absent, PROTO_ELIMIT if larger than max, PROTO_EIO otherwise. */
enum proto_rc proto_file_read(const char *path, size_t max, unsigned char **out, size_t *out_len);

#endif
