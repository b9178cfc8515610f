/*
 * dn: X.500 distinguished names as RDN sequences: parse from text, format, compare.
 *
 * A DN is kept in ASN.1 (DER) order: most significant RDN first, which is also the order netsh
 * prints (`DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA`); Windows dialogs print the reverse.
 * Comparison is structural: attribute types by canonical short name or OID, values case- and
 * space-insensitive, and the two orders match each other. The module owns only its attrs; it
 * never touches certificates (x509 builds DNs from mbedTLS names).
 */
#ifndef PROTO_DN_H
#define PROTO_DN_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

struct proto_dn_attr {
    char *type;            /* canonical upper-case short name (CN, O, DC, ...) or dotted OID */
    char *value;           /* unescaped UTF-8 value */
    bool same_rdn_as_prev; /* part of a multi-valued RDN joined with '+' to the previous attr */
};

struct proto_dn {
    struct proto_dn_attr *attrs;
    size_t count;
};

/* Frees the attrs; leaves an empty DN. Accepts a zeroed DN. */
void proto_dn_clear(struct proto_dn *dn);

/* Appends one attribute (copies both strings). PROTO_ELIMIT past PROTO_MAX_DN_ATTRS. */
enum proto_rc proto_dn_append(struct proto_dn *dn, const char *type, const char *value,
                              bool same_rdn_as_prev);

/*
 * Parses the text form, in either order: `CN=a, O=b`, `DC=com,DC=x,CN=y`, with quoted values
 * ("a, b"), backslash escapes (\, \+ \" \\ \XX), '+' multi-valued RDNs, spaces around separators,
 * and type aliases (E/EMAIL, S/ST, STREET, SERIALNUMBER, OID.x.y). The attrs are kept in the order
 * written. `out` must be empty; on failure it is left empty.
 */
enum proto_rc proto_dn_parse(const char *text, struct proto_dn *out);

/* Formats as `TYPE=value, TYPE=value` in stored order, escaping as RFC 4514 does; `reverse`
 * prints the last attr first. Caller frees *out with proto_free. */
enum proto_rc proto_dn_format(const struct proto_dn *dn, bool reverse, char **out);

/* True when a and b name the same entity: same attrs in the same or exactly reversed order,
 * types equal, values equal ignoring case and runs of whitespace. Two empty DNs are equal. */
bool proto_dn_equal(const struct proto_dn *a, const struct proto_dn *b);

/* Deep copy; dst must be empty. */
enum proto_rc proto_dn_copy(const struct proto_dn *src, struct proto_dn *dst);

/* Borrowed value of the last attr of `type` (e.g. "CN"), or NULL. */
const char *proto_dn_get(const struct proto_dn *dn, const char *type);

#endif
