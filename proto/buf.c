/* buf: capped growable buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

void proto_buf_init(struct proto_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void proto_buf_free(struct proto_buf *b)
{
    if (b == NULL) {
        return;
    }
    proto_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void proto_buf_reset(struct proto_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

static enum proto_rc buf_reserve(struct proto_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        return PROTO_ELIMIT;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return PROTO_OK;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    char *grown = proto_realloc(b->data, cap);
    if (grown == NULL) {
        return PROTO_ENOMEM;
    }
    b->data = grown;
    b->cap = cap;
    return PROTO_OK;
}

enum proto_rc proto_buf_append(struct proto_buf *b, const void *data, size_t len)
{
    enum proto_rc result = buf_reserve(b, len);
    if (result) {
        return result;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return PROTO_OK;
}

enum proto_rc proto_buf_append_str(struct proto_buf *b, const char *s)
{
    return proto_buf_append(b, s, strlen(s));
}

enum proto_rc proto_buf_append_byte(struct proto_buf *b, unsigned char c)
{
    return proto_buf_append(b, &c, 1);
}

enum proto_rc proto_buf_appendf(struct proto_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = buf_reserve(b, (size_t)n);
    if (result) {
        return result;
    }
    va_start(ap, fmt);
    int written = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (written != n) {
        b->data[b->len] = '\0';
        return PROTO_EINVAL;
    }
    b->len += (size_t)n;
    return PROTO_OK;
}

char *proto_buf_detach(struct proto_buf *b, size_t *len_out)
{
    char *out = b->data;
    size_t len = b->len;
    if (out == NULL) {
        out = proto_strdup("");
        if (out == NULL) {
            return NULL;
        }
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    if (len_out != NULL) {
        *len_out = len;
    }
    return out;
}

const char *proto_buf_str(const struct proto_buf *b)
{
    return b->data != NULL ? b->data : "";
}
