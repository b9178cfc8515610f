/*
 * json_check: is outside text a JSON document that every reader reads the same way?
 *
 * cJSON is lenient (leading zeros, "2.", form feed as whitespace, raw control characters and
 * invalid UTF-8 in strings, bad \u escapes) and keeps the first of two equal member names where
 * other readers keep the last. Every decoder of outside JSON therefore checks the text here
 * first: RFC 8259's grammar in one pass with no allocation, plus our profile of it (UTF-8 only,
 * no \u0000, no lone surrogate, capped depth and number length), then, on the parsed tree, one
 * value per member name. Owns nothing past one call; decides nothing about what members mean.
 */
#ifndef PROTO_JSON_CHECK_H
#define PROTO_JSON_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rc.h"

/* The deepest nesting a caller may allow (cJSON's own limit is 1000). */
#define PROTO_JSON_CHECK_MAX_DEPTH 64u
/* The longest number token, in bytes: cJSON reads at most 63 (longer ones it splits). */
#define PROTO_JSON_MAX_NUMBER_CHARS 40u

struct proto_json_check_error {
    size_t offset;     /* byte of the first violation (0 for a repeated name: see below) */
    char member[256];  /* path of the member it is in ("host.os", "certs[3].sha1"); "" for the
                        * document itself. Names as written in the text, cut when too long. */
    char message[192]; /* one line, with the offset */
};

/*
 * Checks text[0..len) against RFC 8259 (one value, any type, JSON's four whitespace bytes around
 * it) and our profile. max_depth (at most PROTO_JSON_CHECK_MAX_DEPTH) counts arrays and objects:
 * the root object is 1. err may be NULL. PROTO_EPARSE: grammar, control character, \u0000, lone
 * surrogate; PROTO_EENCODING: invalid UTF-8; PROTO_ELIMIT: too deep, or a number too long.
 */
enum proto_rc proto_json_check(const char *text, size_t len, size_t max_depth,
                               struct proto_json_check_error *err);

/*
 * PROTO_EPARSE when an object of the tree (at any depth) has two members of the same name
 * (compared decoded: "a" and "\u0061" are one name); err->member names the second one.
 * PROTO_ENOMEM, PROTO_ELIMIT past PROTO_JSON_CHECK_MAX_DEPTH. The tree is borrowed.
 */
enum proto_rc proto_json_check_unique_names(const cJSON *root, struct proto_json_check_error *err);

/*
 * proto_json_check, then cJSON, then proto_json_check_unique_names: *root is a tree every
 * reader agrees on, caller deletes it with cJSON_Delete; NULL on failure. PROTO_ENOMEM when
 * cJSON fails on text the check accepted (it can only have run out of memory).
 */
enum proto_rc proto_json_parse_checked(const char *text, size_t len, size_t max_depth, cJSON **root,
                                       struct proto_json_check_error *err);

#endif
