/*
 * ticket_keys: persisted session-ticket keys for the agent listener (see ticket_keys.h).
 *
 * mbedTLS 2.28 keeps two keys and rotates on its own when the active one is as old as the
 * ticket lifetime, drawing a key nobody can read back. To keep the file in step, this module
 * rotates first: before each ticket write or parse it checks the active key's age under the
 * ticket context's own mutex, and from COL_TICKET_KEYS_ROTATE_EARLY_S seconds before that point
 * it makes the next key itself, writes the file and installs the key. The previous key stays in
 * the other slot, so tickets issued up to one lifetime ago still open.
 */
#include "ticket_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/threading.h>

#include "alloc.h"
#include "clock.h"
#include "metrics.h"

#define TK_MAGIC "RRTK"
#define TK_VERSION 2
#define TK_NAME_BYTES 4
#define TK_KEY_BYTES 32
#define TK_SLOT_BYTES (TK_NAME_BYTES + 4 + TK_KEY_BYTES)
#define TK_PATH_MAX 1024

#if 6 + COL_TICKET_KEYS_BINDING_LEN + 2 * TK_SLOT_BYTES != COL_TICKET_KEYS_FILE_BYTES
#error "ticket key file layout and COL_TICKET_KEYS_FILE_BYTES disagree"
#endif

struct tk_slot {
    unsigned char name[TK_NAME_BYTES];
    uint32_t generation_time;
    unsigned char key[TK_KEY_BYTES];
};

struct col_ticket_keys {
    mbedtls_ssl_ticket_context *ticket;
    mbedtls_ctr_drbg_context *drbg;
    char path[TK_PATH_MAX];
    struct tk_slot slots[2]; /* mirror of what is installed, for the file */
    unsigned char binding[COL_TICKET_KEYS_BINDING_LEN];
    unsigned char active;
    bool saved;
    uint32_t last_save_try; /* when a failed save was last tried */
};

static void tk_errf(char *err, size_t size, const char *path, const char *what, int errnum)
{
    if (err == NULL || size == 0) {
        return;
    }
    int n = errnum != 0
                ? snprintf(err, size, "ticket_key_file %s: %s: %s", path, what, strerror(errnum))
                : snprintf(err, size, "ticket_key_file %s: %s", path, what);
    if (n < 0) {
        err[0] = '\0';
    }
}

static void tk_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t tk_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void tk_encode(const struct col_ticket_keys *k,
                      unsigned char out[COL_TICKET_KEYS_FILE_BYTES])
{
    memcpy(out, TK_MAGIC, 4);
    out[4] = TK_VERSION;
    out[5] = k->active;
    memcpy(out + 6, k->binding, COL_TICKET_KEYS_BINDING_LEN);
    for (int i = 0; i < 2; i++) {
        unsigned char *p = out + 6 + COL_TICKET_KEYS_BINDING_LEN + i * TK_SLOT_BYTES;
        memcpy(p, k->slots[i].name, TK_NAME_BYTES);
        tk_put32(p + TK_NAME_BYTES, k->slots[i].generation_time);
        memcpy(p + TK_NAME_BYTES + 4, k->slots[i].key, TK_KEY_BYTES);
    }
}

/* Decodes the file into k; *bound is false when it was saved under another binding (its keys
 * are then not to be used). */
static bool tk_decode(struct col_ticket_keys *k, const unsigned char in[COL_TICKET_KEYS_FILE_BYTES],
                      bool *bound)
{
    if (memcmp(in, TK_MAGIC, 4) != 0 || in[4] != TK_VERSION || in[5] > 1) {
        return false;
    }
    *bound = memcmp(in + 6, k->binding, COL_TICKET_KEYS_BINDING_LEN) == 0;
    k->active = in[5];
    for (int i = 0; i < 2; i++) {
        const unsigned char *p = in + 6 + COL_TICKET_KEYS_BINDING_LEN + i * TK_SLOT_BYTES;
        memcpy(k->slots[i].name, p, TK_NAME_BYTES);
        k->slots[i].generation_time = tk_get32(p + TK_NAME_BYTES);
        memcpy(k->slots[i].key, p + TK_NAME_BYTES + 4, TK_KEY_BYTES);
    }
    /* Two slots with one name would make a ticket's key ambiguous. */
    return memcmp(k->slots[0].name, k->slots[1].name, TK_NAME_BYTES) != 0;
}

/* Writes the file atomically: a private temporary file with a unique name (mkstemp: mode 0600,
 * never an existing file or link), fsync, rename over the old one, fsync of the directory. */
static enum proto_rc tk_save(struct col_ticket_keys *k, char *err, size_t err_size)
{
    char tmp[TK_PATH_MAX + 16];
    char dir[TK_PATH_MAX];
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES];
    int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", k->path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        tk_errf(err, err_size, k->path, "path too long", 0);
        return PROTO_ELIMIT;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        tk_errf(err, err_size, k->path, "cannot create a temporary file beside it", errno);
        return PROTO_EIO;
    }
    tk_encode(k, bytes);
    ssize_t wrote = write(fd, bytes, sizeof(bytes));
    int saved_errno = wrote < 0 ? errno : EIO; /* a short write sets no errno */
    mbedtls_platform_zeroize(bytes, sizeof(bytes));
    bool ok = wrote == (ssize_t)sizeof(bytes);
    if (ok && fsync(fd) != 0) {
        ok = false;
        saved_errno = errno;
    }
    if (close(fd) != 0 && ok) {
        ok = false;
        saved_errno = errno;
    }
    if (ok && rename(tmp, k->path) != 0) {
        ok = false;
        saved_errno = errno;
    }
    if (!ok) {
        (void)unlink(tmp);
        tk_errf(err, err_size, k->path, "cannot write", saved_errno);
        return PROTO_EIO;
    }
    /* The rename must survive a crash too. */
    const char *slash = strrchr(k->path, '/');
    n = slash == NULL ? snprintf(dir, sizeof(dir), ".")
                      : snprintf(dir, sizeof(dir), "%.*s",
                                 (int)(slash == k->path ? 1 : slash - k->path), k->path);
    if (n > 0 && (size_t)n < sizeof(dir)) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            (void)close(dfd);
        }
    }
    return PROTO_OK;
}

/* Reads the file; PROTO_ENOTFOUND when there is none or it was bound to something else. */
static enum proto_rc tk_load(struct col_ticket_keys *k, char *err, size_t err_size)
{
    int fd = open(k->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return PROTO_ENOTFOUND;
        }
        tk_errf(err, err_size, k->path, "cannot open", errno);
        return PROTO_EIO;
    }
    enum proto_rc result = PROTO_OK;
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 1];
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        tk_errf(err, err_size, k->path, "cannot stat", errno);
        result = PROTO_EIO;
    } else if (!S_ISREG(sb.st_mode)) {
        tk_errf(err, err_size, k->path, "not a regular file", 0);
        result = PROTO_EINVAL;
    } else if ((sb.st_mode & 077) != 0 || sb.st_uid != geteuid()) {
        /* Whoever reads these keys can forge tickets, i.e. resume as any agent. */
        tk_errf(err, err_size, k->path,
                "must be owned by the collector's user and readable by it alone (chmod 600)", 0);
        result = PROTO_EINVAL;
    } else {
        ssize_t got = read(fd, bytes, sizeof(bytes));
        bool bound = false;
        if (got != COL_TICKET_KEYS_FILE_BYTES || !tk_decode(k, bytes, &bound)) {
            tk_errf(err, err_size, k->path,
                    "not a ticket key file of this version (delete it: new keys are made)", 0);
            result = PROTO_EPARSE;
        } else if (!bound) {
            /* The client CAs changed: sessions made under the old ones must not resume. */
            mbedtls_platform_zeroize(k->slots, sizeof(k->slots));
            result = PROTO_ENOTFOUND;
        }
    }
    mbedtls_platform_zeroize(bytes, sizeof(bytes));
    (void)close(fd);
    return result;
}

static enum proto_rc tk_new_slot(struct col_ticket_keys *k, int index, uint32_t now)
{
    struct tk_slot *s = &k->slots[index];
    const struct tk_slot *other = &k->slots[1 - index];
    do {
        if (mbedtls_ctr_drbg_random(k->drbg, s->name, sizeof(s->name)) != 0) {
            return PROTO_ECRYPTO;
        }
    } while (memcmp(s->name, other->name, TK_NAME_BYTES) == 0);
    if (mbedtls_ctr_drbg_random(k->drbg, s->key, sizeof(s->key)) != 0) {
        return PROTO_ECRYPTO;
    }
    s->generation_time = now;
    return PROTO_OK;
}

/* Copies the mirror into mbedTLS's context (its mutex held by the caller, or not yet shared). */
static enum proto_rc tk_install(struct col_ticket_keys *k)
{
    for (int i = 0; i < 2; i++) {
        mbedtls_ssl_ticket_key *key = &k->ticket->keys[i];
        memcpy(key->name, k->slots[i].name, TK_NAME_BYTES);
        key->generation_time = k->slots[i].generation_time;
        if (mbedtls_cipher_get_key_bitlen(&key->ctx) != TK_KEY_BYTES * 8 ||
            mbedtls_cipher_setkey(&key->ctx, k->slots[i].key, TK_KEY_BYTES * 8, MBEDTLS_ENCRYPT) !=
                0) {
            return PROTO_ECRYPTO;
        }
    }
    k->ticket->active = k->active;
    return PROTO_OK;
}

/* The collector's wall clock (clock.h). */
static uint32_t tk_now(void)
{
    return (uint32_t)col_clock_now_s();
}

/* Whether the active key is at or near the end of its period, or from well in the future (the
 * clock went back, so its age cannot be trusted). */
static bool tk_due(const struct col_ticket_keys *k, uint32_t now)
{
    uint32_t born = k->slots[k->active].generation_time;
    uint32_t lifetime = k->ticket->ticket_lifetime;
    if (now < born) {
        return born - now > COL_TICKET_KEYS_FUTURE_SLACK_S;
    }
    return now - born >= lifetime - COL_TICKET_KEYS_ROTATE_EARLY_S;
}

/* Whether mbedTLS rotated on its own after all (it checks the clock again after us): its active
 * slot or key name is not ours. */
static bool tk_diverged(const struct col_ticket_keys *k)
{
    const mbedtls_ssl_ticket_context *t = k->ticket;
    return t->active != k->active ||
           memcmp(t->keys[t->active].name, k->slots[k->active].name, TK_NAME_BYTES) != 0;
}

enum proto_rc col_ticket_keys_create(mbedtls_ssl_ticket_context *ticket, const char *path,
                                     const unsigned char binding[COL_TICKET_KEYS_BINDING_LEN],
                                     mbedtls_ctr_drbg_context *drbg, struct col_ticket_keys **out,
                                     char *err, size_t err_size)
{
    *out = NULL;
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (ticket == NULL || drbg == NULL || path == NULL || path[0] == '\0' || binding == NULL) {
        return PROTO_EINVAL;
    }
    if (ticket->ticket_lifetime <= 2 * COL_TICKET_KEYS_ROTATE_EARLY_S) {
        tk_errf(err, err_size, path, "the session lifetime is too short to rotate keys", 0);
        return PROTO_EINVAL;
    }
    if (strlen(path) >= TK_PATH_MAX) {
        tk_errf(err, err_size, "(too long)", "path too long", 0);
        return PROTO_ELIMIT;
    }
    struct col_ticket_keys *k = proto_calloc(1, sizeof(*k));
    if (k == NULL) {
        return PROTO_ENOMEM;
    }
    k->ticket = ticket;
    k->drbg = drbg;
    memcpy(k->binding, binding, COL_TICKET_KEYS_BINDING_LEN);
    memcpy(k->path, path, strlen(path) + 1);
    enum proto_rc result = tk_load(k, err, err_size);
    if (result == PROTO_ENOTFOUND) {
        uint32_t now = tk_now();
        k->active = 0;
        result = tk_new_slot(k, 0, now);
        if (!result) {
            result = tk_new_slot(k, 1, now);
        }
        if (!result) {
            result = tk_save(k, err, err_size);
        }
    }
    if (!result) {
        result = tk_install(k);
    }
    if (result) {
        col_ticket_keys_destroy(k);
        return result;
    }
    k->saved = true;
    *out = k;
    return PROTO_OK;
}

enum proto_rc col_ticket_keys_refresh(struct col_ticket_keys *k)
{
    if (k == NULL) {
        return PROTO_EINVAL;
    }
    if (mbedtls_mutex_lock(&k->ticket->mutex) != 0) {
        return PROTO_EIO;
    }
    /* The time is read under the lock: a thread that read it before another rotated would see
     * the new key as born in the future and throw away the previous one. */
    uint32_t now = tk_now();
    enum proto_rc result = PROTO_OK;
    bool diverged = tk_diverged(k);
    bool rotated = false;
    if (diverged || tk_due(k, now)) {
        /* After mbedTLS's own rotation its new key (which no file can hold) is in its active
         * slot and ours is in the other: replace its key there, keep ours as the previous. */
        int next = diverged ? k->ticket->active : 1 - k->active;
        result = tk_new_slot(k, next, now);
        if (!result) {
            k->active = (unsigned char)next;
            result = tk_install(k);
        }
        if (!result) {
            k->saved = false;
            rotated = true;
        }
    }
    if (!result && !k->saved && (rotated || now - k->last_save_try >= COL_TICKET_KEYS_RETRY_S)) {
        /* The new keys are in use either way; without the file they just end at a restart. */
        k->last_save_try = now;
        result = tk_save(k, NULL, 0);
        k->saved = result == PROTO_OK;
        if (!k->saved) {
            col_metrics_ticket_key_save_failed();
        }
    }
    (void)mbedtls_mutex_unlock(&k->ticket->mutex);
    return result;
}

bool col_ticket_keys_saved(struct col_ticket_keys *k)
{
    if (k == NULL || mbedtls_mutex_lock(&k->ticket->mutex) != 0) {
        return false;
    }
    bool saved = k->saved;
    (void)mbedtls_mutex_unlock(&k->ticket->mutex);
    return saved;
}

void col_ticket_keys_destroy(struct col_ticket_keys *k)
{
    if (k == NULL) {
        return;
    }
    mbedtls_platform_zeroize(k->slots, sizeof(k->slots));
    proto_free(k);
}
