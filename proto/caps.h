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

/* The other wire messages (proto/wire_*.c, DESIGN §7). Each document has its own size cap. */
#define PROTO_MAX_WIRE_DEPTH 8u                /* nesting of any message but the report */
#define PROTO_MAX_FQDN 253u                    /* a host's DNS name (profile target, result host) */
#define PROTO_MAX_FINDING_ID 64u               /* one finding id ("L2TP_CERT_WILDCARD") */
#define PROTO_MAX_REPLY_BYTES 4096u            /* the collector's answer to POST /v1/reports */
#define PROTO_MAX_NEXT_INTERVAL_S 86400u       /* reply next_interval_s is 1 .. this */
#define PROTO_MAX_ERROR_BYTES (16u * 1024u)    /* an error body {"error":{...}} */
#define PROTO_MAX_ERROR_CODE 64u               /* error.code */
#define PROTO_MAX_ERROR_MESSAGE 1024u          /* error.message */
#define PROTO_MAX_ERROR_FIELD 256u             /* error.field */
#define PROTO_MAX_PROFILE_BYTES (64u * 1024u)  /* a remediation profile (the signed payload) */
#define PROTO_MAX_PROFILE_ACTIONS 16u          /* actions in one profile */
#define PROTO_MAX_PROFILE_REASONS 64u          /* finding ids in a profile's reason */
#define PROTO_MAX_SEC_METHODS 16u              /* main/quick mode methods of one rule */
#define PROTO_MAX_SEC_METHOD 128u              /* one method ("DHGroup14-AES256-SHA256") or PFS */
#define PROTO_MAX_SIG_BYTES 72u                /* an ES256 signature (DER; raw r||s is 64) */
#define PROTO_MAX_ENVELOPE_BYTES (96u * 1024u) /* a signed profile envelope */
#define PROTO_MAX_RESULT_BYTES (1024u * 1024u) /* the result of a profile */
#define PROTO_MAX_RESULT_STEPS 32u             /* steps in one result: each action, and its undo */

#endif
