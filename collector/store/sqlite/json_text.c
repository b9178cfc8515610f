/*
 * json_text: JSON strings and string arrays for the store's own rows (see json_text_int.h).
 */
#include "json_text_int.h"

#include "alloc.h"

/* A finding's list is capped by the report's own caps; this only bounds a runaway caller. */
#define JSON_TEXT_MAX (16u * 1024u * 1024u)

enum proto_rc col_store_json_string(struct proto_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    enum proto_rc result = proto_buf_append_byte(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; !result && *p != '\0'; p++) {
        unsigned char c = *p;
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc != NULL) {
            result = proto_buf_append_str(b, esc);
        } else if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
            result = proto_buf_append(b, u, sizeof(u));
        } else {
            result = proto_buf_append_byte(b, c);
        }
    }
    if (!result) {
        result = proto_buf_append_byte(b, '"');
    }
    return result;
}

enum proto_rc col_store_json_string_array(const char *const *items, size_t count, char **out)
{
    struct proto_buf b;
    proto_buf_init(&b, JSON_TEXT_MAX);
    *out = NULL;
    enum proto_rc result = proto_buf_append_byte(&b, '[');
    for (size_t i = 0; !result && i < count; i++) {
        if (i > 0) {
            result = proto_buf_append_byte(&b, ',');
        }
        if (!result) {
            result = col_store_json_string(&b, items[i] != NULL ? items[i] : "");
        }
    }
    if (!result) {
        result = proto_buf_append_byte(&b, ']');
    }
    if (!result) {
        *out = proto_buf_detach(&b, NULL);
        result = *out == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    proto_buf_free(&b);
    return result;
}
