/*
 * conn: SQLite result codes as enum proto_rc (see conn_int.h).
 */
#include "conn_int.h"

#include <sqlite3.h>

enum proto_rc col_store_rc(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return PROTO_OK;
    case SQLITE_NOMEM:
        return PROTO_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return PROTO_EUNAVAILABLE;
    case SQLITE_TOOBIG:
        return PROTO_ELIMIT;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        return PROTO_EINVAL;
    case SQLITE_NOTFOUND:
        return PROTO_ENOTFOUND;
    default:
        return PROTO_EIO;
    }
}
