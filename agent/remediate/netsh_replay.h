/*
 * netsh_replay: a netsh runner (netsh.h) that plays netsh's connection-security commands
 * against an in-memory rule list, for tests: Linux unit tests, and under Wine, where the real
 * netsh.exe is a stub that prints nothing (tests/windows/apply_replay_win32.c).
 *
 * It answers what the agent runs: `advfirewall consec show rule name=NAME|all verbose` with
 * proto's printer (exit 1 and "No rules match the specified criteria." when none), `... add
 * rule ...` by agent_netsh_rule_from_add_args (exit 1 with netsh's kind of complaint for words
 * netsh would refuse), `... delete rule name=NAME` (exit 1 and "No rules match" when none), and
 * `http show sslcert` as Wine's stub does (exit 0, nothing). Output is what netsh writes to a
 * pipe: CRLF, in the OEM code page. It can be told to fail the Nth call (of one verb or of any)
 * and keeps a log of the calls. It owns its rules and log; it never runs a process and never
 * touches the disk. Not thread-safe, and never linked into the shipped agent's code paths.
 */
#ifndef AGENT_NETSH_REPLAY_H
#define AGENT_NETSH_REPLAY_H

#include <stddef.h>

#include "buf.h"
#include "model.h"
#include "netsh.h"
#include "netsh_rule.h"
#include "rc.h"

#define AGENT_NETSH_REPLAY_MAX_LOG 1000u /* calls kept in the log */

/* How an injected failure looks. */
enum agent_netsh_replay_failure {
    AGENT_NETSH_REPLAY_FAIL_EXIT,     /* netsh exits 1 with an error line; nothing changes */
    AGENT_NETSH_REPLAY_FAIL_NO_START, /* the runner fails: netsh could not be started */
    AGENT_NETSH_REPLAY_FAIL_SILENT,   /* exit 0 and nothing printed, as Wine's stub */
};

struct agent_netsh_replay;

/* An empty host with Windows' default main mode (agent_netsh_rule_default_globals) whose output
 * is in `oem_codepage` (437 or 850; others: 437). NULL only on allocation failure. */
struct agent_netsh_replay *agent_netsh_replay_create(unsigned oem_codepage);
void agent_netsh_replay_destroy(struct agent_netsh_replay *r); /* accepts NULL */

/*
 * Replaces the rules by those of a `show rule name=all verbose` listing (decoded text; blank
 * text or "No rules match" is no rule), and takes the host's main mode from the first rule that
 * prints one (every rule prints the host's). PROTO_EPARSE (why says what) for text proto's
 * parser refuses or rules it could not print back (localized, redacted PSK).
 */
enum proto_rc agent_netsh_replay_load(struct agent_netsh_replay *r, const char *text, size_t len,
                                      char *why, size_t why_size);

/* Sets the host's main mode and default quick mode (copied; NULL members keep theirs). */
enum proto_rc agent_netsh_replay_set_globals(struct agent_netsh_replay *r,
                                             const struct agent_netsh_rule_globals *globals);

/* Fails, once and the way `how` says, the nth call from now (1: the next one) whose verb is
 * `verb` ("show", "add", "delete"; NULL: any call, counted over all verbs). nth 0 disarms. */
void agent_netsh_replay_fail(struct agent_netsh_replay *r, const char *verb, unsigned long nth,
                             enum agent_netsh_replay_failure how);

/* The runner to hand to the agent (borrowed, valid until r is destroyed). */
const struct agent_netsh_runner *agent_netsh_replay_runner(struct agent_netsh_replay *r);

/* Appends the `show rule name=all verbose` listing of the rules now (decoded text, LF), which
 * agent_netsh_replay_load reads back. */
enum proto_rc agent_netsh_replay_listing(const struct agent_netsh_replay *r, struct proto_buf *out);

/* The rules now (borrowed, valid until the next call into r). */
const struct proto_consec_rule *agent_netsh_replay_rules(const struct agent_netsh_replay *r,
                                                         size_t *count);

/* The calls so far, each as its words joined by single spaces (borrowed); NULL past the end.
 * Calls past AGENT_NETSH_REPLAY_MAX_LOG are counted but not kept. */
size_t agent_netsh_replay_call_count(const struct agent_netsh_replay *r);
const char *agent_netsh_replay_call(const struct agent_netsh_replay *r, size_t i);

#endif
