/*
 * ticket_keys: the agent listener's TLS session-ticket keys, kept in a file so that agents
 * resume their sessions across a collector restart instead of all making full handshakes at
 * once (~10 ms of CPU each with mbedTLS 2.28: 100,000 agents reporting every 5 minutes would
 * need about 3 cores for the first interval after every restart).
 * Installs the keys into mbedTLS's ticket context (2.28's public fields) and rotates them
 * itself, shortly before mbedTLS would, writing the file each time (atomically, mode 0600): the
 * file only ever holds the two keys in use, so a leaked copy exposes at most the tickets of the
 * last two key periods. Refuses a file that group or others may read, as ssh does with keys.
 * Never logs; never keeps a key anywhere but in mbedTLS's context and one mirror, both wiped.
 */
#ifndef RRAS_COLLECTOR_TICKET_KEYS_H
#define RRAS_COLLECTOR_TICKET_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl_ticket.h>

#include "rc.h"

/* Bytes of the file: "RRTK", version 2, the active slot, the binding (32 bytes, below), then per
 * slot a 4-byte key name, the generation time (32-bit big-endian seconds) and a 32-byte
 * AES-256-GCM key. */
#define COL_TICKET_KEYS_FILE_BYTES 118
#define COL_TICKET_KEYS_BINDING_LEN 32
/* Rotation happens this many seconds before mbedTLS's own would (at the ticket lifetime). */
#define COL_TICKET_KEYS_ROTATE_EARLY_S 60u
/* A key born this far in the future means the clock went back: it is replaced. Less is taken
 * as the clock's own jitter, so that a small step does not throw the previous key away. */
#define COL_TICKET_KEYS_FUTURE_SLACK_S 300u
/* A failed save is tried again at most this often. */
#define COL_TICKET_KEYS_RETRY_S 60u

struct col_ticket_keys;

/*
 * `ticket` must have been set up (mbedtls_ssl_ticket_setup, AES-256-GCM) with a lifetime of more
 * than 2 * COL_TICKET_KEYS_ROTATE_EARLY_S seconds. `binding` is a digest of what a resumed
 * session skips checking (the client CA bundle): keys saved under another binding are not used,
 * so changing the trusted CAs and restarting ends every resumption. Loads the keys from `path`,
 * or, when it does not exist or was bound to something else, makes two from `drbg` and writes
 * the file. On failure (unreadable, readable by others, not ours, malformed, cannot be written)
 * *out is NULL and err says why. Borrows `ticket` and `drbg` until col_ticket_keys_destroy;
 * caller destroys.
 */
enum proto_rc col_ticket_keys_create(mbedtls_ssl_ticket_context *ticket, const char *path,
                                     const unsigned char binding[COL_TICKET_KEYS_BINDING_LEN],
                                     mbedtls_ctr_drbg_context *drbg, struct col_ticket_keys **out,
                                     char *err, size_t err_size);
void col_ticket_keys_destroy(struct col_ticket_keys *k); /* accepts NULL */

/* Call before every mbedtls_ssl_ticket_write/parse on the ticket context: rotates the keys
 * when the active one is due (so mbedTLS does not rotate on its own), takes back a rotation
 * mbedTLS made anyway (a clock step between the two checks), and writes the file. A failed
 * write leaves the new keys in use (they only do not survive a restart), is tried again every
 * COL_TICKET_KEYS_RETRY_S, and returns PROTO_EIO; col_ticket_keys_saved tells whether the
 * file holds the keys in use. */
enum proto_rc col_ticket_keys_refresh(struct col_ticket_keys *k);
bool col_ticket_keys_saved(struct col_ticket_keys *k);

#endif
