/*
 * buf: a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * The buffer owns its storage and always keeps a NUL after the data so it can be read as a C
 * string. Appending past `max` fails with PROTO_ELIMIT and leaves the contents unchanged, so
 * a parser that reads outside input cannot be made to allocate without bound.
 */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>

#include "printf_like.h"
#include "rc.h"

struct proto_buf {
    char *data; /* NULL until the first append; NUL-terminated after it */
    size_t len;
    size_t cap;
    size_t max; /* largest len allowed */
};

void proto_buf_init(struct proto_buf *b, size_t max);
void proto_buf_free(struct proto_buf *b);  /* accepts a zeroed or freed buffer */
void proto_buf_reset(struct proto_buf *b); /* len = 0, keeps storage */

enum proto_rc proto_buf_append(struct proto_buf *b, const void *data, size_t len);
enum proto_rc proto_buf_append_str(struct proto_buf *b, const char *s);
enum proto_rc proto_buf_append_byte(struct proto_buf *b, unsigned char c);
enum proto_rc proto_buf_appendf(struct proto_buf *b, const char *fmt, ...) PROTO_PRINTF_LIKE(2, 3);

/* Hands the storage to the caller (caller frees with proto_free); the buffer becomes empty.
 * Returns an empty allocated string when nothing was appended; NULL only on allocation failure. */
char *proto_buf_detach(struct proto_buf *b, size_t *len_out);

/* Borrowed: "" when empty; valid until the next append or free. */
const char *proto_buf_str(const struct proto_buf *b);

#endif
