/*
 * wire_profile: the remediation profile rrasfleet.profile/1 (DESIGN §8, §10), the payload of a
 * signed envelope (wire_envelope.h); schema/json/profile.schema.json describes it.
 *
 * A profile names one host, a validity window, a serial that only ever increases, and 1 to
 * PROTO_MAX_PROFILE_ACTIONS actions from a CLOSED list, decoded into a tagged union. It never
 * carries a command line or a free-form registry path: registry values, services and the rule's
 * fixed settings come from the allow-lists below. Decoding is strict everywhere: unknown members,
 * unknown action types and values outside the lists are refused, naming the member
 * ("actions[2].type"). The profile owns everything it points to. This module never verifies a
 * signature and never applies anything.
 */
#ifndef PROTO_WIRE_PROFILE_H
#define PROTO_WIRE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "json.h"
#include "rc.h"
#include "strv.h"

#define PROTO_PROFILE_SCHEMA "rrasfleet.profile/1"

/* The settings an ensured rule always has (an L2TP transport-mode rule); the wire repeats them
 * so that a reader sees the whole rule, and the decoder refuses any other value. */
#define PROTO_RULE_SPEC_PROTOCOL "UDP"
#define PROTO_RULE_SPEC_MODE "Transport"
#define PROTO_RULE_SPEC_ACTION "RequireInRequireOut"
#define PROTO_RULE_SPEC_AUTH1 "ComputerCert"
#define PROTO_RULE_PORT_ANY 0u /* port1/port2: "Any" on the wire */

/* Firewall profiles a rule applies to (bits of proto_rule_spec.profiles). */
#define PROTO_FW_PROFILE_DOMAIN 0x1u
#define PROTO_FW_PROFILE_PRIVATE 0x2u
#define PROTO_FW_PROFILE_PUBLIC 0x4u

enum proto_profile_mode {
    PROTO_PROFILE_DRY_RUN, /* "dry_run": plan and report, change nothing */
    PROTO_PROFILE_APPLY,   /* "apply" */
};

enum proto_action_type {
    PROTO_ACTION_REGISTRY_DWORD_SET, /* "registry_dword_set" */
    PROTO_ACTION_IPSEC_RULE_ENSURE,  /* "ipsec_rule_ensure" */
    PROTO_ACTION_IPSEC_RULE_REMOVE,  /* "ipsec_rule_remove" */
    PROTO_ACTION_SERVICE_RESTART,    /* "service_restart" */
    PROTO_ACTION_TYPE_COUNT
};

/* The registry values an action may set: the allow-list. */
enum proto_dword_name {
    PROTO_DWORD_PROHIBIT_IPSEC,         /* "ProhibitIpSec": 0 or 1 */
    PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO, /* "AllowL2TPWeakCrypto": only 0 */
    PROTO_DWORD_NAME_COUNT
};

struct proto_dword_info {
    const char *name;  /* value name, as on the wire */
    const char *key;   /* the one key it lives under (never from the wire) */
    uint32_t max_data; /* data allowed: 0..max_data */
};

extern const struct proto_dword_info proto_dword_allow_list[PROTO_DWORD_NAME_COUNT];

/* The services an action may restart: the allow-list. */
enum proto_service {
    PROTO_SERVICE_REMOTE_ACCESS, /* "RemoteAccess" */
    PROTO_SERVICE_COUNT
};

enum proto_ca_type {
    PROTO_CA_ROOT,         /* "root" */
    PROTO_CA_INTERMEDIATE, /* "intermediate" */
};

/* An L2TP connection-security rule to ensure. Member names follow the report's rule
 * (proto_rule_fields[] json keys), so the what-if can compare the two key by key. Every string
 * and vector in a profile is owned by it and freed by proto_wire_profile_destroy: set strings
 * from proto_strdup. */
struct proto_rule_spec {
    /* Exact name, 1..PROTO_MAX_NAME bytes: no control characters, quotes or wildcards
     * (* ? [ ]), no space at either end, and never "all" (netsh reads name=all as every rule). */
    char *name;
    char *description; /* may be "" */
    bool enabled;
    unsigned profiles; /* PROTO_FW_PROFILE_* bits, at least one */
    char *endpoint1;   /* "Any" or addresses: "10.0.0.1", "10.0.0.0/24", "fe80::1", ranges */
    char *endpoint2;
    unsigned port1; /* PROTO_RULE_PORT_ANY or 1..65535 */
    unsigned port2;
    char *auth1_ca_name; /* issuing CA's DN as netsh prints it: "DC=com, DC=contoso, CN=CA" */
    enum proto_ca_type auth1_cert_type;
    bool auth1_cert_mapping;
    struct proto_strv main_mode_sec_methods;  /* "DHGroup14-AES256-SHA256", in order */
    struct proto_strv quick_mode_sec_methods; /* "ESP:SHA256-AES256+60min+100000kb", in order */
    char *quick_mode_pfs;                     /* "None", "DHGroup14", "MainMode", ... */
};

struct proto_action {
    enum proto_action_type type;
    union {
        struct {
            enum proto_dword_name name;
            uint32_t data;
        } dword;                     /* registry_dword_set */
        struct proto_rule_spec rule; /* ipsec_rule_ensure */
        struct {
            char *name; /* as proto_rule_spec.name */
        } remove;       /* ipsec_rule_remove */
        struct {
            enum proto_service service;
        } restart; /* service_restart */
    } u;
};

struct proto_profile {
    char profile_id[37];             /* UUID, lower-case */
    uint64_t serial;                 /* 1..2^53-1; per host, only ever increases */
    char target[PROTO_MAX_FQDN + 1]; /* the one host it is for, lower-case */
    int64_t not_before;              /* Unix seconds; valid from ... */
    int64_t expires;                 /* ... until, later than not_before */
    enum proto_profile_mode mode;
    struct proto_strv reason;     /* finding ids it clears, 0..PROTO_MAX_PROFILE_REASONS */
    struct proto_action *actions; /* owned, room for PROTO_MAX_PROFILE_ACTIONS */
    size_t action_count;          /* 1..PROTO_MAX_PROFILE_ACTIONS */
};

/* NULL only on allocation failure; the profile has no actions yet. */
struct proto_profile *proto_wire_profile_create(void);
void proto_wire_profile_destroy(struct proto_profile *profile); /* accepts NULL */

/* Appends a zeroed action of `type` owned by the profile into *out (borrowed, valid until the
 * profile is destroyed). PROTO_ELIMIT past PROTO_MAX_PROFILE_ACTIONS, PROTO_EINVAL for a type
 * outside the list, PROTO_ENOMEM. */
enum proto_rc proto_wire_profile_add_action(struct proto_profile *profile,
                                            enum proto_action_type type, struct proto_action **out);

/* True when `name` may stand as a rule name in a profile (proto_rule_spec.name, the name of
 * ipsec_rule_remove): what the encoder and the decoder accept. */
bool proto_wire_rule_name_ok(const char *name);

/* Wire names; borrowed static strings, "" for a value outside the enum. */
const char *proto_wire_action_type_str(enum proto_action_type type);
const char *proto_wire_profile_mode_str(enum proto_profile_mode mode);
/* PROTO_EUNSUPPORTED for a name outside the closed list. */
enum proto_rc proto_wire_action_type_from_str(const char *s, enum proto_action_type *out);

/*
 * Compact JSON into *out (caller frees with proto_free). PROTO_EINVAL for a profile the decoder
 * would refuse; PROTO_ELIMIT past PROTO_MAX_PROFILE_BYTES. Ids and the target are written
 * lower-case. These are the bytes to sign.
 */
enum proto_rc proto_wire_encode_profile(const struct proto_profile *profile, char **out,
                                        size_t *out_len);

/* Strict decode of at most PROTO_MAX_PROFILE_BYTES. *out is caller-owned
 * (proto_wire_profile_destroy); NULL on failure, with err (may be NULL) naming the member. Call
 * it only on payload bytes whose signature has been verified. */
enum proto_rc proto_wire_decode_profile(const char *text, size_t len, struct proto_profile **out,
                                        struct proto_json_error *err);

#endif
