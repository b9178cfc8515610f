/*
 * netsh_rule: rule <-> `consec add rule` words, the read-back comparison, and get/put/delete
 * through a netsh runner (see netsh_rule.h).
 *
 * One table (rule_params) says, for every field of proto's rule, which add-rule keyword sets
 * it, what kind of value it holds (netsh's vocabulary, addresses, ports, ...), what `show rule`
 * prints when the keyword is not given, and when it prints the field at all. The builder walks
 * it from printed values to tokens, the inverse walks it back, so a parsed rule that the builder
 * accepts comes back field for field (tests/unit/agent/test_netsh_rule.c replays the fixtures).
 * The certificate fields are one group: netsh takes the CA and its options in one value.
 */
#include "netsh_rule.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "netsh_consec.h"
#include "text.h"
#include "wire_profile.h"

#define RULE_COUNT(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(AGENT_NETSH_RULE_MAX_ARGS <= AGENT_NETSH_MAX_ARGS,
               "the runner must take the longest add rule");
#define RULE_VALUE_MAX PROTO_MAX_STRING
static const char rule_no_match[] = "No rules match the specified criteria.";

/* ---- netsh's vocabulary: the token add rule takes and the word show rule prints ------------ */

struct rule_word {
    const char *token;
    const char *printed;
};

static const struct rule_word rule_yes_no[] = {{"yes", "Yes"}, {"no", "No"}};
static const struct rule_word rule_profiles[] = {
    {"domain", "Domain"}, {"private", "Private"}, {"public", "Public"}, {"any", "Any"}};
static const struct rule_word rule_types[] = {{"static", "Static"}, {"dynamic", "Dynamic"}};
static const struct rule_word rule_modes[] = {{"transport", "Transport"}, {"tunnel", "Tunnel"}};
static const struct rule_word rule_interface_types[] = {
    {"any", "Any"}, {"lan", "LAN"}, {"wireless", "Wireless"}, {"ras", "RAS"}};
static const struct rule_word rule_endpoints[] = {
    {"any", "Any"},   {"localsubnet", "LocalSubnet"},      {"dns", "DNS"}, {"dhcp", "DHCP"},
    {"wins", "WINS"}, {"defaultgateway", "DefaultGateway"}};
static const struct rule_word rule_any[] = {{"any", "Any"}};
static const struct rule_word rule_protocols[] = {
    {"any", "Any"}, {"tcp", "TCP"}, {"udp", "UDP"}, {"icmpv4", "ICMPv4"}, {"icmpv6", "ICMPv6"}};
static const struct rule_word rule_actions[] = {{"requireinrequestout", "RequireInRequestOut"},
                                                {"requestinrequestout", "RequestInRequestOut"},
                                                {"requireinrequireout", "RequireInRequireOut"},
                                                {"requireinclearout", "RequireInClearOut"},
                                                {"noauthentication", "NoAuthentication"}};
/* ComputerPSK is missing on purpose: its key is redacted when a rule is read. */
static const struct rule_word rule_auth1[] = {{"computerkerb", "ComputerKerb"},
                                              {"computercert", "ComputerCert"},
                                              {"computercertecdsap256", "ComputerCertECDSAP256"},
                                              {"computercertecdsap384", "ComputerCertECDSAP384"},
                                              {"computerntlm", "ComputerNTLM"},
                                              {"anonymous", "Anonymous"}};
static const struct rule_word rule_auth2[] = {{"computercert", "ComputerCert"},
                                              {"computerhealthcert", "ComputerHealthCert"},
                                              {"userkerb", "UserKerb"},
                                              {"usercert", "UserCert"},
                                              {"userhealthcert", "UserHealthCert"},
                                              {"userntlm", "UserNTLM"},
                                              {"anonymous", "Anonymous"}};
static const struct rule_word rule_cert_types[] = {{"root", "Root"},
                                                   {"intermediate", "Intermediate"}};
static const struct rule_word rule_pfs[] = {{"none", "None"},           {"dhgroup1", "DHGroup1"},
                                            {"dhgroup2", "DHGroup2"},   {"dhgroup14", "DHGroup14"},
                                            {"dhgroup24", "DHGroup24"}, {"ecdhp256", "ECDHP256"},
                                            {"ecdhp384", "ECDHP384"},   {"mainmode", "MainMode"}};

/* The certificate methods of Auth1 and the keyword prefix of their CA and health options. */
static const struct {
    const char *printed;
    const char *prefix;
} rule_cert_methods[] = {
    {"ComputerCert", "auth1"},
    {"ComputerCertECDSAP256", "auth1ecdsap256"},
    {"ComputerCertECDSAP384", "auth1ecdsap384"},
};

/* ---- the table -------------------------------------------------------------------------- */

enum rule_kind {
    RULE_TEXT,      /* name, description: as printed */
    RULE_WORD,      /* one word of the vocabulary */
    RULE_WORDS,     /* a comma list of words */
    RULE_ADDRESSES, /* words or addresses, comma separated */
    RULE_PORTS,     /* Any, or ports and ranges */
    RULE_PROTOCOL,  /* a word or 0..255 */
    RULE_QM,        /* quick-mode methods: lower-case tokens, printed upper-case */
    RULE_YES,       /* Yes/No whose default is No: given only when Yes */
    RULE_CA,        /* Auth1CAName: the value of auth1ca (with the options below) */
    RULE_CA_OPTION, /* Auth1CertMapping & co.: an option inside auth1ca's value */
    RULE_CA_HEALTH, /* Auth1HealthCert: auth1healthcert (or an ECDSA form) */
    RULE_AUTH2_CA,  /* Auth2CAName: auth2ca */
    RULE_HOST,      /* the host's (main mode, rule source): no keyword */
    RULE_REDACTED,  /* Auth1PSK: its value was never kept */
};

enum rule_shown {
    RULE_SHOWN_ALWAYS,       /* printed, the default when not given */
    RULE_SHOWN_TUNNEL,       /* as ALWAYS, in tunnel mode only (add rule takes it there only) */
    RULE_SHOWN_CERT,         /* printed with a CA (the certificate group) */
    RULE_SHOWN_GIVEN,        /* printed only when given */
    RULE_SHOWN_TUNNEL_GIVEN, /* as GIVEN, in tunnel mode only */
};

struct rule_param {
    const char *keyword; /* add rule's; for RULE_CA_OPTION the option's name */
    enum rule_kind kind;
    const struct rule_word *words;
    size_t word_count;
    const char *fallback; /* printed when not given; NULL: required (ALWAYS) or from the host */
    enum rule_shown shown;
};

static bool rule_tunnel_only(const struct rule_param *p)
{
    return p->shown == RULE_SHOWN_TUNNEL || p->shown == RULE_SHOWN_TUNNEL_GIVEN;
}

#define RULE_WORDS_OF(a) a, RULE_COUNT(a)

static const struct rule_param rule_params[PROTO_RULE_FIELD_COUNT] = {
    [PROTO_RULE_NAME] = {"name", RULE_TEXT, NULL, 0, NULL, RULE_SHOWN_ALWAYS},
    [PROTO_RULE_DESCRIPTION] = {"description", RULE_TEXT, NULL, 0, "", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_ENABLED] = {"enable", RULE_WORD, RULE_WORDS_OF(rule_yes_no), "Yes",
                            RULE_SHOWN_ALWAYS},
    [PROTO_RULE_PROFILES] = {"profile", RULE_WORDS, RULE_WORDS_OF(rule_profiles),
                             "Domain,Private,Public", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_TYPE] = {"type", RULE_WORD, RULE_WORDS_OF(rule_types), "Static", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_MODE] = {"mode", RULE_WORD, RULE_WORDS_OF(rule_modes), "Transport",
                         RULE_SHOWN_ALWAYS},
    [PROTO_RULE_INTERFACE_TYPES] = {"interfacetype", RULE_WORDS,
                                    RULE_WORDS_OF(rule_interface_types), "Any", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_ENDPOINT1] = {"endpoint1", RULE_ADDRESSES, RULE_WORDS_OF(rule_endpoints), NULL,
                              RULE_SHOWN_ALWAYS},
    [PROTO_RULE_ENDPOINT2] = {"endpoint2", RULE_ADDRESSES, RULE_WORDS_OF(rule_endpoints), NULL,
                              RULE_SHOWN_ALWAYS},
    [PROTO_RULE_LOCAL_TUNNEL_ENDPOINT] = {"localtunnelendpoint", RULE_ADDRESSES,
                                          RULE_WORDS_OF(rule_any), "Any", RULE_SHOWN_TUNNEL},
    [PROTO_RULE_REMOTE_TUNNEL_ENDPOINT] = {"remotetunnelendpoint", RULE_ADDRESSES,
                                           RULE_WORDS_OF(rule_any), "Any", RULE_SHOWN_TUNNEL},
    [PROTO_RULE_PORT1] = {"port1", RULE_PORTS, RULE_WORDS_OF(rule_any), "Any", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_PORT2] = {"port2", RULE_PORTS, RULE_WORDS_OF(rule_any), "Any", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_PROTOCOL] = {"protocol", RULE_PROTOCOL, RULE_WORDS_OF(rule_protocols), "Any",
                             RULE_SHOWN_ALWAYS},
    [PROTO_RULE_ACTION] = {"action", RULE_WORD, RULE_WORDS_OF(rule_actions), NULL,
                           RULE_SHOWN_ALWAYS},
    /* Without auth1, the rule uses the host's default authentication: Kerberos [I]. */
    [PROTO_RULE_AUTH1] = {"auth1", RULE_WORDS, RULE_WORDS_OF(rule_auth1), "ComputerKerb",
                          RULE_SHOWN_ALWAYS},
    [PROTO_RULE_AUTH1_PSK] = {NULL, RULE_REDACTED, NULL, 0, NULL, RULE_SHOWN_GIVEN},
    [PROTO_RULE_AUTH1_CA_NAME] = {"ca", RULE_CA, NULL, 0, NULL, RULE_SHOWN_CERT},
    [PROTO_RULE_AUTH1_CERT_MAPPING] = {"certmapping", RULE_CA_OPTION, RULE_WORDS_OF(rule_yes_no),
                                       "No", RULE_SHOWN_CERT},
    [PROTO_RULE_AUTH1_EXCLUDE_CA_NAME] = {"excludecaname", RULE_CA_OPTION,
                                          RULE_WORDS_OF(rule_yes_no), "No", RULE_SHOWN_CERT},
    [PROTO_RULE_AUTH1_CERT_TYPE] = {"catype", RULE_CA_OPTION, RULE_WORDS_OF(rule_cert_types),
                                    "Root", RULE_SHOWN_CERT},
    [PROTO_RULE_AUTH1_HEALTH_CERT] = {"healthcert", RULE_CA_HEALTH, RULE_WORDS_OF(rule_yes_no),
                                      "No", RULE_SHOWN_CERT},
    [PROTO_RULE_AUTH2] = {"auth2", RULE_WORDS, RULE_WORDS_OF(rule_auth2), NULL, RULE_SHOWN_GIVEN},
    [PROTO_RULE_AUTH2_CA_NAME] = {"auth2ca", RULE_AUTH2_CA, NULL, 0, NULL, RULE_SHOWN_GIVEN},
    [PROTO_RULE_MM_SEC_METHODS] = {NULL, RULE_HOST, NULL, 0, NULL, RULE_SHOWN_ALWAYS},
    [PROTO_RULE_MM_KEY_LIFETIME] = {NULL, RULE_HOST, NULL, 0, NULL, RULE_SHOWN_ALWAYS},
    [PROTO_RULE_QM_SEC_METHODS] = {"qmsecmethods", RULE_QM, NULL, 0, NULL, RULE_SHOWN_ALWAYS},
    [PROTO_RULE_QM_PFS] = {"qmpfs", RULE_WORD, RULE_WORDS_OF(rule_pfs), "None", RULE_SHOWN_ALWAYS},
    [PROTO_RULE_EXEMPT_IPSEC_PROTECTED] = {"exemptipsecprotectedconnections", RULE_WORD,
                                           RULE_WORDS_OF(rule_yes_no), NULL,
                                           RULE_SHOWN_TUNNEL_GIVEN},
    [PROTO_RULE_RULE_SOURCE] = {NULL, RULE_HOST, NULL, 0, NULL, RULE_SHOWN_ALWAYS},
    [PROTO_RULE_APPLY_AUTHORIZATION] = {"applyauthz", RULE_YES, RULE_WORDS_OF(rule_yes_no), "No",
                                        RULE_SHOWN_ALWAYS},
};

/* What `show rule` prints as the source of a rule `consec add rule` made (the local store). */
#define RULE_SOURCE_LOCAL "Local Setting"

const struct agent_netsh_rule_globals agent_netsh_rule_default_globals = {
    "DHGroup2-AES128-SHA1,DHGroup2-3DES-SHA1",
    "480min,0sess",
    "ESP:SHA1-AES128+60min+100000kb,ESP:SHA1-3DES+60min+100000kb,AH:SHA1+60min+100000kb",
};

/* ---- small helpers -------------------------------------------------------------------------- */

static const char *rule_label(int field)
{
    return proto_rule_fields[field].label;
}

static bool rule_has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7F) {
            return true;
        }
    }
    return false;
}

static bool rule_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks around s[0..*len). */
static const char *rule_trim(const char *s, size_t *len)
{
    while (*len > 0 && rule_is_blank(s[0])) {
        s++;
        (*len)--;
    }
    while (*len > 0 && rule_is_blank(s[*len - 1])) {
        (*len)--;
    }
    return s;
}

static const struct rule_word *rule_word_by_printed(const struct rule_param *p, const char *s,
                                                    size_t len)
{
    for (size_t i = 0; i < p->word_count; i++) {
        if (strlen(p->words[i].printed) == len && strncasecmp(p->words[i].printed, s, len) == 0) {
            return &p->words[i];
        }
    }
    return NULL;
}

static const struct rule_word *rule_word_by_token(const struct rule_param *p, const char *s,
                                                  size_t len)
{
    for (size_t i = 0; i < p->word_count; i++) {
        if (strlen(p->words[i].token) == len && strncasecmp(p->words[i].token, s, len) == 0) {
            return &p->words[i];
        }
    }
    return NULL;
}

static bool rule_chars_in(const char *s, size_t len, const char *extra)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (extra != NULL && strchr(extra, c) != NULL);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool rule_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool rule_is_address(const char *s, size_t len)
{
    static const char chars[] = "abcdefABCDEF.:/-";
    return rule_chars_in(s, len, chars);
}

static bool rule_is_port(const char *s, size_t len)
{
    return rule_chars_in(s, len, "-");
}

static bool rule_is_sec_method(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!rule_is_alpha(c) && !(c >= '0' && c <= '9') && c != ':' && c != '+' && c != '-') {
            return false;
        }
    }
    return true;
}

static char rule_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char rule_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Appends "keyword=value" to out. */
static enum proto_rc rule_push_kv(struct proto_strv *out, const char *keyword, const char *value)
{
    struct proto_buf b;
    proto_buf_init(&b, RULE_VALUE_MAX + 64u);
    enum proto_rc result = proto_buf_appendf(&b, "%s=%s", keyword, value);
    if (result == PROTO_OK) {
        result = proto_strv_push(out, proto_buf_str(&b), AGENT_NETSH_RULE_MAX_ARGS);
    }
    proto_buf_free(&b);
    return result;
}

/* ---- printed value -> token (the builder) -------------------------------------------------- */

/* The value of field f of a rule, into `value` as add rule takes it. PROTO_EUNSUPPORTED with
 * why when it is not one netsh's add rule can take. */
static enum proto_rc rule_token_value(int f, const char *printed, struct proto_buf *value,
                                      char *why, size_t why_size)
{
    const struct rule_param *p = &rule_params[f];
    enum proto_rc result = PROTO_OK;
    size_t len = strlen(printed);
    const char *s = rule_trim(printed, &len);

    proto_buf_reset(value);
    if (p->kind == RULE_TEXT) {
        if (rule_has_control(printed) || strchr(printed, '"') != NULL) {
            proto_errf(why, why_size,
                       "%s holds a control character or '\"', which netsh cannot "
                       "be given as they are",
                       rule_label(f));
            return PROTO_EUNSUPPORTED;
        }
        return proto_buf_append_str(value, printed);
    }
    if (p->kind == RULE_WORD || p->kind == RULE_YES || p->kind == RULE_CA_OPTION ||
        p->kind == RULE_CA_HEALTH) {
        const struct rule_word *w = rule_word_by_printed(p, s, len);
        if (w == NULL) {
            proto_errf(why, why_size, "%s \"%.64s\" is not a value netsh's add rule takes",
                       rule_label(f), printed);
            return PROTO_EUNSUPPORTED;
        }
        return proto_buf_append_str(value, w->token);
    }
    if (p->kind == RULE_PROTOCOL) {
        const struct rule_word *w = rule_word_by_printed(p, s, len);
        if (w != NULL) {
            return proto_buf_append_str(value, w->token);
        }
        if (len > 3 || !rule_chars_in(s, len, NULL) || (len == 3 && strncmp(s, "255", 3) > 0)) {
            proto_errf(why, why_size, "%s \"%.64s\" is not a protocol netsh's add rule takes",
                       rule_label(f), printed);
            return PROTO_EUNSUPPORTED;
        }
        return proto_buf_append(value, s, len);
    }
    /* Comma lists: words, addresses, ports, quick-mode methods. */
    size_t pos = 0;
    while (result == PROTO_OK) {
        const char *comma = memchr(s + pos, ',', len - pos);
        size_t end = comma != NULL ? (size_t)(comma - s) : len;
        size_t item_len = end - pos;
        const char *item = rule_trim(s + pos, &item_len);
        const struct rule_word *w = rule_word_by_printed(p, item, item_len);
        bool ok = true;
        if (value->len > 0) {
            result = proto_buf_append_byte(value, ',');
        }
        if (result) {
            break;
        }
        if (w != NULL) {
            result = proto_buf_append_str(value, w->token);
        } else if (p->kind == RULE_ADDRESSES && rule_is_address(item, item_len)) {
            result = proto_buf_append(value, item, item_len);
        } else if (p->kind == RULE_PORTS && rule_is_port(item, item_len)) {
            result = proto_buf_append(value, item, item_len);
        } else if (p->kind == RULE_QM && rule_is_sec_method(item, item_len)) {
            for (size_t i = 0; i < item_len && result == PROTO_OK; i++) {
                result = proto_buf_append_byte(value, (unsigned char)rule_lower(item[i]));
            }
        } else {
            ok = false;
        }
        if (!ok) {
            proto_errf(why, why_size,
                       "%s \"%.64s\": \"%.*s\" is not something netsh's add rule takes",
                       rule_label(f), printed, (int)(item_len < 64 ? item_len : 64), item);
            return PROTO_EUNSUPPORTED;
        }
        if (comma == NULL) {
            break;
        }
        pos = end + 1;
    }
    return result;
}

static bool rule_given(const char *v)
{
    return v != NULL && v[0] != '\0';
}

static bool rule_contains_ci(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s != '\0'; s++) {
        if (strncasecmp(s, word, n) == 0) {
            return true;
        }
    }
    return false;
}

/* A CA name as netsh's auth1ca/auth2ca value takes it: '"' written as \' (windows-sources §1.4);
 * what netsh would read otherwise is refused. */
static enum proto_rc rule_ca_value(int f, const char *ca, struct proto_buf *value, char *why,
                                   size_t why_size)
{
    static const char *const options[] = {
        "certmapping:", "excludecaname:", "catype:", "healthcert:"};
    if (rule_has_control(ca) || strchr(ca, '\\') != NULL || strchr(ca, '|') != NULL) {
        proto_errf(why, why_size,
                   "%s \"%.64s\" holds a control character, '\\' or '|', which "
                   "netsh would read otherwise",
                   rule_label(f), ca);
        return PROTO_EUNSUPPORTED;
    }
    for (size_t i = 0; i < RULE_COUNT(options); i++) {
        if (rule_contains_ci(ca, options[i])) {
            proto_errf(why, why_size, "%s \"%.64s\" holds \"%s\", which netsh reads as an option",
                       rule_label(f), ca, options[i]);
            return PROTO_EUNSUPPORTED;
        }
    }
    enum proto_rc result = PROTO_OK;
    for (const char *p = ca; *p != '\0' && result == PROTO_OK; p++) {
        result = *p == '"' ? proto_buf_append_str(value, "\\'")
                           : proto_buf_append_byte(value, (unsigned char)*p);
    }
    return result;
}

/* The keyword prefix of the one certificate method Auth1 names, or NULL with why. */
static const char *rule_cert_prefix(const char *auth1, char *why, size_t why_size)
{
    const char *prefix = NULL;
    size_t found = 0;
    size_t len = auth1 != NULL ? strlen(auth1) : 0, pos = 0;
    while (auth1 != NULL && pos <= len) {
        const char *comma = memchr(auth1 + pos, ',', len - pos);
        size_t end = comma != NULL ? (size_t)(comma - auth1) : len;
        size_t item_len = end - pos;
        const char *item = rule_trim(auth1 + pos, &item_len);
        for (size_t i = 0; i < RULE_COUNT(rule_cert_methods); i++) {
            if (strlen(rule_cert_methods[i].printed) == item_len &&
                strncasecmp(rule_cert_methods[i].printed, item, item_len) == 0) {
                prefix = rule_cert_methods[i].prefix;
                found++;
            }
        }
        pos = end + 1;
    }
    if (found != 1) {
        proto_errf(why, why_size,
                   "Auth1CAName is set but Auth1 \"%.64s\" names %s certificate "
                   "method: netsh could not tell which one the CA belongs to",
                   auth1 != NULL ? auth1 : "", found == 0 ? "no" : "more than one");
        return NULL;
    }
    return prefix;
}

/* auth1ca (or an ECDSA form) with its options, and the health-certificate keyword. */
static enum proto_rc rule_add_cert_args(const struct proto_consec_rule *rule,
                                        struct proto_strv *out, char *why, size_t why_size)
{
    char *const *f = rule->field;
    static const int options[] = {PROTO_RULE_AUTH1_CERT_MAPPING, PROTO_RULE_AUTH1_EXCLUDE_CA_NAME,
                                  PROTO_RULE_AUTH1_CERT_TYPE};
    struct proto_buf value, token;
    char keyword[64];
    enum proto_rc result = PROTO_OK;

    if (!rule_given(f[PROTO_RULE_AUTH1_CA_NAME])) {
        /* No CA: the group's options have no value to ride on. */
        for (int i = PROTO_RULE_AUTH1_CERT_MAPPING; i <= PROTO_RULE_AUTH1_HEALTH_CERT; i++) {
            if (f[i] != NULL) {
                proto_errf(why, why_size,
                           "%s is printed without an Auth1CAName: netsh's add rule "
                           "can set it only with a CA",
                           rule_label(i));
                return PROTO_EUNSUPPORTED;
            }
        }
        return PROTO_OK;
    }
    const char *prefix = rule_cert_prefix(f[PROTO_RULE_AUTH1], why, why_size);
    if (prefix == NULL) {
        return PROTO_EUNSUPPORTED;
    }
    proto_buf_init(&value, RULE_VALUE_MAX);
    proto_buf_init(&token, RULE_VALUE_MAX);
    result =
        rule_ca_value(PROTO_RULE_AUTH1_CA_NAME, f[PROTO_RULE_AUTH1_CA_NAME], &value, why, why_size);
    for (size_t i = 0; i < RULE_COUNT(options) && result == PROTO_OK; i++) {
        if (f[options[i]] == NULL) {
            continue;
        }
        result = rule_token_value(options[i], f[options[i]], &token, why, why_size);
        if (result == PROTO_OK) {
            result = proto_buf_appendf(&value, " %s:%s", rule_params[options[i]].keyword,
                                       proto_buf_str(&token));
        }
    }
    if (result == PROTO_OK) {
        snprintf(keyword, sizeof(keyword), "%sca", prefix);
        result = rule_push_kv(out, keyword, proto_buf_str(&value));
    }
    if (result == PROTO_OK && f[PROTO_RULE_AUTH1_HEALTH_CERT] != NULL) {
        result = rule_token_value(PROTO_RULE_AUTH1_HEALTH_CERT, f[PROTO_RULE_AUTH1_HEALTH_CERT],
                                  &token, why, why_size);
        if (result == PROTO_OK) {
            snprintf(keyword, sizeof(keyword), "%shealthcert", prefix);
            result = rule_push_kv(out, keyword, proto_buf_str(&token));
        }
    }
    proto_buf_free(&value);
    proto_buf_free(&token);
    return result;
}

static bool rule_is_tunnel(const struct proto_consec_rule *rule)
{
    const char *mode = rule->field[PROTO_RULE_MODE];
    return mode != NULL && strcasecmp(mode, "Tunnel") == 0;
}

enum proto_rc agent_netsh_rule_add_args(const struct proto_consec_rule *rule,
                                        struct proto_strv *out, char *why, size_t why_size)
{
    static const char *const head[] = {"advfirewall", "consec", "add", "rule"};
    static const int required[] = {PROTO_RULE_NAME, PROTO_RULE_ENDPOINT1, PROTO_RULE_ENDPOINT2,
                                   PROTO_RULE_ACTION};
    struct proto_buf value;
    enum proto_rc result = PROTO_OK;

    proto_errf(why, why_size, "%s", "");
    if (rule == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    if (rule->labels_unrecognised) {
        proto_errf(why, why_size,
                   "the rule's labels were not recognised (localized netsh "
                   "output): only its name is known");
        return PROTO_EUNSUPPORTED;
    }
    if (rule->psk_redacted || rule->field[PROTO_RULE_AUTH1_PSK] != NULL) {
        proto_errf(why, why_size,
                   "Auth1PSK: the pre-shared key was redacted when the rule was "
                   "read, so the rule cannot be re-created");
        return PROTO_EUNSUPPORTED;
    }
    if (rule->extra_count > 0) {
        proto_errf(why, why_size, "the label \"%.64s\" is not one netsh's add rule can set",
                   rule->extra[0].key != NULL ? rule->extra[0].key : "");
        return PROTO_EUNSUPPORTED;
    }
    for (size_t i = 0; i < RULE_COUNT(required); i++) {
        if (!rule_given(rule->field[required[i]])) {
            proto_errf(why, why_size, "the rule has no %s, which netsh's add rule needs",
                       rule_label(required[i]));
            return PROTO_EINVAL;
        }
    }
    if (!proto_wire_rule_name_ok(rule->field[PROTO_RULE_NAME])) {
        proto_errf(why, why_size,
                   "the rule name \"%.64s\" cannot be passed to netsh (quotes, "
                   "wildcards, blanks at an end, or \"all\")",
                   rule->field[PROTO_RULE_NAME]);
        return PROTO_EINVAL;
    }
    bool tunnel = rule_is_tunnel(rule);
    proto_buf_init(&value, RULE_VALUE_MAX);
    for (size_t i = 0; i < RULE_COUNT(head) && result == PROTO_OK; i++) {
        result = proto_strv_push(out, head[i], AGENT_NETSH_RULE_MAX_ARGS);
    }
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT && result == PROTO_OK; f++) {
        const struct rule_param *p = &rule_params[f];
        const char *v = rule->field[f];
        if (p->kind == RULE_CA) {
            result = rule_add_cert_args(rule, out, why, why_size);
            continue;
        }
        if (p->kind == RULE_HOST || p->kind == RULE_REDACTED || p->kind == RULE_CA_OPTION ||
            p->kind == RULE_CA_HEALTH || v == NULL) {
            continue;
        }
        if (rule_tunnel_only(p) && !tunnel) {
            proto_errf(why, why_size,
                       "%s is printed for a transport-mode rule: netsh's add rule "
                       "sets it in tunnel mode only",
                       rule_label(f));
            result = PROTO_EUNSUPPORTED;
            break;
        }
        if (p->kind == RULE_TEXT && v[0] == '\0') {
            continue; /* an empty description is the default */
        }
        if (p->kind == RULE_AUTH2_CA) {
            proto_buf_reset(&value);
            result = rule_ca_value(f, v, &value, why, why_size);
        } else {
            result = rule_token_value(f, v, &value, why, why_size);
        }
        if (result == PROTO_OK && p->kind == RULE_YES && strcmp(proto_buf_str(&value), "no") == 0) {
            continue; /* the default; netsh may refuse the keyword outside tunnel mode */
        }
        if (result == PROTO_OK) {
            result = rule_push_kv(out, p->keyword, proto_buf_str(&value));
        }
    }
    proto_buf_free(&value);
    if (result == PROTO_ELIMIT) {
        proto_errf(why, why_size, "the rule needs more words than netsh is given (%u)",
                   AGENT_NETSH_RULE_MAX_ARGS);
    }
    if (result) {
        proto_strv_clear(out);
    }
    return result;
}

static enum proto_rc rule_name_args(const char *verb, const char *name, bool verbose,
                                    struct proto_strv *out)
{
    if (out == NULL || !proto_wire_rule_name_ok(name)) {
        return PROTO_EINVAL;
    }
    const char *const head[] = {"advfirewall", "consec", verb, "rule"};
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < RULE_COUNT(head) && result == PROTO_OK; i++) {
        result = proto_strv_push(out, head[i], AGENT_NETSH_RULE_MAX_ARGS);
    }
    if (result == PROTO_OK) {
        result = rule_push_kv(out, "name", name);
    }
    if (result == PROTO_OK && verbose) {
        result = proto_strv_push(out, "verbose", AGENT_NETSH_RULE_MAX_ARGS);
    }
    if (result) {
        proto_strv_clear(out);
    }
    return result;
}

enum proto_rc agent_netsh_rule_show_args(const char *name, struct proto_strv *out)
{
    return rule_name_args("show", name, true, out);
}

enum proto_rc agent_netsh_rule_delete_args(const char *name, struct proto_strv *out)
{
    return rule_name_args("delete", name, false, out);
}

/* ---- token -> printed value (what show rule prints after an add) ---------------------------- */

/* The keywords add rule takes beyond the table's own: the CA and health forms per method. */
enum rule_slot_extra {
    RULE_SLOT_CA0 = PROTO_RULE_FIELD_COUNT, /* + index of rule_cert_methods */
    RULE_SLOT_HEALTH0 = RULE_SLOT_CA0 + (int)RULE_COUNT(rule_cert_methods),
    RULE_SLOT_COUNT = RULE_SLOT_HEALTH0 + (int)RULE_COUNT(rule_cert_methods),
};

/* The slot of an add-rule keyword, or -1. */
static int rule_slot_of(const char *kw, size_t len)
{
    char name[64];
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        const struct rule_param *p = &rule_params[f];
        if (p->keyword == NULL || p->kind == RULE_CA || p->kind == RULE_CA_OPTION ||
            p->kind == RULE_CA_HEALTH) {
            continue;
        }
        if (strlen(p->keyword) == len && strncasecmp(p->keyword, kw, len) == 0) {
            return f;
        }
    }
    for (size_t i = 0; i < RULE_COUNT(rule_cert_methods); i++) {
        snprintf(name, sizeof(name), "%sca", rule_cert_methods[i].prefix);
        if (strlen(name) == len && strncasecmp(name, kw, len) == 0) {
            return RULE_SLOT_CA0 + (int)i;
        }
        snprintf(name, sizeof(name), "%shealthcert", rule_cert_methods[i].prefix);
        if (strlen(name) == len && strncasecmp(name, kw, len) == 0) {
            return RULE_SLOT_HEALTH0 + (int)i;
        }
    }
    return -1;
}

/* A value given as a token, printed as show prints it, into out (reset first). */
static enum proto_rc rule_printed_value(int f, const char *given, struct proto_buf *out, char *why,
                                        size_t why_size)
{
    const struct rule_param *p = &rule_params[f];
    enum proto_rc result = PROTO_OK;
    size_t len = strlen(given);
    const char *s = rule_trim(given, &len);

    proto_buf_reset(out);
    switch (p->kind) {
    case RULE_TEXT:
        return proto_buf_append_str(out, given);
    case RULE_WORD:
    case RULE_YES:
    case RULE_CA_OPTION:
    case RULE_CA_HEALTH: {
        const struct rule_word *w = rule_word_by_token(p, s, len);
        if (w == NULL) {
            proto_errf(why, why_size, "A specified value is not valid: %s=%.64s", p->keyword,
                       given);
            return PROTO_EPARSE;
        }
        return proto_buf_append_str(out, w->printed);
    }
    case RULE_PROTOCOL: {
        const struct rule_word *w = rule_word_by_token(p, s, len);
        if (w != NULL) {
            return proto_buf_append_str(out, w->printed);
        }
        if (len == 0 || len > 3 || !rule_chars_in(s, len, NULL) ||
            (len == 3 && strncmp(s, "255", 3) > 0)) {
            proto_errf(why, why_size, "A specified value is not valid: protocol=%.64s", given);
            return PROTO_EPARSE;
        }
        return proto_buf_append(out, s, len);
    }
    default:
        break;
    }
    size_t pos = 0;
    while (result == PROTO_OK) {
        const char *comma = memchr(s + pos, ',', len - pos);
        size_t end = comma != NULL ? (size_t)(comma - s) : len;
        size_t item_len = end - pos;
        const char *item = rule_trim(s + pos, &item_len);
        const struct rule_word *w = rule_word_by_token(p, item, item_len);
        if (out->len > 0) {
            result = proto_buf_append_byte(out, ',');
        }
        if (result) {
            break;
        }
        if (w != NULL) {
            result = proto_buf_append_str(out, w->printed);
        } else if ((p->kind == RULE_ADDRESSES && rule_is_address(item, item_len)) ||
                   (p->kind == RULE_PORTS && rule_is_port(item, item_len))) {
            result = proto_buf_append(out, item, item_len);
        } else if (p->kind == RULE_QM && rule_is_sec_method(item, item_len)) {
            /* ESP/AH and the algorithms in capitals, None as a word, lifetimes as 60min and
             * 100000kb: the way show rule prints them. */
            size_t start = 0;
            for (size_t i = 0; i <= item_len && result == PROTO_OK; i++) {
                if (i < item_len && item[i] != ':' && item[i] != '+' && item[i] != '-') {
                    continue;
                }
                const char *t = item + start;
                size_t n = i - start;
                bool lifetime = n > 0 && t[0] >= '0' && t[0] <= '9' &&
                                ((n > 3 && strncasecmp(t + n - 3, "min", 3) == 0) ||
                                 (n > 2 && strncasecmp(t + n - 2, "kb", 2) == 0));
                bool none = n == 4 && strncasecmp(t, "none", 4) == 0;
                for (size_t k = 0; k < n && result == PROTO_OK; k++) {
                    char c = lifetime ? rule_lower(t[k])
                                      : (none && k > 0 ? rule_lower(t[k]) : rule_upper(t[k]));
                    result = proto_buf_append_byte(out, (unsigned char)c);
                }
                if (result == PROTO_OK && i < item_len) {
                    result = proto_buf_append_byte(out, (unsigned char)item[i]);
                }
                start = i + 1;
            }
        } else {
            proto_errf(why, why_size, "A specified value is not valid: %s=%.64s", p->keyword,
                       given);
            return PROTO_EPARSE;
        }
        if (comma == NULL) {
            break;
        }
        pos = end + 1;
    }
    return result;
}

/* Sets out->field[f] to a copy of s. */
static enum proto_rc rule_set(struct proto_consec_rule *out, int f, const char *s)
{
    char *copy = proto_strdup(s);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(out->field[f]);
    out->field[f] = copy;
    return PROTO_OK;
}

/* A CA value of auth1ca & co.: the name (\' read back as '"') into name, the options into
 * opts[] (pointers into value, with their lengths). */
struct rule_ca_parts {
    const char *opt[PROTO_RULE_FIELD_COUNT];
    size_t opt_len[PROTO_RULE_FIELD_COUNT];
};

static enum proto_rc rule_split_ca(const char *value, bool with_options, struct proto_buf *name,
                                   struct rule_ca_parts *parts, char *why, size_t why_size)
{
    size_t len = strlen(value);
    memset(parts, 0, sizeof(*parts));
    while (with_options) {
        size_t end = len;
        while (end > 0 && rule_is_blank(value[end - 1])) {
            end--;
        }
        size_t start = end;
        while (start > 0 && !rule_is_blank(value[start - 1])) {
            start--;
        }
        const char *word = value + start;
        const char *colon = memchr(word, ':', end - start);
        int field = -1;
        for (int f = PROTO_RULE_AUTH1_CERT_MAPPING;
             colon != NULL && f <= PROTO_RULE_AUTH1_CERT_TYPE; f++) {
            size_t n = strlen(rule_params[f].keyword);
            if ((size_t)(colon - word) == n && strncasecmp(word, rule_params[f].keyword, n) == 0) {
                field = f;
            }
        }
        if (field < 0 || start == 0) {
            break;
        }
        if (parts->opt[field] != NULL) {
            proto_errf(why, why_size, "A specified value is not valid: %s given twice",
                       rule_params[field].keyword);
            return PROTO_EPARSE;
        }
        parts->opt[field] = colon + 1;
        parts->opt_len[field] = (size_t)(value + end - (colon + 1));
        len = start;
    }
    const char *s = rule_trim(value, &len);
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < len && result == PROTO_OK; i++) {
        if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\'') {
            result = proto_buf_append_byte(name, '"');
            i++;
        } else {
            result = proto_buf_append_byte(name, (unsigned char)s[i]);
        }
    }
    if (result == PROTO_OK && name->len == 0) {
        proto_errf(why, why_size, "A specified value is not valid: no CA name");
        return PROTO_EPARSE;
    }
    return result;
}

/* Whether the printed Auth1 list holds `printed` (a method). */
static bool rule_list_has(const char *list, const char *printed)
{
    size_t len = list != NULL ? strlen(list) : 0, pos = 0, n = strlen(printed);
    while (list != NULL && pos <= len) {
        const char *comma = memchr(list + pos, ',', len - pos);
        size_t end = comma != NULL ? (size_t)(comma - list) : len;
        size_t item_len = end - pos;
        const char *item = rule_trim(list + pos, &item_len);
        if (item_len == n && strncasecmp(item, printed, n) == 0) {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

/* The certificate group of the rule being printed, from the CA and health keywords given. */
static enum proto_rc rule_print_cert(const char *const *given, struct proto_consec_rule *out,
                                     char *why, size_t why_size)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf name, word;
    struct rule_ca_parts parts;
    int method = -1;

    for (size_t i = 0; i < RULE_COUNT(rule_cert_methods); i++) {
        if (given[RULE_SLOT_CA0 + (int)i] != NULL) {
            if (method >= 0) {
                proto_errf(why, why_size,
                           "A specified value is not valid: more than one CA keyword");
                return PROTO_EPARSE;
            }
            method = (int)i;
        }
    }
    for (size_t i = 0; i < RULE_COUNT(rule_cert_methods); i++) {
        if (given[RULE_SLOT_HEALTH0 + (int)i] != NULL && (int)i != method) {
            proto_errf(why, why_size, "A specified value is not valid: %shealthcert without %sca",
                       rule_cert_methods[i].prefix, rule_cert_methods[i].prefix);
            return PROTO_EPARSE;
        }
    }
    if (method < 0) {
        return PROTO_OK;
    }
    if (!rule_list_has(out->field[PROTO_RULE_AUTH1], rule_cert_methods[method].printed)) {
        proto_errf(why, why_size, "A specified value is not valid: %sca needs auth1=%s",
                   rule_cert_methods[method].prefix, rule_cert_methods[method].printed);
        return PROTO_EPARSE;
    }
    proto_buf_init(&name, RULE_VALUE_MAX);
    proto_buf_init(&word, RULE_VALUE_MAX);
    result = rule_split_ca(given[RULE_SLOT_CA0 + method], true, &name, &parts, why, why_size);
    if (result == PROTO_OK) {
        result = rule_set(out, PROTO_RULE_AUTH1_CA_NAME, proto_buf_str(&name));
    }
    for (int f = PROTO_RULE_AUTH1_CERT_MAPPING; f <= PROTO_RULE_AUTH1_HEALTH_CERT && !result; f++) {
        const char *fallback = rule_params[f].fallback;
        char token[64];
        const char *v = NULL;
        if (f == PROTO_RULE_AUTH1_HEALTH_CERT) {
            v = given[RULE_SLOT_HEALTH0 + method];
        } else if (parts.opt[f] != NULL) {
            size_t n = parts.opt_len[f] < sizeof(token) - 1 ? parts.opt_len[f] : sizeof(token) - 1;
            memcpy(token, parts.opt[f], n);
            token[n] = '\0';
            v = token;
        }
        if (v == NULL) {
            result = rule_set(out, f, fallback);
            continue;
        }
        result = rule_printed_value(f, v, &word, why, why_size);
        if (result == PROTO_OK) {
            result = rule_set(out, f, proto_buf_str(&word));
        }
    }
    proto_buf_free(&name);
    proto_buf_free(&word);
    return result;
}

enum proto_rc agent_netsh_rule_from_add_args(const char *const *args, size_t count,
                                             const struct agent_netsh_rule_globals *globals,
                                             struct proto_consec_rule *out, char *why,
                                             size_t why_size)
{
    static const char *const head[] = {"advfirewall", "consec", "add", "rule"};
    const char *given[RULE_SLOT_COUNT];
    struct proto_buf value;
    enum proto_rc result = PROTO_OK;

    proto_errf(why, why_size, "%s", "");
    if (out == NULL || (args == NULL && count > 0)) {
        return PROTO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (globals == NULL) {
        globals = &agent_netsh_rule_default_globals;
    }
    if (count < RULE_COUNT(head)) {
        proto_errf(why, why_size, "The following command was not found.");
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < RULE_COUNT(head); i++) {
        if (strcasecmp(args[i], head[i]) != 0) {
            proto_errf(why, why_size, "The following command was not found: %.64s", args[i]);
            return PROTO_EPARSE;
        }
    }
    memset(given, 0, sizeof(given));
    for (size_t i = RULE_COUNT(head); i < count; i++) {
        const char *eq = strchr(args[i], '=');
        int slot = eq != NULL ? rule_slot_of(args[i], (size_t)(eq - args[i])) : -1;
        if (slot < 0) {
            proto_errf(why, why_size, "'%.64s' is not a valid argument for this command.", args[i]);
            return PROTO_EPARSE;
        }
        if (given[slot] != NULL) {
            proto_errf(why, why_size, "A keyword was given twice: %.64s", args[i]);
            return PROTO_EPARSE;
        }
        given[slot] = eq + 1;
    }
    const char *name = given[PROTO_RULE_NAME];
    if (name != NULL && strcasecmp(name, "all") == 0) {
        proto_errf(why, why_size, "A rule may not be named \"all\".");
        return PROTO_EPARSE;
    }
    bool tunnel =
        given[PROTO_RULE_MODE] != NULL && strcasecmp(given[PROTO_RULE_MODE], "tunnel") == 0;
    proto_buf_init(&value, RULE_VALUE_MAX);
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT && result == PROTO_OK; f++) {
        const struct rule_param *p = &rule_params[f];
        const char *v = given[f];
        if (p->kind == RULE_CA) {
            result = rule_print_cert(given, out, why, why_size);
            continue;
        }
        if (p->kind == RULE_CA_OPTION || p->kind == RULE_CA_HEALTH || p->kind == RULE_REDACTED) {
            continue;
        }
        if (p->kind == RULE_HOST) {
            const char *h = f == PROTO_RULE_MM_SEC_METHODS    ? globals->main_mode_sec_methods
                            : f == PROTO_RULE_MM_KEY_LIFETIME ? globals->main_mode_key_lifetime
                                                              : RULE_SOURCE_LOCAL;
            result = h != NULL ? rule_set(out, f, h) : PROTO_OK;
            continue;
        }
        if (rule_tunnel_only(p) && !tunnel) {
            if (v != NULL) {
                proto_errf(why, why_size, "%s can only be given with mode=tunnel", p->keyword);
                result = PROTO_EPARSE;
            }
            continue;
        }
        if (v == NULL) {
            const char *fallback =
                f == PROTO_RULE_QM_SEC_METHODS ? globals->quick_mode_sec_methods : p->fallback;
            if (p->shown == RULE_SHOWN_GIVEN || p->shown == RULE_SHOWN_TUNNEL_GIVEN) {
                continue;
            }
            if (fallback == NULL) {
                proto_errf(why, why_size, "A required argument is missing: %s", p->keyword);
                result = PROTO_EPARSE;
                continue;
            }
            result = rule_set(out, f, fallback);
            continue;
        }
        if (p->kind == RULE_AUTH2_CA) {
            struct rule_ca_parts parts;
            proto_buf_reset(&value);
            result = rule_split_ca(v, false, &value, &parts, why, why_size);
        } else {
            result = rule_printed_value(f, v, &value, why, why_size);
        }
        if (result == PROTO_OK) {
            result = rule_set(out, f, proto_buf_str(&value));
        }
    }
    proto_buf_free(&value);
    if (result) {
        proto_rule_clear(out);
    }
    return result;
}

/* ---- the read-back comparison --------------------------------------------------------------- */

enum proto_rc agent_netsh_rule_compare(const struct proto_consec_rule *have,
                                       const struct proto_consec_rule *want, char *why,
                                       size_t why_size)
{
    proto_errf(why, why_size, "%s", "");
    if (have == NULL || want == NULL) {
        return PROTO_EINVAL;
    }
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        const char *h = have->field[f], *w = want->field[f];
        /* The host's main mode and the rule source: not the rule's to match (decision 018). */
        if (proto_rule_field_host_owned(f) || (h == NULL && w == NULL) ||
            (h != NULL && w != NULL && strcmp(h, w) == 0)) {
            continue;
        }
        proto_errf(why, why_size, "%s is %s%.96s%s, expected %s%.96s%s", rule_label(f),
                   h != NULL ? "\"" : "", h != NULL ? h : "not printed", h != NULL ? "\"" : "",
                   w != NULL ? "\"" : "", w != NULL ? w : "not printed", w != NULL ? "\"" : "");
        return PROTO_ECHANGED;
    }
    if (have->extra_count != want->extra_count) {
        proto_errf(why, why_size, "%zu unknown labels, expected %zu", have->extra_count,
                   want->extra_count);
        return PROTO_ECHANGED;
    }
    for (size_t e = 0; e < have->extra_count; e++) {
        const struct proto_kv *h = &have->extra[e], *w = &want->extra[e];
        bool same_key = h->key != NULL && w->key != NULL && strcmp(h->key, w->key) == 0;
        bool same_value = (h->value == NULL && w->value == NULL) ||
                          (h->value != NULL && w->value != NULL && strcmp(h->value, w->value) == 0);
        if (!same_key || !same_value) {
            proto_errf(why, why_size, "the unknown label \"%.64s\" differs",
                       w->key != NULL ? w->key : "");
            return PROTO_ECHANGED;
        }
    }
    return PROTO_OK;
}

/* ---- running netsh -------------------------------------------------------------------------- */

/* One netsh run: its exit code and its output decoded to UTF-8 text with LF. */
struct rule_run {
    uint32_t exit_code;
    char *text; /* owned, NUL-terminated */
    size_t len;
};

static void rule_run_clear(struct rule_run *r)
{
    proto_free(r->text);
    memset(r, 0, sizeof(*r));
}

static enum proto_rc rule_run_netsh(const struct agent_netsh_rule_host *host,
                                    const struct proto_strv *args, struct rule_run *r, char *why,
                                    size_t why_size)
{
    struct agent_netsh_output out;
    char reason[AGENT_NETSH_RULE_WHY_BYTES];

    memset(r, 0, sizeof(*r));
    memset(&out, 0, sizeof(out));
    reason[0] = '\0';
    if (host == NULL || host->runner == NULL || host->runner->run == NULL) {
        return PROTO_EINVAL;
    }
    uint32_t timeout = host->timeout_ms != 0 ? host->timeout_ms : AGENT_NETSH_TIMEOUT_MS;
    enum proto_rc result =
        host->runner->run(host->runner->ctx, (const char *const *)args->items, args->count,
                          AGENT_NETSH_RULE_OUTPUT_MAX, timeout, &out, reason, sizeof(reason));
    if (result) {
        proto_errf(why, why_size, "netsh %s %s: %s", args->count > 2 ? args->items[2] : "",
                   args->count > 3 ? args->items[3] : "",
                   reason[0] != '\0' ? reason : proto_rc_str(result));
        return result;
    }
    r->exit_code = out.exit_code;
    result =
        proto_text_decode(out.bytes, out.len,
                          host->oem_codepage != 0 ? host->oem_codepage : PROTO_CODEPAGE_DEFAULT_OEM,
                          &r->text, &r->len, NULL);
    proto_free(out.bytes);
    if (result) {
        proto_errf(why, why_size, "netsh's output cannot be decoded: %s", proto_rc_str(result));
        rule_run_clear(r);
    }
    return result;
}

static bool rule_text_blank(const struct rule_run *r)
{
    for (size_t i = 0; i < r->len; i++) {
        char c = r->text[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return false;
        }
    }
    return true;
}

/* Whether a line of the output is netsh's "No rules match the specified criteria." */
static bool rule_text_no_match(const struct rule_run *r)
{
    size_t pos = 0, len = 0;
    const char *line;
    while ((line = proto_text_next_line(r->text, r->len, &pos, &len)) != NULL) {
        const char *t = rule_trim(line, &len);
        if (len == strlen(rule_no_match) && strncmp(t, rule_no_match, len) == 0) {
            return true;
        }
    }
    return false;
}

/* The first non-blank line of the output, for a message. */
static void rule_text_first_line(const struct rule_run *r, char *out, size_t size)
{
    size_t pos = 0, len = 0;
    const char *line;
    while ((line = proto_text_next_line(r->text, r->len, &pos, &len)) != NULL) {
        const char *t = rule_trim(line, &len);
        if (len > 0) {
            proto_errf(out, size, "%.*s", (int)(len < 120 ? len : 120), t);
            return;
        }
    }
    proto_errf(out, size, "(nothing printed)");
}

/* Exit 0 with nothing printed: the netsh at hand does nothing (Wine's stub). */
static enum proto_rc rule_unavailable(const struct proto_strv *args, char *why, size_t why_size)
{
    proto_errf(why, why_size,
               "netsh %s %s printed nothing (exit 0): netsh is unavailable here "
               "(source unavailable), so the rule's state is unknown",
               args->items[2], args->items[3]);
    return PROTO_EUNAVAILABLE;
}

static enum proto_rc rule_failed(const struct proto_strv *args, const struct rule_run *r, char *why,
                                 size_t why_size)
{
    char line[160];
    rule_text_first_line(r, line, sizeof(line));
    proto_errf(why, why_size, "netsh advfirewall consec %s rule exited %lu: %s", args->items[2],
               (unsigned long)r->exit_code, line);
    return PROTO_EIO;
}

enum proto_rc agent_netsh_rule_get(const struct agent_netsh_rule_host *host, const char *name,
                                   struct agent_rule_state *out, char *why, size_t why_size)
{
    struct proto_strv args = {NULL, 0, 0};
    struct rule_run r;
    struct proto_snapshot *snap = NULL;

    memset(&r, 0, sizeof(r));
    proto_errf(why, why_size, "%s", "");
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    enum proto_rc result = agent_netsh_rule_show_args(name, &args);
    if (result) {
        proto_errf(why, why_size, "the rule name \"%.64s\" cannot be passed to netsh",
                   name != NULL ? name : "");
        goto out;
    }
    result = rule_run_netsh(host, &args, &r, why, why_size);
    if (result) {
        goto out;
    }
    if (r.exit_code == 0 && rule_text_blank(&r)) {
        result = rule_unavailable(&args, why, why_size);
        goto out;
    }
    if (r.exit_code == 1 && rule_text_no_match(&r)) {
        goto out; /* absent */
    }
    if (r.exit_code != 0) {
        result = rule_failed(&args, &r, why, why_size);
        goto out;
    }
    snap = proto_snapshot_create();
    if (snap == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    result = proto_netsh_consec_parse(r.text, r.len, "netsh consec show rule", snap);
    if (result) {
        proto_errf(why, why_size, "netsh's listing of rule \"%.64s\" cannot be read: %s", name,
                   snap->error_count > 0 ? snap->errors[0].message : proto_rc_str(result));
        result = result == PROTO_ENOMEM ? result : PROTO_EPARSE;
        goto out;
    }
    for (size_t i = 0; i < snap->rule_count; i++) {
        struct proto_consec_rule *rule = &snap->rules[i];
        const char *n = rule->field[PROTO_RULE_NAME];
        if (n == NULL || strcmp(n, name) != 0) {
            continue;
        }
        if (out->count++ == 0) {
            out->rule = *rule;
            memset(rule, 0, sizeof(*rule));
        }
    }
out:
    if (result) {
        agent_rule_state_clear(out);
    }
    proto_snapshot_destroy(snap);
    rule_run_clear(&r);
    proto_strv_clear(&args);
    return result;
}

/* Runs a changing command: exit 0 with output is done; exit 1 with "No rules match" is done
 * when no_match_ok (a delete of nothing). */
static enum proto_rc rule_change(const struct agent_netsh_rule_host *host,
                                 const struct proto_strv *args, bool no_match_ok, char *why,
                                 size_t why_size)
{
    struct rule_run r;
    enum proto_rc result = rule_run_netsh(host, args, &r, why, why_size);
    if (result) {
        return result;
    }
    if (r.exit_code == 0 && rule_text_blank(&r)) {
        result = rule_unavailable(args, why, why_size);
    } else if (r.exit_code == 1 && no_match_ok && rule_text_no_match(&r)) {
        result = PROTO_OK;
    } else if (r.exit_code != 0) {
        result = rule_failed(args, &r, why, why_size);
    }
    rule_run_clear(&r);
    return result;
}

enum proto_rc agent_netsh_rule_put(const struct agent_netsh_rule_host *host,
                                   const struct proto_consec_rule *rule, char *why, size_t why_size)
{
    struct proto_strv add = {NULL, 0, 0}, del = {NULL, 0, 0};
    struct agent_rule_state now;
    char diff[AGENT_NETSH_RULE_WHY_BYTES];

    memset(&now, 0, sizeof(now));
    proto_errf(why, why_size, "%s", "");
    if (rule == NULL) {
        return PROTO_EINVAL;
    }
    /* Every word is built before anything changes: a rule netsh cannot be given changes
     * nothing. */
    enum proto_rc result = agent_netsh_rule_add_args(rule, &add, why, why_size);
    if (result == PROTO_OK) {
        result = agent_netsh_rule_delete_args(rule->field[PROTO_RULE_NAME], &del);
    }
    if (result) {
        goto out;
    }
    const char *name = rule->field[PROTO_RULE_NAME];
    result = rule_change(host, &del, true, why, why_size);
    if (result == PROTO_OK) {
        result = rule_change(host, &add, false, why, why_size);
    }
    if (result == PROTO_OK) {
        result = agent_netsh_rule_get(host, name, &now, why, why_size);
    }
    if (result) {
        goto out;
    }
    if (now.count != 1) {
        proto_errf(why, why_size, "read back: %zu rules named \"%.64s\" after the add, expected 1",
                   now.count, name);
        result = PROTO_ECHANGED;
        goto out;
    }
    result = agent_netsh_rule_compare(&now.rule, rule, diff, sizeof(diff));
    if (result) {
        proto_errf(why, why_size, "read back: rule \"%.64s\": %s", name, diff);
    }
out:
    agent_rule_state_clear(&now);
    proto_strv_clear(&add);
    proto_strv_clear(&del);
    return result;
}

enum proto_rc agent_netsh_rule_delete(const struct agent_netsh_rule_host *host, const char *name,
                                      char *why, size_t why_size)
{
    struct proto_strv del = {NULL, 0, 0};
    proto_errf(why, why_size, "%s", "");
    enum proto_rc result = agent_netsh_rule_delete_args(name, &del);
    if (result) {
        proto_errf(why, why_size, "the rule name \"%.64s\" cannot be passed to netsh",
                   name != NULL ? name : "");
        return result;
    }
    result = rule_change(host, &del, true, why, why_size);
    proto_strv_clear(&del);
    return result;
}
