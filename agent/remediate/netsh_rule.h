/*
 * netsh_rule: a connection-security rule as netsh's argument vectors, and the rule primitives
 * of the Windows host (system_win32.c) run through a netsh runner (netsh.h).
 *
 * Pure parts: the rule as printed by `consec show rule verbose` (proto's parsed rule) into the
 * words of `netsh advfirewall consec add rule` (every field the add-rule syntax can set, one
 * table drives both directions), the inverse (what `show rule` prints after such an add: the
 * replay runner's model of netsh), and the field-by-field comparison of a read-back. Runner
 * parts: get, put (delete namesakes, add, read back) and delete by exact name. Never builds a
 * command line (the runner quotes), never runs a shell, refuses a value it cannot pass as it
 * is rather than altering it.
 */
#ifndef AGENT_NETSH_RULE_H
#define AGENT_NETSH_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "netsh.h"
#include "rc.h"
#include "strv.h"
#include "system.h"

/* The words of the longest command built here: "advfirewall consec add rule" and one
 * keyword=value per settable field (at most AGENT_NETSH_MAX_ARGS, which the runner enforces). */
#define AGENT_NETSH_RULE_MAX_ARGS 28u
#define AGENT_NETSH_RULE_OUTPUT_MAX (4u * 1024u * 1024u) /* what one show/add/delete may print */
#define AGENT_NETSH_RULE_WHY_BYTES 256u

/*
 * Fills `out` (empty; caller clears with proto_strv_clear) with the words after "netsh" of
 * `netsh advfirewall consec add rule` that makes `rule` (borrowed), keyword by keyword in print
 * order: name, description (left out when empty), enable, profile, type, mode, interfacetype,
 * endpoint1, endpoint2, localtunnelendpoint and remotetunnelendpoint (tunnel mode only), port1,
 * port2, protocol, action, auth1, auth1ca / auth1ecdsap256ca / auth1ecdsap384ca ("<CA>
 * certmapping:yes|no excludecaname:yes|no catype:root|intermediate", each option only when its
 * field is printed; an embedded '"' written as \'), auth1healthcert (and the ECDSA forms),
 * auth2, auth2ca, qmsecmethods, qmpfs, exemptipsecprotectedconnections (tunnel mode only) and
 * applyauthz (only when Yes: its default is No). Keywords take netsh's lower-case tokens; names,
 * descriptions, addresses, ports and CA names go as printed. A field left NULL (not printed) is
 * left out, so netsh's default applies. MainModeSecMethods, MainModeKeyLifetime and Rule source are
 * the host's, not a rule's: no keyword sets them.
 *
 * PROTO_EUNSUPPORTED, with `why` naming the field, for what cannot be re-created exactly: a
 * value outside netsh's vocabulary, a control character, '"' outside a CA name, '\' or '|' or
 * an option keyword inside a CA name, a redacted pre-shared key, labels the parser did not
 * recognise (extra or localized), a CA name with no or two certificate methods in Auth1, a
 * tunnel endpoint on a transport rule. PROTO_EINVAL without a name, endpoints or action, or for
 * a name proto_wire_rule_name_ok refuses. Nothing is run.
 */
enum proto_rc agent_netsh_rule_add_args(const struct proto_consec_rule *rule,
                                        struct proto_strv *out, char *why, size_t why_size);

/* The words of `netsh advfirewall consec show rule name=NAME verbose` and of `... delete rule
 * name=NAME` into `out` (empty; caller clears). PROTO_EINVAL for a name
 * proto_wire_rule_name_ok refuses (among them "all", which netsh reads as every rule). */
enum proto_rc agent_netsh_rule_show_args(const char *name, struct proto_strv *out);
enum proto_rc agent_netsh_rule_delete_args(const char *name, struct proto_strv *out);

/* What a rule's `show rule` listing takes from the host rather than from `add rule`. */
struct agent_netsh_rule_globals {
    const char *main_mode_sec_methods;  /* `set global mainmode mmsecmethods` */
    const char *main_mode_key_lifetime; /* `set global mainmode mmkeylifetime` */
    const char *quick_mode_sec_methods; /* printed when qmsecmethods is not given */
};

/* Windows' defaults (a host nobody configured), as `show rule verbose` prints them. */
extern const struct agent_netsh_rule_globals agent_netsh_rule_default_globals;

/*
 * The inverse of agent_netsh_rule_add_args: the rule `show rule verbose` prints after netsh ran
 * `args` (all the words after "netsh", starting "advfirewall consec add rule"), as proto's
 * parser would read it: keywords in netsh's printed spelling, the defaults of keywords not
 * given, the host's fields from `globals`. Keywords and tokens are matched case-insensitively,
 * as netsh does. *out is overwritten (caller clears with proto_rule_clear). PROTO_EPARSE, with
 * `why` as netsh would complain, for a word netsh would refuse (unknown or repeated keyword,
 * a value outside the vocabulary, a missing name, endpoint or action, name=all).
 */
enum proto_rc agent_netsh_rule_from_add_args(const char *const *args, size_t count,
                                             const struct agent_netsh_rule_globals *globals,
                                             struct proto_consec_rule *out, char *why,
                                             size_t why_size);

/*
 * PROTO_OK when `have` is `want` field by field (printed or not, the same text) and the same
 * unknown labels; else PROTO_ECHANGED and `why` names the first field that differs with both
 * values ("Enabled is \"No\", expected \"Yes\""), saying so when the field is the host's main
 * mode, which no rule sets.
 */
enum proto_rc agent_netsh_rule_compare(const struct proto_consec_rule *have,
                                       const struct proto_consec_rule *want, char *why,
                                       size_t why_size);

/* How the rule primitives run netsh. */
struct agent_netsh_rule_host {
    const struct agent_netsh_runner *runner; /* borrowed */
    unsigned oem_codepage;                   /* decodes netsh's output (437 or 850) */
    uint32_t timeout_ms;                     /* per netsh run; 0: AGENT_NETSH_TIMEOUT_MS */
};

/*
 * The rules named exactly `name`: `show rule name=NAME verbose`. Exit 1 with "No rules match
 * the specified criteria." is absent (count 0); exit 0 with nothing printed is
 * PROTO_EUNAVAILABLE (netsh unusable, as under Wine: never "absent"); other exits, unreadable
 * output or a listing that is not one are PROTO_EIO / PROTO_EPARSE. out->position is 0 (netsh
 * lists by name; Windows orders rules itself). Caller clears *out. `why` gets one line on
 * failure.
 */
enum proto_rc agent_netsh_rule_get(const struct agent_netsh_rule_host *host, const char *name,
                                   struct agent_rule_state *out, char *why, size_t why_size);

/*
 * Makes `rule` the one rule of its name: builds the add-rule words first (a rule they cannot
 * express changes nothing: PROTO_EUNSUPPORTED), deletes every rule of the name ("No rules
 * match" is fine), adds, then reads back with show and compares field by field: PROTO_ECHANGED
 * naming the field when netsh shows another rule than the one asked for.
 */
enum proto_rc agent_netsh_rule_put(const struct agent_netsh_rule_host *host,
                                   const struct proto_consec_rule *rule, char *why,
                                   size_t why_size);

/* Deletes every rule named `name`; exit 1 with "No rules match" is already absent (PROTO_OK). */
enum proto_rc agent_netsh_rule_delete(const struct agent_netsh_rule_host *host, const char *name,
                                      char *why, size_t why_size);

#endif
