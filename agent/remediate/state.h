/*
 * state: the remediation state folder (setting state_dir): the last profile serial applied per
 * host (no replay, no going back) and the apply journal (crash recovery). Both files are
 * replaced atomically (agent_os.h), so a crash leaves the old or the new content. The journal is
 * written BEFORE each step with that step's pre-state, so whatever a crash interrupted, undoing
 * every step it lists (restoring each pre-state, last first) is safe: restoring a pre-state that
 * was never changed changes nothing.
 *
 * Files: profile-serials (text, one "HOST SERIAL" line per host, LF) and apply-journal.json
 * ({"schema":"rrasfleet.journal/1","system","profile_id","serial","steps":[...]}).
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "rc.h"
#include "system.h"
#include "wire_profile.h"

#define AGENT_STATE_SERIAL_FILE "profile-serials"
#define AGENT_STATE_JOURNAL_FILE "apply-journal.json"
#define AGENT_STATE_JOURNAL_SCHEMA "rrasfleet.journal/1"
#define AGENT_STATE_MAX_HOSTS 1024u                /* lines of profile-serials */
#define AGENT_STATE_MAX_FILE_BYTES (1024u * 1024u) /* either file */

/* The last serial applied for `host` (case-insensitive) into *out, 0 when none. PROTO_EPARSE
 * for a damaged file (the caller refuses: it cannot tell a replay). */
enum proto_rc agent_state_last_serial(const char *state_dir, const char *host, uint64_t *out);

/* Records `serial` as host's last one (creating the folder and the file as needed). */
enum proto_rc agent_state_record_serial(const char *state_dir, const char *host, uint64_t serial);

/* One journalled step: the action and the state it found. */
struct agent_journal_step {
    enum proto_action_type action;
    bool done; /* false: started, maybe not finished */
    enum proto_dword_name dword;
    struct agent_dword_state dword_pre;
    char *rule_name;                  /* owned (ensure/remove) */
    struct agent_rule_state rule_pre; /* owned */
};

struct agent_journal {
    char system[AGENT_SYSTEM_ID_BYTES]; /* agent_system.id of the host it changed */
    char profile_id[37];
    uint64_t serial;
    struct agent_journal_step steps[PROTO_MAX_PROFILE_ACTIONS];
    size_t step_count;
};

/* Frees what the steps own and zeroes the journal. Accepts a zeroed journal. */
void agent_journal_clear(struct agent_journal *j);

/* Replaces the journal file with j. */
enum proto_rc agent_journal_write(const char *state_dir, const struct agent_journal *j);
/* Reads the journal into *j (caller clears it). PROTO_ENOTFOUND when there is none, PROTO_EPARSE
 * when it is damaged. */
enum proto_rc agent_journal_read(const char *state_dir, struct agent_journal *j);
/* Removes the journal (an apply finished or was recovered). */
enum proto_rc agent_journal_remove(const char *state_dir);

#endif
