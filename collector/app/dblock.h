/*
 * dblock: the lock file that keeps a second collector off a database (decision 016).
 *
 * `serve` takes an exclusive POSIX record lock on "<db>.lock" (mode 0600, made if missing)
 * before it opens the store, writes its PID into the file for people, and holds both until it
 * exits; the kernel releases the lock when the process ends, however it ends. Only serve takes
 * it: the local commands (`token create --db`) may run beside a serving collector, as SQLite
 * allows. It owns the lock's descriptor; it never deletes the file (a deleted lock file lets two
 * processes lock two different files of one name).
 */
#ifndef COL_DBLOCK_H
#define COL_DBLOCK_H

#include <stddef.h>

#include "rc.h"

struct col_dblock;

/* PROTO_OK with *out (release with col_dblock_release). PROTO_EUNAVAILABLE when another process
 * holds the lock: `err` names its PID. PROTO_EIO when the file cannot be made or locked. */
enum proto_rc col_dblock_take(const char *db_path, struct col_dblock **out, char *err,
                              size_t err_size);
void col_dblock_release(struct col_dblock *lock); /* accepts NULL */

#endif
