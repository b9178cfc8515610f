/*
 * system: what remediation may read and change on a host, as a struct of function pointers and
 * a context (DESIGN §8). The apply engine (apply.h) only ever changes a host through this seam,
 * one primitive per call, and each primitive is one of the closed action list's effects: an
 * allow-listed registry DWORD, a connection-security rule by exact name, a restart of an
 * allow-listed service. No primitive takes a command line, a registry path or a service name.
 *
 * Two implementations: the simulated host over a capture bundle (system_sim.c) and the Windows
 * host itself (system_win32.c: registry, netsh through an injectable runner, the service control
 * manager). A primitive leaves a one-line reason in sys->reason when it fails. The system never
 * decides what to change: the engine does.
 */
#ifndef AGENT_SYSTEM_H
#define AGENT_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "rc.h"
#include "wire_profile.h"

#define AGENT_SYSTEM_REASON_BYTES 256u
#define AGENT_SYSTEM_ID_BYTES 1100u      /* "bundle:" and an absolute path */
#define AGENT_SYSTEM_APPEND ((size_t)-1) /* rule_put: no position hint */

/* A registry DWORD's state: absent, or present with a value. */
struct agent_dword_state {
    bool present;
    uint32_t value;
};

/* The rules of one exact name: how many there are, the first one and where it stands. */
struct agent_rule_state {
    size_t count;                  /* 0: absent */
    struct proto_consec_rule rule; /* the first rule of that name (owned; zeroed when absent) */
    size_t position;               /* its index in the host's listing, from 0 */
};

/* Frees the rule a state holds and zeroes it. Accepts a zeroed state. */
void agent_rule_state_clear(struct agent_rule_state *state);

struct agent_system {
    void *ctx; /* the implementation's */
    /* Identifies the host for the journal: "bundle:/abs/path" or "win32:". */
    char id[AGENT_SYSTEM_ID_BYTES];
    char reason[AGENT_SYSTEM_REASON_BYTES]; /* why the last primitive failed */

    /* The whole snapshot as the agent would collect it now (caller destroys). */
    enum proto_rc (*read_snapshot)(struct agent_system *sys, struct proto_snapshot **out);
    /* An allow-listed value's state. */
    enum proto_rc (*dword_get)(struct agent_system *sys, enum proto_dword_name name,
                               struct agent_dword_state *out);
    /* Creates or sets the value as a REG_DWORD. */
    enum proto_rc (*dword_set)(struct agent_system *sys, enum proto_dword_name name,
                               uint32_t value);
    /* Deletes the value (the undo of setting one that was absent); absent already is PROTO_OK. */
    enum proto_rc (*dword_delete)(struct agent_system *sys, enum proto_dword_name name);
    /* The rules named exactly `name` (caller clears *out). */
    enum proto_rc (*rule_get)(struct agent_system *sys, const char *name,
                              struct agent_rule_state *out);
    /* Makes `rule` (borrowed) the one rule of its name, exactly as given: the first rule of that
     * name is replaced where it stands and later namesakes are deleted; with none, the rule is
     * added at `position` (AGENT_SYSTEM_APPEND: wherever the host adds rules). The position is
     * a hint for restoring a removed rule where it was; Windows orders rules itself. */
    enum proto_rc (*rule_put)(struct agent_system *sys, const struct proto_consec_rule *rule,
                              size_t position);
    /* Deletes every rule named exactly `name`; none is PROTO_OK. */
    enum proto_rc (*rule_delete)(struct agent_system *sys, const char *name);
    /* Restarts an allow-listed service. */
    enum proto_rc (*service_restart)(struct agent_system *sys, enum proto_service service);
    /* Optional (NULL: every rule can be put): PROTO_OK when rule_put could make `rule`
     * (borrowed) exactly as it is, else why in sys->reason. The engine asks before it changes a
     * rule, for the rule it will put and for the one it may have to restore. Changes nothing. */
    enum proto_rc (*rule_check)(struct agent_system *sys, const struct proto_consec_rule *rule);
    /* Frees ctx. */
    void (*destroy)(struct agent_system *sys);
};

/* Destroys a system made by one of the constructors below. Accepts NULL. */
void agent_system_destroy(struct agent_system *sys);

/*
 * The simulated host over the capture bundle in `dir`: reads reg-rasman.txt and
 * netsh-consec.txt with proto's parsers, changes them as proto_whatif_apply_action does
 * (whatif.h) and writes them back atomically (temp file, fsync, rename) with proto's printers,
 * in the file's own encoding and line ends, exactly as `reg query` and `netsh advfirewall consec
 * show rule name=all verbose` would then print them; so the next `check --bundle` shows the
 * change. service_restart changes nothing. Test hooks from the environment:
 * RRASFLEET_SIM_FAIL_STEP=N makes the Nth changing call fail (before it changes anything);
 * RRASFLEET_SIM_CRASH_AFTER_STEP=N ends the process (exit status 75) right after the Nth
 * changing call took effect, as a power cut would. Caller destroys *out. PROTO_ENOTFOUND when dir
 * is not a folder.
 */
enum proto_rc agent_system_sim_open(const char *dir, struct agent_system **out);

#define AGENT_SIM_CRASH_STATUS 75

/*
 * The Windows host this agent runs on (system_win32.c; PROTO_EUNSUPPORTED on other builds), id
 * "win32:". read_snapshot is the live collection (agent_capture_live) with the same runner;
 * dword_* use the registry (allow_list.h, 64-bit view); rule_* run `netsh advfirewall consec`
 * through `runner` (borrowed, must outlive the system; NULL: the real netsh.exe of the system
 * folder) as netsh_rule.h describes, and rule_check refuses what netsh's add rule could not
 * re-create; service_restart stops and starts an allow-listed service through the service
 * control manager, waiting on the agent's clock within allow_list.h's limits (a service that
 * is not installed: PROTO_ENOTFOUND). Caller destroys *out.
 */
struct agent_netsh_runner;
enum proto_rc agent_system_win32_open(const struct agent_netsh_runner *runner,
                                      struct agent_system **out);

#endif
