/*
 * agent_events: the table of event ids, levels and the symbolic names agent/cli/rrasfleet-events.mc
 * gives them (agent_events.h says why they must agree).
 */
#include "agent_events.h"

struct event_row {
    enum agent_event id;
    enum agent_event_level level;
    const char *name;
};

static const struct event_row event_rows[] = {
    {AGENT_EVENT_STARTED, AGENT_EVENT_INFO, "RRAS_EVENT_STARTED"},
    {AGENT_EVENT_STOPPED, AGENT_EVENT_INFO, "RRAS_EVENT_STOPPED"},
    {AGENT_EVENT_CONFIG_ERROR, AGENT_EVENT_ERROR, "RRAS_EVENT_CONFIG_ERROR"},
    {AGENT_EVENT_FINDINGS_CHANGED, AGENT_EVENT_WARNING, "RRAS_EVENT_FINDINGS_CHANGED"},
    {AGENT_EVENT_COLLECT_FAILED, AGENT_EVENT_ERROR, "RRAS_EVENT_COLLECT_FAILED"},
    {AGENT_EVENT_COLLECTOR_UNREACHABLE, AGENT_EVENT_WARNING, "RRAS_EVENT_COLLECTOR_UNREACHABLE"},
    {AGENT_EVENT_COLLECTOR_RECOVERED, AGENT_EVENT_INFO, "RRAS_EVENT_COLLECTOR_RECOVERED"},
    {AGENT_EVENT_SPOOL_DROPPED, AGENT_EVENT_WARNING, "RRAS_EVENT_SPOOL_DROPPED"},
    {AGENT_EVENT_PROFILE_RECEIVED, AGENT_EVENT_INFO, "RRAS_EVENT_PROFILE_RECEIVED"},
    {AGENT_EVENT_PROFILE_APPLIED, AGENT_EVENT_INFO, "RRAS_EVENT_PROFILE_APPLIED"},
    {AGENT_EVENT_PROFILE_REFUSED, AGENT_EVENT_WARNING, "RRAS_EVENT_PROFILE_REFUSED"},
    {AGENT_EVENT_PROFILE_ROLLED_BACK, AGENT_EVENT_ERROR, "RRAS_EVENT_PROFILE_ROLLED_BACK"},
};

#define EVENT_ROW_COUNT (sizeof(event_rows) / sizeof(event_rows[0]))

static const struct event_row *event_find(enum agent_event id)
{
    for (size_t i = 0; i < EVENT_ROW_COUNT; i++) {
        if (event_rows[i].id == id) {
            return &event_rows[i];
        }
    }
    return NULL;
}

size_t agent_event_count(void)
{
    return EVENT_ROW_COUNT;
}

enum agent_event agent_event_at(size_t i)
{
    return event_rows[i < EVENT_ROW_COUNT ? i : 0].id;
}

enum agent_event_level agent_event_level(enum agent_event id)
{
    const struct event_row *row = event_find(id);
    return row != NULL ? row->level : AGENT_EVENT_ERROR;
}

const char *agent_event_name(enum agent_event id)
{
    const struct event_row *row = event_find(id);
    return row != NULL ? row->name : NULL;
}
