/*
 * wire: the strict JSON reader and the writer shared by the wire_* codecs (DESIGN §7).
 *
 * Internal to proto: only proto/wire_*.c include it; everyone else uses a codec's header.
 * Reading checks the raw text before cJSON sees it (size cap, then json_check.h: RFC 8259,
 * strict UTF-8, no escaped NUL, nesting depth, no repeated member name anywhere), then offers
 * getters that check one member's type and caps and name it in err->field on failure
 * ("actions[2].rule.port1"), and refuses a repeated member so every reader sees the same value.
 * Writing builds cJSON trees and prints them under a size cap. Owns nothing past one call and
 * never decides what a member means: the codecs do.
 */
#ifndef PROTO_WIRE_H
#define PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "printf_like.h"
#include "rc.h"
#include "strv.h"

#define PROTO_WIRE_OPTIONAL 0u
#define PROTO_WIRE_REQUIRED 1u

/* The largest integer any reader of JSON keeps exact (JavaScript's Number.MAX_SAFE_INTEGER). */
#define PROTO_WIRE_MAX_INTEGER ((((uint64_t)1) << 53) - 1u)

/* A string kind: its length in bytes and what it may hold. Shared by decoder and encoder, so
 * the encoder refuses exactly what the decoder would. */
struct proto_wire_text {
    size_t min_len;
    size_t max_len;
    bool (*valid)(const char *s); /* NULL: any UTF-8 text */
    const char *expected;         /* the error message when valid() says no */
};

/* One decoding: where errors go and the path of the member being read. */
struct proto_wire_dec {
    struct proto_json_error *err; /* the caller's, or `scratch` when it gave none */
    struct proto_json_error scratch;
    char path[sizeof(((struct proto_json_error *)0)->field)];
    size_t len;
};

typedef enum proto_rc (*proto_wire_element_fn)(struct proto_wire_dec *d, const cJSON *element,
                                               size_t index, void *ctx);

/* ---- decoding ---- */

/* Empties err (may be NULL) and points d at it. d must not be copied afterwards. */
void proto_wire_dec_init(struct proto_wire_dec *d, struct proto_json_error *err);

/* Checks text[0..len) (at most max_bytes, nesting at most PROTO_MAX_WIRE_DEPTH) and parses it
 * into *root, which must be an object. Caller deletes *root with cJSON_Delete; NULL on failure. */
enum proto_rc proto_wire_dec_parse(struct proto_wire_dec *d, const char *text, size_t len,
                                   size_t max_bytes, cJSON **root);

/* Records rc and the message for the current path; returns rc. */
enum proto_rc proto_wire_dec_fail(struct proto_wire_dec *d, enum proto_rc rc, const char *fmt, ...)
    PROTO_PRINTF_LIKE(3, 4);
/* The same for member `key` of the current path. */
enum proto_rc proto_wire_dec_fail_at(struct proto_wire_dec *d, const char *key, enum proto_rc rc,
                                     const char *fmt, ...) PROTO_PRINTF_LIKE(4, 5);
enum proto_rc proto_wire_dec_nomem(struct proto_wire_dec *d);

/* Path steps: enter returns what leave restores. */
size_t proto_wire_dec_enter_key(struct proto_wire_dec *d, const char *key);
size_t proto_wire_dec_enter_index(struct proto_wire_dec *d, size_t index);
void proto_wire_dec_leave(struct proto_wire_dec *d, size_t saved);

/*
 * Checks the member names of obj against `known` (count <= 64): a known name may appear once;
 * an unknown one is refused when `strict` (naming it) and skipped otherwise.
 */
enum proto_rc proto_wire_dec_members(struct proto_wire_dec *d, const cJSON *obj,
                                     const char *const *known, size_t count, bool strict);

/* Getters: look member `key` up in obj, check it, name it on failure. Absent and optional:
 * PROTO_OK with *out untouched (strings: NULL). */

/* Borrowed from the tree, valid while it lives. */
enum proto_rc proto_wire_dec_text(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, const struct proto_wire_text *kind,
                                  const char **out);
/* Copied: caller frees *out with proto_free. */
enum proto_rc proto_wire_dec_text_copy(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                       unsigned flags, const struct proto_wire_text *kind,
                                       char **out);
/* Copied into out[size]; kind->max_len must be below size. */
enum proto_rc proto_wire_dec_text_into(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                       unsigned flags, const struct proto_wire_text *kind,
                                       char *out, size_t size);
enum proto_rc proto_wire_dec_bool(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, bool *out);
/* An integer from min to max; max is lowered to 2^53 - 1 (PROTO_WIRE_MAX_INTEGER). */
enum proto_rc proto_wire_dec_uint(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, uint64_t min, uint64_t max, uint64_t *out);
/* A UUID in any case, stored lower-case. */
enum proto_rc proto_wire_dec_uuid(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, char out[37]);
/* An RFC 3339 time, years 0000-9999. */
enum proto_rc proto_wire_dec_time(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, int64_t *out);
/* One of names[0..count) exactly; *out is its index. Another string: PROTO_EUNSUPPORTED. */
enum proto_rc proto_wire_dec_enum(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, const char *const *names, size_t count,
                                  size_t *out);
/* Exactly the string `value` (a member with one allowed value). */
enum proto_rc proto_wire_dec_const(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                   const char *value);
enum proto_rc proto_wire_dec_object(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                    unsigned flags, const cJSON **out);
/* An array of min..max elements, counted without walking past max + 1. */
enum proto_rc proto_wire_dec_array(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                   unsigned flags, size_t min, size_t max, const cJSON **out,
                                   size_t *count);
/* proto_wire_dec_array, then fn on each element with the path "key[i]". */
enum proto_rc proto_wire_dec_each(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, size_t min, size_t max, proto_wire_element_fn fn,
                                  void *ctx);
/* An array of min..max strings of `kind`, copied into v (which the caller clears). */
enum proto_rc proto_wire_dec_strv(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  size_t min, size_t max, const struct proto_wire_text *kind,
                                  struct proto_strv *v);

/* Value checks; the path already names the value. */
enum proto_rc proto_wire_check_object(struct proto_wire_dec *d, const cJSON *item);
enum proto_rc proto_wire_check_text(struct proto_wire_dec *d, const cJSON *item,
                                    const struct proto_wire_text *kind, const char **out);

/* ---- checks shared with the encoders ---- */

/* s is valid UTF-8 of kind's length and kind->valid accepts it. */
bool proto_wire_text_ok(const struct proto_wire_text *kind, const char *s);
bool proto_wire_utf8_ok(const char *s, size_t len);
/* No C0 or C1 control character and no DEL (s must be valid UTF-8). */
bool proto_wire_no_controls(const char *s);
/* 8-4-4-4-12 hexadecimal digits in any case. */
bool proto_wire_uuid_ok(const char *s);
/* A DNS host name: dot-separated labels of 1-63 letters, digits, '-' or '_' (no '-' at either
 * end), at most PROTO_MAX_FQDN bytes in all. No wildcard, no trailing dot. */
bool proto_wire_fqdn_ok(const char *s);
/* A finding id as proto/diagnose.c makes them: an upper-case letter, then A-Z, 0-9 and '_'. */
bool proto_wire_finding_id_ok(const char *s);
/* A time RFC 3339 can carry with a four-digit year. */
bool proto_wire_time_ok(int64_t t);
/* Copies s lower-cased into out[size]; false when it does not fit. */
bool proto_wire_lower_copy(const char *s, char *out, size_t size);

extern const struct proto_wire_text proto_wire_fqdn_text;       /* proto_wire_fqdn_ok */
extern const struct proto_wire_text proto_wire_finding_id_text; /* proto_wire_finding_id_ok */

/* ---- encoding; each returns false only on allocation failure ---- */

/* Adds item under key; deletes item if that fails. False when item is NULL. */
bool proto_wire_enc_add(cJSON *obj, const char *key, cJSON *item);
bool proto_wire_enc_str(cJSON *obj, const char *key, const char *s);
bool proto_wire_enc_bool(cJSON *obj, const char *key, bool b);
/* Printed digit for digit (cJSON's own printing loses digits past 15). */
bool proto_wire_enc_uint(cJSON *obj, const char *key, uint64_t v);
/* t must pass proto_wire_time_ok. */
bool proto_wire_enc_time(cJSON *obj, const char *key, int64_t t);
bool proto_wire_enc_strv(cJSON *obj, const char *key, const struct proto_strv *v);
/* Appends a new empty object to array and returns it (borrowed), or NULL. */
cJSON *proto_wire_enc_push_object(cJSON *array);

/* Prints root compactly into *out (caller frees with proto_free). PROTO_ELIMIT when the text
 * would be longer than max_bytes, PROTO_ENOMEM. */
enum proto_rc proto_wire_enc_print(const cJSON *root, size_t max_bytes, char **out,
                                   size_t *out_len);

#endif
