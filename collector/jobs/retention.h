/*
 * retention: a background thread that deletes reports (raw bodies included) older than the
 * configured retention, once at start and then every hour. Latest state, findings, history
 * and audit are kept. Owns only its thread; the store does the deleting.
 */
#ifndef COL_RETENTION_H
#define COL_RETENTION_H

#include "store.h"

struct col_retention;

/* days == 0 disables pruning (returns PROTO_OK with *out NULL). */
enum proto_rc col_retention_start(struct col_store *st, unsigned long days,
                                  struct col_retention **out);
void col_retention_stop(struct col_retention *r); /* accepts NULL; joins the thread */

#endif
