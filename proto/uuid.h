/*
 * uuid: random version-4 UUIDs (RFC 4122 §4.4), used as report, profile and result ids.
 */
#ifndef PROTO_UUID_H
#define PROTO_UUID_H

#include "rc.h"

#define PROTO_UUID_TEXT_LEN 36u /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" without the NUL */

/* Generates a random version-4 UUID into out (37 bytes). PROTO_EIO if no randomness. */
enum proto_rc proto_uuid_v4(char out[37]);

#endif
