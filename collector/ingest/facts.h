/*
 * facts: what the store needs derived from a report before writing it (decision 005): where the
 * snapshot's bytes are, their SHA-256, and a digest of the diagnosis. Pure computation, so
 * connection threads compute it in parallel and the writer thread only writes. Owns the
 * re-printed snapshot when the body's own bytes could not be located (release frees it).
 */
#ifndef COL_FACTS_H
#define COL_FACTS_H

#include <stddef.h>

#include "diagnose.h"
#include "store.h"

/* Any thread. Fills *out (release it after the ingest); PROTO_ENOMEM, or PROTO_EINVAL when the
 * body holds no snapshot object. */
enum proto_rc col_ingest_facts_compute(const struct col_ingest *in, struct col_ingest_facts *out);
void col_ingest_facts_release(struct col_ingest_facts *facts); /* accepts NULL */
/* The snapshot half alone, for bytes body[off, off + len) already located and checked to be an
 * object; diagnosis_hash is left empty for the caller. Any thread. */
void col_ingest_facts_of_span(const char *body, size_t off, size_t len,
                              struct col_ingest_facts *out);
/* Completes facts from col_ingest_facts_of_span with the diagnosis digest. Any thread. */
void col_ingest_facts_add_diagnosis(const struct proto_diagnosis *diagnosis,
                                    struct col_ingest_facts *facts);

#endif
