/*
 * store_tokens: bearer tokens for the admin/dashboard API and the append-only audit table.
 *
 * A token reads "rft_<id: 12 hex>_<secret: 40 hex>"; only the id, a random 16-byte salt and
 * SHA-256(salt || secret) are stored, so the database never holds a usable secret. Verification
 * looks the id up on a read connection and compares the hash in constant time (an unknown id
 * still costs one hash). Writes (create, revoke, audit) go through the admin connection under
 * admin_mu, each a transaction of its own that also holds its audit row. Never logs a secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "digest.h"
#include "hex.h"
#include "json_text_int.h"
#include "store.h"
#include "store_int.h"

#define TOK_PREFIX "rft_"
#define TOK_ID_BYTES 6
#define TOK_SECRET_BYTES 20
#define TOK_SALT_BYTES 16
#define TOK_HASH_BYTES 32
#define TOK_ID_HEX (2 * TOK_ID_BYTES)
#define TOK_SECRET_HEX (2 * TOK_SECRET_BYTES)
#define TOK_TEXT_LEN (sizeof(TOK_PREFIX) - 1 + TOK_ID_HEX + 1 + TOK_SECRET_HEX)
#define TOK_NAME_MAX 127u
#define TOK_DETAIL_MAX 4096u /* {"name", "role"}: a name escaped at worst 6 bytes a byte */

const char *col_role_str(enum col_role role)
{
    switch (role) {
    case COL_ROLE_VIEWER:
        return "viewer";
    case COL_ROLE_OPERATOR:
        return "operator";
    case COL_ROLE_APPROVER:
        return "approver";
    case COL_ROLE_NONE:
    default:
        return "none";
    }
}

enum col_role col_role_from_str(const char *s)
{
    if (s == NULL) {
        return COL_ROLE_NONE;
    }
    for (int r = COL_ROLE_VIEWER; r <= COL_ROLE_APPROVER; r++) {
        if (strcmp(s, col_role_str((enum col_role)r)) == 0) {
            return (enum col_role)r;
        }
    }
    return COL_ROLE_NONE;
}

/* ---- crypto helpers ----------------------------------------------------------------------- */

static enum proto_rc tok_random(unsigned char *out, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return PROTO_EIO;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, out + got, len - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            close(fd);
            return PROTO_EIO;
        }
        got += (size_t)n;
    }
    close(fd);
    return PROTO_OK;
}

static bool tok_is_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

/* Equal without an early exit, so the time taken does not say where the first difference is. */
static bool tok_ct_equal(const unsigned char *a, const unsigned char *b, size_t len)
{
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < len; i++) {
        diff |= (unsigned char)(a[i] ^ b[i]);
    }
    return diff == 0;
}

static enum proto_rc tok_hash(const unsigned char salt[TOK_SALT_BYTES], const char *secret,
                              unsigned char out[TOK_HASH_BYTES])
{
    unsigned char in[TOK_SALT_BYTES + TOK_SECRET_HEX];
    memcpy(in, salt, TOK_SALT_BYTES);
    memcpy(in + TOK_SALT_BYTES, secret, TOK_SECRET_HEX);
    enum proto_rc result = proto_sha256(in, sizeof(in), out);
    memset(in, 0, sizeof(in));
    return result;
}

/* Splits "rft_<id>_<secret>"; false for anything else. */
static bool tok_parse(const char *token, char id[TOK_ID_HEX + 1], const char **secret)
{
    const size_t plen = sizeof(TOK_PREFIX) - 1;
    if (token == NULL || strnlen(token, TOK_TEXT_LEN + 1) != TOK_TEXT_LEN ||
        strncmp(token, TOK_PREFIX, plen) != 0 || token[plen + TOK_ID_HEX] != '_' ||
        !tok_is_hex(token + plen, TOK_ID_HEX) ||
        !tok_is_hex(token + plen + TOK_ID_HEX + 1, TOK_SECRET_HEX)) {
        return false;
    }
    memcpy(id, token + plen, TOK_ID_HEX);
    id[TOK_ID_HEX] = '\0';
    *secret = token + plen + TOK_ID_HEX + 1;
    return true;
}

/* ---- admin connection --------------------------------------------------------------------- */

static enum proto_rc tok_audit_insert(sqlite3 *db, const char *actor, const char *action,
                                      const char *target, const char *detail)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_AUDIT_INSERT, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, col_store_now());
        sqlite3_bind_text(stmt, 2, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, detail, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(stmt);
    enum proto_rc result = col_store_rc(rc);
    return rc != SQLITE_OK && !result ? PROTO_EIO : result;
}

static bool tok_text_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

enum proto_rc col_store_audit(struct col_store *st, const char *actor, const char *action,
                              const char *target, const char *detail)
{
    if (st == NULL || !tok_text_ok(actor, PROTO_MAX_NAME) || !tok_text_ok(action, PROTO_MAX_NAME) ||
        (target != NULL && strlen(target) > PROTO_MAX_NAME) ||
        (detail != NULL && strlen(detail) > PROTO_MAX_STRING)) {
        return PROTO_EINVAL;
    }
    pthread_mutex_lock(&st->admin_mu);
    enum proto_rc result = tok_audit_insert(st->adb, actor, action, target, detail);
    pthread_mutex_unlock(&st->admin_mu);
    return result;
}

/* An SQLite result as ours: any failure the store's mapping lets through is an I/O error. */
static enum proto_rc tok_result(int rc)
{
    enum proto_rc result = col_store_rc(rc);
    return rc != SQLITE_OK && !result ? PROTO_EIO : result;
}

static enum proto_rc tok_exec(sqlite3 *db, const char *sql)
{
    return tok_result(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* BEGIN IMMEDIATE on the admin connection, announced to the writer (store_int.h). */
static enum proto_rc tok_begin(struct col_store *st)
{
    return tok_result(col_store_begin_other(st, st->adb));
}

/* Commits, or rolls back when `result` already failed or the commit does. */
static enum proto_rc tok_finish(sqlite3 *db, enum proto_rc result)
{
    if (!result) {
        result = tok_exec(db, COL_SQL_COMMIT);
    }
    if (result && !sqlite3_get_autocommit(db)) {
        tok_exec(db, COL_SQL_ROLLBACK);
    }
    return result;
}

static enum proto_rc tok_insert(sqlite3 *db, const char *id, const char *name, enum col_role role,
                                const unsigned char *salt, const unsigned char *hash,
                                const char *actor)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_TOKEN_INSERT, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, col_role_str(role), -1, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 4, salt, TOK_SALT_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 5, hash, TOK_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, col_store_now());
        sqlite3_bind_text(stmt, 7, actor, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(stmt);
    enum proto_rc result = col_store_rc(rc);
    return rc != SQLITE_OK && !result ? PROTO_EIO : result;
}

/* The audit detail: {"name": ..., "role": ...}; caller frees with proto_free. NULL on
 * allocation failure. */
static char *tok_detail(const char *name, enum col_role role)
{
    struct proto_buf b;
    char *text = NULL;
    proto_buf_init(&b, TOK_DETAIL_MAX);
    enum proto_rc result = proto_buf_append_str(&b, "{\"name\":");
    if (!result) {
        result = col_store_json_string(&b, name);
    }
    if (!result) {
        result = proto_buf_append_str(&b, ",\"role\":");
    }
    if (!result) {
        result = col_store_json_string(&b, col_role_str(role));
    }
    if (!result) {
        result = proto_buf_append_byte(&b, '}');
    }
    if (!result) {
        text = proto_buf_detach(&b, NULL);
    }
    proto_buf_free(&b);
    return text;
}

enum proto_rc col_store_token_create(struct col_store *st, enum col_role role, const char *name,
                                     const char *actor, char token_out[COL_TOKEN_MAX],
                                     char id_out[32])
{
    enum proto_rc result = PROTO_OK;
    unsigned char raw[TOK_ID_BYTES + TOK_SECRET_BYTES + TOK_SALT_BYTES];
    unsigned char hash[TOK_HASH_BYTES];
    char id[TOK_ID_HEX + 1];
    char secret[TOK_SECRET_HEX + 1];
    char *detail = NULL;
    if (st == NULL || token_out == NULL || role < COL_ROLE_VIEWER || role > COL_ROLE_APPROVER ||
        !tok_text_ok(name, TOK_NAME_MAX) || !tok_text_ok(actor, PROTO_MAX_NAME)) {
        return PROTO_EINVAL;
    }
    token_out[0] = '\0';
    result = tok_random(raw, sizeof(raw));
    if (result) {
        goto out;
    }
    const unsigned char *salt = raw + TOK_ID_BYTES + TOK_SECRET_BYTES;
    proto_hex_encode(raw, TOK_ID_BYTES, false, id);
    proto_hex_encode(raw + TOK_ID_BYTES, TOK_SECRET_BYTES, false, secret);
    result = tok_hash(salt, secret, hash);
    if (result) {
        goto out;
    }
    detail = tok_detail(name, role);
    if (detail == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&st->admin_mu);
    result = tok_begin(st);
    if (!result) {
        result = tok_insert(st->adb, id, name, role, salt, hash, actor);
        if (!result) {
            result = tok_audit_insert(st->adb, actor, "token.create", id, detail);
        }
        result = tok_finish(st->adb, result);
    }
    pthread_mutex_unlock(&st->admin_mu);
    if (result) {
        goto out;
    }
    int n = snprintf(token_out, COL_TOKEN_MAX, TOK_PREFIX "%s_%s", id, secret);
    if (n < 0 || (size_t)n >= COL_TOKEN_MAX) {
        result = PROTO_ELIMIT; /* cannot happen: COL_TOKEN_MAX > TOK_TEXT_LEN */
        goto out;
    }
    if (id_out != NULL) {
        memcpy(id_out, id, sizeof(id));
    }
out:
    proto_free(detail);
    memset(secret, 0, sizeof(secret));
    memset(raw, 0, sizeof(raw));
    return result;
}

enum proto_rc col_store_token_verify(struct col_store *st, const char *token, enum col_role *role,
                                     char name[128])
{
    static const unsigned char dummy_salt[TOK_SALT_BYTES] = {0};
    char id[TOK_ID_HEX + 1];
    const char *secret = NULL;
    unsigned char salt[TOK_SALT_BYTES];
    unsigned char stored[TOK_HASH_BYTES];
    unsigned char computed[TOK_HASH_BYTES];
    char found_name[TOK_NAME_MAX + 1] = "";
    enum col_role found_role = COL_ROLE_NONE;
    bool usable = false;
    if (st == NULL) {
        return PROTO_EINVAL;
    }
    if (role != NULL) {
        *role = COL_ROLE_NONE;
    }
    if (name != NULL) {
        name[0] = '\0';
    }
    if (!tok_parse(token, id, &secret)) {
        return PROTO_ENOTFOUND;
    }
    memcpy(salt, dummy_salt, sizeof(salt));
    memset(stored, 0, sizeof(stored));

    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_TOKEN_LOOKUP, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 2) == TOK_SALT_BYTES &&
        sqlite3_column_bytes(stmt, 3) == TOK_HASH_BYTES) {
        const char *n = (const char *)sqlite3_column_text(stmt, 0);
        found_role = col_role_from_str((const char *)sqlite3_column_text(stmt, 1));
        memcpy(salt, sqlite3_column_blob(stmt, 2), TOK_SALT_BYTES);
        memcpy(stored, sqlite3_column_blob(stmt, 3), TOK_HASH_BYTES);
        usable = sqlite3_column_type(stmt, 4) == SQLITE_NULL && found_role != COL_ROLE_NONE;
        snprintf(found_name, sizeof(found_name), "%s", n != NULL ? n : "");
    }
    sqlite3_finalize(stmt);
    col_store_reader_release(st, db);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        enum proto_rc result = col_store_rc(rc);
        return result ? result : PROTO_EIO;
    }

    /* Hash even for an unknown or revoked id, so timing does not tell ids apart. */
    if (tok_hash(salt, secret, computed) != PROTO_OK) {
        return PROTO_ECRYPTO;
    }
    bool match = tok_ct_equal(computed, stored, sizeof(computed));
    if (!usable || !match) {
        return PROTO_ENOTFOUND;
    }
    if (role != NULL) {
        *role = found_role;
    }
    if (name != NULL) {
        snprintf(name, 128, "%s", found_name);
    }
    return PROTO_OK;
}

static const struct col_column tok_list_cols[] = {
    {"id", COL_CELL_TEXT},         {"name", COL_CELL_TEXT},       {"role", COL_CELL_TEXT},
    {"created_at", COL_CELL_TIME}, {"created_by", COL_CELL_TEXT}, {"revoked_at", COL_CELL_TIME},
};

enum proto_rc col_store_token_list(struct col_store *st, struct col_table **out)
{
    if (st == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    const size_t ncols = sizeof(tok_list_cols) / sizeof(tok_list_cols[0]);
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    int rc = sqlite3_prepare_v2(db, COL_SQL_TOKEN_LIST, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        result = col_store_table_from_stmt(stmt, tok_list_cols, ncols, ncols, out);
    } else {
        result = col_store_rc(rc);
        result = result ? result : PROTO_EIO;
    }
    sqlite3_finalize(stmt);
    col_store_reader_release(st, db);
    return result;
}

static enum proto_rc tok_revoke(sqlite3 *db, const char *id)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_TOKEN_REVOKE, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, col_store_now());
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK) {
        enum proto_rc result = col_store_rc(rc);
        return result ? result : PROTO_EIO;
    }
    return sqlite3_changes(db) == 0 ? PROTO_ENOTFOUND : PROTO_OK;
}

enum proto_rc col_store_token_revoke(struct col_store *st, const char *id, const char *actor)
{
    if (st == NULL || !tok_text_ok(actor, PROTO_MAX_NAME)) {
        return PROTO_EINVAL;
    }
    if (id == NULL || strnlen(id, TOK_ID_HEX + 1) != TOK_ID_HEX || !tok_is_hex(id, TOK_ID_HEX)) {
        return PROTO_ENOTFOUND;
    }
    pthread_mutex_lock(&st->admin_mu);
    enum proto_rc result = tok_begin(st);
    if (!result) {
        result = tok_revoke(st->adb, id);
        if (!result) {
            result = tok_audit_insert(st->adb, actor, "token.revoke", id, NULL);
        }
        result = tok_finish(st->adb, result);
    }
    pthread_mutex_unlock(&st->admin_mu);
    return result;
}
