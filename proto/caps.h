/*
 * caps: every cap on outside input, in one place (STYLE rule 6).
 *
 * Parsers reject input beyond these with PROTO_ELIMIT rather than allocate without bound.
 * The collector and agent may lower the transport-level ones by configuration, never raise
 * the structural ones. The JSON Schemas in schema/json repeat these numbers; a test keeps
 * them in step.
 */
#ifndef PROTO_CAPS_H
#define PROTO_CAPS_H

/* Files of a capture bundle and the text they hold. */
#define PROTO_MAX_TEXT_FILE_BYTES (4u * 1024u * 1024u) /* one netsh/reg/host text file */
#define PROTO_MAX_CERT_DER_BYTES (64u * 1024u)         /* one .cer file */
#define PROTO_MAX_LINE_BYTES 8192u                     /* one line of netsh/reg text */

/* Counts per host. */
#define PROTO_MAX_CERTS 2000u        /* certificates in LocalMachine\My */
#define PROTO_MAX_RULES 1000u        /* connection-security rules */
#define PROTO_MAX_RULE_EXTRA 64u     /* unknown label/value pairs kept per rule */
#define PROTO_MAX_SSL_BINDINGS 1000u /* http.sys SSL bindings */
#define PROTO_MAX_REG_VALUES 512u    /* values per reg query capture */
#define PROTO_MAX_ERRORS 256u        /* entries under snapshot.errors */
#define PROTO_MAX_FINDINGS 4096u     /* findings per host */

/* Per certificate. */
#define PROTO_MAX_SAN_NAMES 256u
#define PROTO_MAX_EKUS 64u
#define PROTO_MAX_DN_ATTRS 64u

/* Strings. */
#define PROTO_MAX_STRING 4096u     /* any JSON string member not listed below */
#define PROTO_MAX_NAME 1024u       /* host names, DN text, rule names */
#define PROTO_MAX_REG_DATA 65536u  /* one registry value's data as text */
#define PROTO_MAX_LIST_ITEMS 1024u /* a REG_MULTI_SZ or similar list */

/* JSON documents. */
#define PROTO_MAX_REPORT_BYTES (4u * 1024u * 1024u) /* a report body (default body limit) */
#define PROTO_MAX_JSON_DEPTH 16u

#endif
