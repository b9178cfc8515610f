/*
 * events: one event thread that holds the idle keep-alive connections of the agent listener and
 * serves the report requests that arrive whole on them, so that a steady stream of reports on
 * kept-alive connections wakes neither their connection threads nor one thread per report
 * (decision 008, docs/internals/collector.md).
 *
 * A connection thread that has answered its second (COL_CONN_PARK_AFTER) or a later request on a
 * kept-alive agent connection parks the connection here (col_events_park) and sleeps until the
 * event thread hands it back. The event thread waits on every parked socket with one epoll. When
 * a request arrives whole in the connection's read buffer and the server's non-blocking `begin`
 * takes it (POST /v1/reports), the event thread starts it, writes the answer once the writer's
 * commit has completed it, and keeps the connection parked. Everything else goes back to the
 * connection's own thread, which handles it as it handles any request: another endpoint, a
 * malformed head, a body that does not fit the buffer, a request still incomplete at its
 * deadline, an answer the socket cannot take at once, the peer closing, the idle timeout and the
 * stop. It owns its epoll and wake descriptors and its thread; it borrows parked connections
 * (conn.h), never closes their sockets and never blocks on one. It knows nothing of the server
 * or the pool: only the config and the connections.
 */
#ifndef COL_EVENTS_H
#define COL_EVENTS_H

#include <stdint.h>

#include "conn.h"
#include "server_config.h"

struct col_events;

/* Starts the event thread, which reads cfg (borrowed; must outlive it): the timeouts, `begin`,
 * `finish` and their handler_ctx, the metrics. NULL on failure (no epoll, no thread): the server
 * then runs without it. */
struct col_events *col_events_create(const struct col_server_config *cfg);
/* From now on nothing is parked: idle connections go back (CLOSE_NOTIFY), partly received
 * requests go back (DATA), pending answers are written with Connection: close when their commit
 * ends. Accepts NULL. */
void col_events_stop(struct col_events *ev);
/* Joins the thread and frees. Only once no connection is parked (every connection thread has
 * ended). Accepts NULL. */
void col_events_destroy(struct col_events *ev);

/*
 * Called by c's thread after it answered a request and kept the connection (c->rlen == 0, no
 * TLS bytes pending): hands c to the event thread and sleeps until it comes back. Returns why.
 * The event thread decodes whatever report it takes, a new snapshot's full decode and diagnosis
 * included (~0.4 ms): handing those back to run on connection threads in parallel was measured
 * slower (decision 008).
 */
enum col_conn_park_outcome col_events_park(struct col_events *ev, struct col_conn *c);

/* Connections handed back with `outcome` so far (for tests and diagnostics); 0 for NULL. */
uint64_t col_events_handed_back(struct col_events *ev, enum col_conn_park_outcome outcome);
/* Requests whose first bytes the event thread has read so far (tests, diagnostics): once it
 * has counted one, that request's deadline runs from the time it was read. 0 for NULL. */
uint64_t col_events_requests_seen(struct col_events *ev);

#endif
