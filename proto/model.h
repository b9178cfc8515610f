/*
 * model: the snapshot of one RRAS server (DESIGN §4), shared by agent and collector.
 *
 * A snapshot owns everything it points to; proto_snapshot_destroy() frees all of it. Sources
 * (capture bundle, live Win32) fill it through the proto_snapshot_add_* functions, which enforce
 * the count caps of caps.h. A source failure is recorded with proto_snapshot_add_error() and
 * is data, never a crash. The model never holds secrets: parsers redact before storing.
 */
#ifndef PROTO_MODEL_H
#define PROTO_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dn.h"
#include "printf_like.h"
#include "rc.h"
#include "strv.h"

#define PROTO_SHA1_HEX_LEN 40
#define PROTO_SHA256_HEX_LEN 64

/* Key usage bits as X.509 encodes them in the first byte (and decipherOnly in the second). */
#define PROTO_KU_DIGITAL_SIGNATURE 0x80u
#define PROTO_KU_NON_REPUDIATION 0x40u
#define PROTO_KU_KEY_ENCIPHERMENT 0x20u
#define PROTO_KU_DATA_ENCIPHERMENT 0x10u
#define PROTO_KU_KEY_AGREEMENT 0x08u
#define PROTO_KU_KEY_CERT_SIGN 0x04u
#define PROTO_KU_CRL_SIGN 0x02u
#define PROTO_KU_ENCIPHER_ONLY 0x01u
#define PROTO_KU_DECIPHER_ONLY 0x8000u

#define PROTO_OID_SERVER_AUTH "1.3.6.1.5.5.7.3.1"
#define PROTO_OID_CLIENT_AUTH "1.3.6.1.5.5.7.3.2"
#define PROTO_OID_IKE_INTERMEDIATE "1.3.6.1.5.5.8.2.2"
#define PROTO_OID_ANY_PURPOSE "2.5.29.37.0"

/* A yes/no fact that may not have been established (on the wire: absent, false or true). */
enum proto_tristate { PROTO_TRI_UNKNOWN, PROTO_TRI_NO, PROTO_TRI_YES };

/*
 * What only Windows' crypt32 can say about a certificate of the live host. The live source fills
 * it; a capture bundle holds DER only, so the bundle path leaves it zeroed (present = false).
 */
struct proto_cert_win {
    bool present;       /* the live Windows source read these facts */
    bool eku_effective; /* has_eku/eku are CertGetEnhancedKeyUsage's answer (the extension
                         * intersected with the EKU property), not the DER's extension */
    enum proto_tristate key_confirmed; /* CryptAcquireCertificatePrivateKey opened the key */
    char *chain_root; /* subject DN of the chain's top certificate (its root unless the status
                       * says CERT_TRUST_IS_PARTIAL_CHAIN), as netsh prints a CA name; NULL
                       * unknown */
    bool has_chain_status;
    uint32_t chain_error_status; /* CERT_TRUST_STATUS.dwErrorStatus; 0 = no error */
    char *template_name;         /* v1 template name, or the v2 template's OID; NULL none */
    bool has_template_version;   /* a v2 template: the version below is set */
    uint32_t template_major;
    uint32_t template_minor;
};

struct proto_cert {
    size_t store_index; /* enumeration order in LocalMachine\My, from 0 */
    bool parsed;        /* false: DER unparseable; only hashes, der and store_index are set */
    char sha1[PROTO_SHA1_HEX_LEN + 1];     /* upper-case hex, as Windows shows the thumbprint */
    char sha256[PROTO_SHA256_HEX_LEN + 1]; /* upper-case hex */
    char *serial;                          /* upper-case hex, no separators */
    struct proto_dn subject;
    struct proto_dn issuer;
    struct proto_strv san_dns; /* dNSName entries of subjectAltName, as written */
    bool wildcard;             /* a SAN DNS name (or, with none, the subject CN) starts "*." */
    bool has_eku;              /* EKU extension present; false means any purpose */
    struct proto_strv eku;     /* dotted OIDs */
    bool has_key_usage;
    unsigned key_usage; /* PROTO_KU_* bits */
    int64_t not_before; /* Unix seconds, UTC */
    int64_t not_after;
    bool is_ca;
    bool self_signed;
    bool has_private_key;
    unsigned char *der;
    size_t der_len;
    struct proto_cert_win win; /* the live Windows source only */
};

/* Fields of a connection-security rule in the order `netsh advfirewall consec show rule
 * verbose` prints them. proto_rule_fields[] maps each to its English label and JSON key. */
enum proto_rule_field {
    PROTO_RULE_NAME,
    PROTO_RULE_DESCRIPTION,
    PROTO_RULE_ENABLED,
    PROTO_RULE_PROFILES,
    PROTO_RULE_TYPE,
    PROTO_RULE_MODE,
    PROTO_RULE_INTERFACE_TYPES,
    PROTO_RULE_ENDPOINT1,
    PROTO_RULE_ENDPOINT2,
    PROTO_RULE_LOCAL_TUNNEL_ENDPOINT,
    PROTO_RULE_REMOTE_TUNNEL_ENDPOINT,
    PROTO_RULE_PORT1,
    PROTO_RULE_PORT2,
    PROTO_RULE_PROTOCOL,
    PROTO_RULE_ACTION,
    PROTO_RULE_AUTH1,
    PROTO_RULE_AUTH1_PSK, /* only ever holds PROTO_REDACTED */
    PROTO_RULE_AUTH1_CA_NAME,
    PROTO_RULE_AUTH1_CERT_MAPPING,
    PROTO_RULE_AUTH1_EXCLUDE_CA_NAME,
    PROTO_RULE_AUTH1_CERT_TYPE,
    PROTO_RULE_AUTH1_HEALTH_CERT,
    PROTO_RULE_AUTH2,
    PROTO_RULE_AUTH2_CA_NAME,
    PROTO_RULE_MM_SEC_METHODS,
    PROTO_RULE_MM_KEY_LIFETIME,
    PROTO_RULE_QM_SEC_METHODS,
    PROTO_RULE_QM_PFS,
    PROTO_RULE_EXEMPT_IPSEC_PROTECTED,
    PROTO_RULE_RULE_SOURCE,
    PROTO_RULE_APPLY_AUTHORIZATION,
    PROTO_RULE_FIELD_COUNT
};

#define PROTO_REDACTED "(redacted)"

struct proto_rule_field_info {
    const char *label;    /* English netsh label without the colon, e.g. "Rule source" */
    const char *json_key; /* snake_case member name in the report */
};

extern const struct proto_rule_field_info proto_rule_fields[PROTO_RULE_FIELD_COUNT];

/* Index of the field whose netsh label is `label` (case-insensitive), or -1. */
int proto_rule_field_by_label(const char *label);
/* Index of the field whose JSON key is `key`, or -1. */
int proto_rule_field_by_json_key(const char *key);
/* True for the fields netsh prints with every rule but takes from the host, not the rule:
 * MainModeSecMethods and MainModeKeyLifetime (the host's main mode) and Rule source. `consec
 * add rule` cannot set them, so a rule's read-back never compares them (decision 018). */
bool proto_rule_field_host_owned(int field);

struct proto_kv {
    char *key;
    char *value;
};

struct proto_consec_rule {
    char *field[PROTO_RULE_FIELD_COUNT]; /* NULL = not printed; "" = printed empty */
    struct proto_kv *extra;              /* labels we do not know, kept verbatim */
    size_t extra_count;
    bool psk_redacted;        /* an Auth1PSK line was present and its value dropped */
    bool labels_unrecognised; /* localized output: the name was taken by position only */
};

struct proto_ssl_binding {
    char *endpoint; /* as printed: "0.0.0.0:443", "[::]:443", "vpn.contoso.com:443" */
    char *kind;     /* "ipport", "hostnameport", "ccs" or "other" */
    char cert_hash[PROTO_SHA1_HEX_LEN + 1]; /* upper-case hex, "" if none printed */
    char *app_id;                           /* lower-case "{...}", may be NULL */
    char *store_name;                       /* may be NULL */
};

enum proto_reg_type {
    PROTO_REG_SZ,
    PROTO_REG_EXPAND_SZ,
    PROTO_REG_MULTI_SZ,
    PROTO_REG_DWORD,
    PROTO_REG_QWORD,
    PROTO_REG_BINARY,
    PROTO_REG_NONE,
    PROTO_REG_OTHER
};

/* Text name as reg.exe prints it ("REG_DWORD"); never NULL. */
const char *proto_reg_type_str(enum proto_reg_type type);
/* Inverse of proto_reg_type_str; PROTO_REG_OTHER for anything unknown. */
enum proto_reg_type proto_reg_type_from_str(const char *s);

struct proto_reg_value {
    char *key;  /* as printed: "HKEY_LOCAL_MACHINE\System\...\Parameters" */
    char *name; /* "(Default)" for the unnamed value */
    enum proto_reg_type type;
    char *data;           /* the data exactly as reg.exe printed it (after decoding) */
    uint64_t number;      /* DWORD / QWORD */
    unsigned char *bytes; /* BINARY */
    size_t bytes_len;
    struct proto_strv multi; /* MULTI_SZ items */
};

/* A DWORD that may be absent (ProhibitIpSec: absent | 0 | 1 | other). */
struct proto_dword_opt {
    bool present;
    uint32_t value;
};

struct proto_host {
    char *fqdn;
    char *hostname;
    char *os;
    char *agent_version;
    int64_t collected_at; /* Unix seconds, UTC; 0 = unknown */
};

struct proto_error {
    char *source; /* what could not be read: "netsh-consec.txt", "LocalMachine-My/001-....cer" */
    enum proto_rc code;
    char *message;
};

struct proto_snapshot {
    struct proto_host host;

    bool certs_available;     /* false: the store could not be read; `certs` is then empty */
    struct proto_cert *certs; /* store order */
    size_t cert_count;

    /* IPsec */
    struct proto_dword_opt prohibit_ipsec;
    struct proto_dword_opt allow_l2tp_weak_crypto;
    struct proto_dword_opt negotiate_dh2048_aes256;
    bool rules_available; /* false: the rules could not be read; `rules` is then empty */
    struct proto_consec_rule *rules;
    size_t rule_count;

    /* Bindings */
    bool ssl_bindings_available;
    struct proto_ssl_binding *ssl_bindings;
    size_t ssl_binding_count;
    char iphttps_cert_sha1[PROTO_SHA1_HEX_LEN + 1]; /* "" when no IP-HTTPS binding was found */
    char sstp_cert_sha1[PROTO_SHA1_HEX_LEN + 1];
    char sstp_cert_sha256[PROTO_SHA256_HEX_LEN + 1];

    /* Registry values read (Rasman and SstpSvc parameters). */
    bool registry_available;
    struct proto_reg_value *registry;
    size_t registry_count;

    struct proto_error *errors;
    size_t error_count;
};

/* NULL only on allocation failure. */
struct proto_snapshot *proto_snapshot_create(void);
void proto_snapshot_destroy(struct proto_snapshot *snap); /* accepts NULL */

/*
 * Appenders: each returns a pointer to a new zeroed element owned by the snapshot in *out
 * (borrowed, valid until the next append of the same kind), or PROTO_ELIMIT / PROTO_ENOMEM.
 */
enum proto_rc proto_snapshot_add_cert(struct proto_snapshot *snap, struct proto_cert **out);
enum proto_rc proto_snapshot_add_rule(struct proto_snapshot *snap, struct proto_consec_rule **out);
enum proto_rc proto_snapshot_add_ssl_binding(struct proto_snapshot *snap,
                                             struct proto_ssl_binding **out);
enum proto_rc proto_snapshot_add_reg_value(struct proto_snapshot *snap,
                                           struct proto_reg_value **out);

/* Records a source failure. Past PROTO_MAX_ERRORS the entry is dropped (and PROTO_ELIMIT
 * returned) so a flood of bad files cannot grow the report. */
enum proto_rc proto_snapshot_add_error(struct proto_snapshot *snap, const char *source,
                                       enum proto_rc code, const char *fmt, ...)
    PROTO_PRINTF_LIKE(4, 5);

/* Adds an unknown label/value pair to a rule (copies). PROTO_ELIMIT past PROTO_MAX_RULE_EXTRA. */
enum proto_rc proto_rule_add_extra(struct proto_consec_rule *rule, const char *key,
                                   const char *value);

/* Frees the members of one element (not the element itself). */
void proto_cert_clear(struct proto_cert *cert);
/* Frees the strings of `win` and zeroes it. Accepts a zeroed one. */
void proto_cert_win_clear(struct proto_cert_win *win);
/* Deep copy into `dst`, which must be zeroed; on PROTO_ENOMEM dst may hold a partial copy for
 * proto_cert_win_clear. */
enum proto_rc proto_cert_win_copy(const struct proto_cert_win *src, struct proto_cert_win *dst);
void proto_rule_clear(struct proto_consec_rule *rule);
void proto_ssl_binding_clear(struct proto_ssl_binding *binding);
void proto_reg_value_clear(struct proto_reg_value *value);
void proto_host_clear(struct proto_host *host);

/* Index of the certificate with this SHA-1 (any case), or -1. */
long proto_snapshot_find_cert(const struct proto_snapshot *snap, const char *sha1_hex);

/* Borrowed registry value by name (case-insensitive) under a key whose path ends with
 * `key_suffix` (case-insensitive, e.g. "Services\Rasman\Parameters"), or NULL. */
const struct proto_reg_value *proto_snapshot_find_reg(const struct proto_snapshot *snap,
                                                      const char *key_suffix, const char *name);

/* Severity of a finding; ordered so comparisons work. */
enum proto_severity {
    PROTO_SEV_INFO,
    PROTO_SEV_LOW,
    PROTO_SEV_MEDIUM,
    PROTO_SEV_HIGH,
    PROTO_SEV_CRITICAL
};

const char *proto_severity_str(enum proto_severity sev); /* "info" ... "critical" */
/* Returns PROTO_EPARSE for an unknown name. */
enum proto_rc proto_severity_from_str(const char *s, enum proto_severity *out);

struct proto_finding {
    char *id; /* stable, e.g. "L2TP_CERT_WILDCARD" */
    enum proto_severity severity;
    char *message;           /* one line; names the fix */
    struct proto_strv certs; /* SHA-1 thumbprints involved */
    struct proto_strv rules; /* rule names involved */
};

void proto_finding_clear(struct proto_finding *f);

#endif
