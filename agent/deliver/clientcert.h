/*
 * clientcert: which certificate of LocalMachine\My the agent presents to the collector on
 * Windows (DESIGN §8), as a rule over certificate facts with no Windows call in it.
 *
 * Owns the rule and the decoding of the two certificate-template extensions; the store itself
 * is read by clientcert_win32.c, which turns each certificate into a candidate and asks the
 * rule. The key never leaves the store: the result is a thumbprint that Schannel looks up
 * (curl's "LocalMachine\MY\<thumbprint>"). Never logs; every refusal is a reason in text.
 */
#ifndef AGENT_CLIENTCERT_H
#define AGENT_CLIENTCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "model.h"

#define AGENT_CLIENTCERT_STORE "LocalMachine\\MY" /* curl's form of the store's name */
#define AGENT_CLIENTCERT_PATH_BYTES 64u           /* the store, '\', 40 hex digits, NUL */
#define AGENT_CLIENTCERT_OID_TEMPLATE "1.3.6.1.4.1.311.21.7"      /* v2+: template OID, versions */
#define AGENT_CLIENTCERT_OID_TEMPLATE_NAME "1.3.6.1.4.1.311.20.2" /* v1: the template's name */

/* What the settings ask for, in the form the rule compares. */
struct agent_clientcert_want {
    char thumbprint[PROTO_SHA1_HEX_LEN + 1];       /* upper-case hex; "" = automatic */
    struct proto_dn issuer;                        /* owned; no attrs = any issuer */
    char template_id[AGENT_CONFIG_TEMPLATE_BYTES]; /* OID or v1 name; "" = any */
    char fqdn[PROTO_MAX_NAME + 1]; /* the host's FQDN; "" = not known (automatic fails) */
    int64_t now;                   /* Unix seconds, for validity */
};

/* One certificate of the store as the rule sees it. */
struct agent_clientcert_candidate {
    /* Facts (proto/x509) with has_eku/eku as Windows reports them (CertGetEnhancedKeyUsage:
     * the extension narrowed by the store's EKU property) and has_private_key from the store
     * (a key association, CERT_KEY_PROV_INFO_PROP_ID). Owned. */
    struct proto_cert cert;
    char template_oid[AGENT_CONFIG_TEMPLATE_BYTES];  /* "" when there is none */
    char template_name[AGENT_CONFIG_TEMPLATE_BYTES]; /* "" when there is none */
};

/*
 * The settings as a want: fqdn_override (or `host_fqdn` when that is empty; may be NULL),
 * the normalised thumbprint, the issuer DN parsed, the template. Caller clears with
 * agent_clientcert_want_clear. PROTO_EINVAL when a setting does not parse (validate refuses
 * those first), PROTO_ENOMEM.
 */
enum proto_rc agent_clientcert_want_init(struct agent_clientcert_want *want,
                                         const struct agent_config *cfg, const char *host_fqdn,
                                         int64_t now);
void agent_clientcert_want_clear(struct agent_clientcert_want *want);

void agent_clientcert_candidate_clear(struct agent_clientcert_candidate *c); /* accepts zeroed */

/*
 * Why `c` cannot be the client certificate, or NULL when it can (borrowed static text).
 * Always: parsed, a private key, valid at want->now, good for client authentication (the
 * Client Authentication or anyExtendedKeyUsage EKU, or no EKU at all, which Windows reads as
 * every use), and the issuer and template when the want names them. Automatic selection only:
 * a SAN dNSName equal to want->fqdn, ignoring case and a final '.'.
 */
const char *agent_clientcert_refusal(const struct agent_clientcert_want *want,
                                     const struct agent_clientcert_candidate *c);

/*
 * The certificate to present, as an index into c[0..n). With a thumbprint: that certificate,
 * if it passes. Automatically: of those that pass, the newest NotBefore, then the latest
 * NotAfter, then the lowest thumbprint (so the store's enumeration order never decides).
 * PROTO_ENOTFOUND with `why`: one line naming the host, the count and each certificate's
 * refusal ("3 examined: 1A2B3C4D: expired; ...").
 */
enum proto_rc agent_clientcert_choose(const struct agent_clientcert_want *want,
                                      const struct agent_clientcert_candidate *c, size_t n,
                                      size_t *chosen, char *why, size_t why_size);

/* The value of extension 1.3.6.1.4.1.311.21.7 (SEQUENCE { templateID OID, major INTEGER,
 * minor INTEGER OPTIONAL }) -> the dotted OID in out. PROTO_EPARSE, PROTO_ELIMIT. */
enum proto_rc agent_clientcert_template_oid(const unsigned char *der, size_t len, char *out,
                                            size_t out_size);

/* The value of extension 1.3.6.1.4.1.311.20.2 (a BMPString, or another string type) -> the
 * name as UTF-8 in out. PROTO_EPARSE, PROTO_ELIMIT. */
enum proto_rc agent_clientcert_template_name(const unsigned char *der, size_t len, char *out,
                                             size_t out_size);

/* Windows (clientcert_win32.c): reads LocalMachine\My and chooses with the settings; `path`
 * gets "LocalMachine\MY\<thumbprint>" for CURLOPT_SSLCERT. The host FQDN is fqdn_override or
 * GetComputerNameExW(ComputerNameDnsFullyQualified); `now` the system clock. PROTO_ENOTFOUND
 * with `why` when no certificate qualifies, PROTO_EIO when the store cannot be opened. */
enum proto_rc agent_clientcert_pick(const struct agent_config *cfg,
                                    char path[AGENT_CLIENTCERT_PATH_BYTES], char *why,
                                    size_t why_size);

#endif
