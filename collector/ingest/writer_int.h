/*
 * writer_int: counters and state of the writer for tests and diagnostics, outside the public
 * writer.h. Owns nothing; reads them under the writer's mutex.
 */
#ifndef COL_WRITER_INT_H
#define COL_WRITER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "writer.h"

/* Transactions committed so far (each holds one batch of one or more jobs). */
uint64_t col_writer_transactions(struct col_writer *w);
/* Jobs completed so far, whatever their result. */
uint64_t col_writer_jobs(struct col_writer *w);
/* Reports ingested by their own submitter into a batch the writer kept open (writer.c). */
uint64_t col_writer_combined(struct col_writer *w);
/* True once col_writer_destroy has begun: submissions are refused from then on. */
bool col_writer_stopping(struct col_writer *w);

#endif
