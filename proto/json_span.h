/*
 * json_span: where a member's value sits in the raw text of a JSON object.
 *
 * The collector stores a report's "snapshot" exactly as received, apart from its envelope, so
 * that identical snapshots are kept once (decision 005). This finds those bytes. It locates and
 * never validates: call it on text a full parser has already accepted. It never reads past
 * `len` and does not recurse.
 */
#ifndef PROTO_JSON_SPAN_H
#define PROTO_JSON_SPAN_H

#include <stddef.h>

#include "rc.h"

/*
 * The value of member `key` of the top-level object: *off is its first byte, *span_len its
 * length (no surrounding whitespace). Only a key written without escapes matches, and the
 * first one wins, as with cJSON. PROTO_ENOTFOUND when no member has the key, or when an
 * escaped key comes before it (a decoding reader might take that one); PROTO_EPARSE when the
 * text is not an object this scanner can walk.
 */
enum proto_rc proto_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                                     size_t *span_len);

#endif
