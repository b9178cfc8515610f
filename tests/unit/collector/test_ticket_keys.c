/*
 * test_ticket_keys: the agent listener's session-ticket keys survive a restart (a ticket made
 * before opens after), rotate before mbedTLS would with the file following, and a key file that
 * others may read, or that is malformed, is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>

#include "metrics.h"
#include "testutil.h"
#include "ticket_keys.h"

#define LIFETIME 200u
#define SLOT0                                                                                      \
    (6 +                                                                                           \
     COL_TICKET_KEYS_BINDING_LEN) /* file offset of slot 0; slots are 40 bytes */ /* seconds:      \
                                                                                     rotation is   \
                                                                                     due from      \
                                                                                     LIFETIME -    \
                                                                                     ROTATE_EARLY  \
                                                                                     = 140 s on */

struct fx {
    char dir[64];
    char path[128];
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_ticket_keys-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/fleet.db-tickets", f->dir);
    mbedtls_entropy_init(&f->entropy);
    mbedtls_ctr_drbg_init(&f->drbg);
    assert_int_equal(mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy, NULL, 0),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mbedtls_ctr_drbg_free(&f->drbg);
    mbedtls_entropy_free(&f->entropy);
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

/* One "collector start": a ticket context set up as tls.c does, with the keys from the file. */
struct side {
    mbedtls_ssl_ticket_context ticket;
    struct col_ticket_keys *keys;
};

/* Digests of two client CA bundles. */
static const unsigned char binding_a[COL_TICKET_KEYS_BINDING_LEN] = {0xaa, 1, 2, 3};
static const unsigned char binding_b[COL_TICKET_KEYS_BINDING_LEN] = {0xbb, 1, 2, 3};

static enum proto_rc side_start_bound(struct fx *f, struct side *s, const char *path,
                                      const unsigned char *binding)
{
    mbedtls_ssl_ticket_init(&s->ticket);
    assert_int_equal(mbedtls_ssl_ticket_setup(&s->ticket, mbedtls_ctr_drbg_random, &f->drbg,
                                              MBEDTLS_CIPHER_AES_256_GCM, LIFETIME),
                     0);
    char err[256] = "";
    s->keys = NULL;
    enum proto_rc rc =
        col_ticket_keys_create(&s->ticket, path, binding, &f->drbg, &s->keys, err, sizeof(err));
    if (rc != PROTO_OK) {
        print_message("refused: %s\n", err);
        assert_null(s->keys);
        assert_true(strstr(err, "ticket_key_file") != NULL);
    }
    return rc;
}

static enum proto_rc side_start(struct fx *f, struct side *s, const char *path)
{
    return side_start_bound(f, s, path, binding_a);
}

static void side_stop(struct side *s)
{
    col_ticket_keys_destroy(s->keys);
    mbedtls_ssl_ticket_free(&s->ticket);
}

static void make_session(mbedtls_ssl_session *session, unsigned char fill)
{
    mbedtls_ssl_session_init(session);
    session->ciphersuite = MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    session->start = time(NULL);
    memset(session->master, fill, sizeof(session->master));
}

/* Writes a ticket as tls.c's callback does (refresh first). */
static size_t write_ticket(struct side *s, unsigned char fill, unsigned char *buf, size_t size)
{
    mbedtls_ssl_session session;
    make_session(&session, fill);
    size_t len = 0;
    uint32_t lifetime = 0;
    col_ticket_keys_refresh(s->keys);
    assert_int_equal(
        mbedtls_ssl_ticket_write(&s->ticket, &session, buf, buf + size, &len, &lifetime), 0);
    assert_int_equal(lifetime, LIFETIME);
    mbedtls_ssl_session_free(&session);
    return len;
}

/* Parses a copy (parsing decrypts in place); returns mbedTLS's answer. */
static int parse_ticket(struct side *s, const unsigned char *ticket, size_t len, unsigned char fill)
{
    unsigned char copy[512];
    assert_true(len <= sizeof(copy));
    memcpy(copy, ticket, len);
    mbedtls_ssl_session session;
    mbedtls_ssl_session_init(&session);
    if (s->keys != NULL) {
        col_ticket_keys_refresh(s->keys);
    }
    int ret = mbedtls_ssl_ticket_parse(&s->ticket, &session, copy, len);
    if (ret == 0) {
        unsigned char want[48];
        memset(want, fill, sizeof(want));
        assert_memory_equal(session.master, want, sizeof(want));
        assert_int_equal(session.ciphersuite, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    }
    mbedtls_ssl_session_free(&session);
    return ret;
}

static void read_file(const char *path, unsigned char *buf, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    *len = fread(buf, 1, COL_TICKET_KEYS_FILE_BYTES + 16, fp);
    fclose(fp);
}

static void write_file(const char *path, const unsigned char *buf, size_t len, mode_t mode)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_first_start_makes_a_private_file_with_two_distinct_keys(void **state)
{
    struct fx *f = *state;
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, COL_TICKET_KEYS_FILE_BYTES);
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 16];
    size_t len = 0;
    read_file(f->path, bytes, &len);
    assert_memory_equal(bytes, "RRTK\x02", 5);
    assert_memory_equal(bytes + 6, binding_a, COL_TICKET_KEYS_BINDING_LEN);
    /* The key names in the file are the ones mbedTLS uses. */
    assert_memory_equal(bytes + SLOT0, s.ticket.keys[0].name, 4);
    assert_memory_equal(bytes + SLOT0 + 40, s.ticket.keys[1].name, 4);
    assert_memory_not_equal(bytes + SLOT0, bytes + SLOT0 + 40, 4);
    assert_memory_not_equal(bytes + SLOT0 + 8, bytes + SLOT0 + 40 + 8, 32);
    assert_true(col_ticket_keys_saved(s.keys));
    side_stop(&s);
}

static void test_a_ticket_made_before_a_restart_opens_after_it(void **state)
{
    struct fx *f = *state;
    unsigned char ticket[512];
    struct side before;
    assert_int_equal(side_start(f, &before, f->path), PROTO_OK);
    size_t len = write_ticket(&before, 0x5a, ticket, sizeof(ticket));
    assert_int_equal(parse_ticket(&before, ticket, len, 0x5a), 0);
    side_stop(&before);

    struct side after;
    assert_int_equal(side_start(f, &after, f->path), PROTO_OK);
    assert_int_equal(parse_ticket(&after, ticket, len, 0x5a), 0);
    side_stop(&after);

    /* The control: a collector with other keys (another file, or mbedTLS's own) cannot. */
    char other[160];
    snprintf(other, sizeof(other), "%s/other-tickets", f->dir);
    struct side stranger;
    assert_int_equal(side_start(f, &stranger, other), PROTO_OK);
    assert_int_not_equal(parse_ticket(&stranger, ticket, len, 0x5a), 0);
    side_stop(&stranger);
    struct side plain;
    mbedtls_ssl_ticket_init(&plain.ticket);
    assert_int_equal(mbedtls_ssl_ticket_setup(&plain.ticket, mbedtls_ctr_drbg_random, &f->drbg,
                                              MBEDTLS_CIPHER_AES_256_GCM, LIFETIME),
                     0);
    plain.keys = NULL;
    assert_int_not_equal(parse_ticket(&plain, ticket, len, 0x5a), 0);
    side_stop(&plain);
}

/* Sets the active slot's generation time in the file to now + `delta` seconds. */
static void age_active_key(const char *path, long delta)
{
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 16];
    size_t len = 0;
    read_file(path, bytes, &len);
    assert_int_equal(len, COL_TICKET_KEYS_FILE_BYTES);
    unsigned char *t = bytes + SLOT0 + 40 * bytes[5] + 4;
    uint32_t when = (uint32_t)(time(NULL) + delta);
    t[0] = (unsigned char)(when >> 24);
    t[1] = (unsigned char)(when >> 16);
    t[2] = (unsigned char)(when >> 8);
    t[3] = (unsigned char)when;
    write_file(path, bytes, len, 0600);
}

static void test_a_due_key_rotates_before_mbedtls_would_and_old_tickets_still_open(void **state)
{
    struct fx *f = *state;
    unsigned char ticket[512];
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    side_stop(&s);
    age_active_key(f->path, -150); /* 150 s old of a 200 s lifetime: due (140 s) */

    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    unsigned char old_active = s.ticket.active;
    unsigned char old_name[4];
    memcpy(old_name, s.ticket.keys[old_active].name, 4);
    /* A ticket issued with the old key just before (parse refreshes too, so write it raw). */
    mbedtls_ssl_session session;
    make_session(&session, 0x11);
    size_t old_len = 0;
    uint32_t lifetime = 0;
    assert_int_equal(mbedtls_ssl_ticket_write(&s.ticket, &session, ticket, ticket + sizeof(ticket),
                                              &old_len, &lifetime),
                     0);
    mbedtls_ssl_session_free(&session);
    assert_memory_equal(ticket, old_name, 4);

    unsigned char fresh[512];
    size_t fresh_len = write_ticket(&s, 0x22, fresh, sizeof(fresh)); /* refresh rotates */
    assert_int_not_equal(s.ticket.active, old_active);
    assert_memory_not_equal(fresh, old_name, 4);
    assert_true(col_ticket_keys_saved(s.keys));
    /* The file follows: a restart now knows both keys. */
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 16];
    size_t len = 0;
    read_file(f->path, bytes, &len);
    assert_int_equal(bytes[5], s.ticket.active);
    assert_memory_equal(bytes + SLOT0 + 40 * s.ticket.active, fresh, 4);
    side_stop(&s);

    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    assert_int_equal(parse_ticket(&s, fresh, fresh_len, 0x22), 0);
    assert_int_equal(parse_ticket(&s, ticket, old_len, 0x11), 0);
    side_stop(&s);
}

static void test_a_key_from_the_future_is_replaced(void **state)
{
    struct fx *f = *state;
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    side_stop(&s);
    age_active_key(f->path, 60); /* a small step back: jitter, the key stays */
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    unsigned char kept = s.ticket.active;
    assert_int_equal(col_ticket_keys_refresh(s.keys), PROTO_OK);
    assert_int_equal(s.ticket.active, kept);
    side_stop(&s);
    age_active_key(f->path, 3600); /* the clock went back an hour */
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    unsigned char before = s.ticket.active;
    assert_int_equal(col_ticket_keys_refresh(s.keys), PROTO_OK);
    assert_int_not_equal(s.ticket.active, before);
    assert_true(s.ticket.keys[s.ticket.active].generation_time <= (uint32_t)time(NULL));
    side_stop(&s);
}

static void test_keys_saved_under_other_client_cas_are_not_used(void **state)
{
    struct fx *f = *state;
    unsigned char ticket[512];
    struct side s;
    assert_int_equal(side_start_bound(f, &s, f->path, binding_a), PROTO_OK);
    size_t len = write_ticket(&s, 0x33, ticket, sizeof(ticket));
    side_stop(&s);
    /* The trusted CAs changed: a session that skipped the client-certificate check must not
     * resume under the new ones. */
    assert_int_equal(side_start_bound(f, &s, f->path, binding_b), PROTO_OK);
    assert_int_not_equal(parse_ticket(&s, ticket, len, 0x33), 0);
    side_stop(&s);
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 16];
    size_t flen = 0;
    read_file(f->path, bytes, &flen);
    assert_memory_equal(bytes + 6, binding_b, COL_TICKET_KEYS_BINDING_LEN);
    /* And with the same CAs as the file, the keys stay. */
    assert_int_equal(side_start_bound(f, &s, f->path, binding_b), PROTO_OK);
    size_t len_b = write_ticket(&s, 0x44, ticket, sizeof(ticket));
    side_stop(&s);
    assert_int_equal(side_start_bound(f, &s, f->path, binding_b), PROTO_OK);
    assert_int_equal(parse_ticket(&s, ticket, len_b, 0x44), 0);
    side_stop(&s);
}

static void test_a_rotation_mbedtls_made_on_its_own_is_taken_back(void **state)
{
    struct fx *f = *state;
    unsigned char ticket[512];
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    size_t len = write_ticket(&s, 0x55, ticket, sizeof(ticket));
    unsigned char ours = s.ticket.active;
    /* What mbedTLS's own rotation does (ssl_ticket.c): flip the slot, a new name and key. */
    unsigned char theirs = (unsigned char)(1 - ours);
    unsigned char key[32];
    memset(key, 0x99, sizeof(key));
    memcpy(s.ticket.keys[theirs].name, "\x01\x02\x03\x04", 4);
    assert_int_equal(mbedtls_cipher_setkey(&s.ticket.keys[theirs].ctx, key, 256, MBEDTLS_ENCRYPT),
                     0);
    s.ticket.active = theirs;

    assert_int_equal(col_ticket_keys_refresh(s.keys), PROTO_OK);
    assert_int_equal(s.ticket.active, theirs);
    assert_memory_not_equal(s.ticket.keys[theirs].name, "\x01\x02\x03\x04", 4);
    assert_true(col_ticket_keys_saved(s.keys));
    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES + 16];
    size_t flen = 0;
    read_file(f->path, bytes, &flen);
    assert_int_equal(bytes[5], theirs);
    assert_memory_equal(bytes + SLOT0 + 40 * theirs, s.ticket.keys[theirs].name, 4);
    side_stop(&s);
    /* Our key from before is the previous one now: its ticket still opens after a restart. */
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    assert_int_equal(parse_ticket(&s, ticket, len, 0x55), 0);
    side_stop(&s);
}

static void test_a_failed_save_is_counted_and_the_new_keys_still_work(void **state)
{
    struct fx *f = *state;
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    /* A directory where the file was: the rename of the next save fails. */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(mkdir(f->path, 0700), 0);
    uint64_t failures = col_metrics_ticket_key_save_failures();
    s.ticket.active = (unsigned char)(1 - s.ticket.active); /* forces a rotation */
    assert_int_equal(col_ticket_keys_refresh(s.keys), PROTO_EIO);
    assert_false(col_ticket_keys_saved(s.keys));
    assert_int_equal(col_metrics_ticket_key_save_failures(), failures + 1);
    /* Within the retry interval nothing is tried again; the keys in use still work. */
    assert_int_equal(col_ticket_keys_refresh(s.keys), PROTO_OK);
    assert_int_equal(col_metrics_ticket_key_save_failures(), failures + 1);
    unsigned char ticket[512];
    size_t len = write_ticket(&s, 0x66, ticket, sizeof(ticket));
    assert_int_equal(parse_ticket(&s, ticket, len, 0x66), 0);
    side_stop(&s);
    assert_int_equal(rmdir(f->path), 0);
}

static void test_a_key_file_others_may_read_is_refused(void **state)
{
    struct fx *f = *state;
    struct side s;
    assert_int_equal(side_start(f, &s, f->path), PROTO_OK);
    side_stop(&s);
    assert_int_equal(chmod(f->path, 0640), 0);
    assert_int_equal(side_start(f, &s, f->path), PROTO_EINVAL);
    side_stop(&s);
    assert_int_equal(chmod(f->path, 0604), 0);
    assert_int_equal(side_start(f, &s, f->path), PROTO_EINVAL);
    side_stop(&s);
}

static void test_a_malformed_key_file_is_refused(void **state)
{
    struct fx *f = *state;
    struct side s;
    static const unsigned char short_file[10] = "RRTK\x02";
    write_file(f->path, short_file, sizeof(short_file), 0600);
    assert_int_equal(side_start(f, &s, f->path), PROTO_EPARSE);
    side_stop(&s);

    unsigned char bytes[COL_TICKET_KEYS_FILE_BYTES];
    memset(bytes, 0, sizeof(bytes));
    memcpy(bytes, "RRTK\x02", 5);
    memcpy(bytes + 6, binding_a, COL_TICKET_KEYS_BINDING_LEN);
    /* Both slots named 00000000: which key a ticket means would be ambiguous. */
    write_file(f->path, bytes, sizeof(bytes), 0600);
    assert_int_equal(side_start(f, &s, f->path), PROTO_EPARSE);
    side_stop(&s);

    memcpy(bytes, "RRTK\x01", 5); /* another version */
    bytes[SLOT0] = 1;
    write_file(f->path, bytes, sizeof(bytes), 0600);
    assert_int_equal(side_start(f, &s, f->path), PROTO_EPARSE);
    side_stop(&s);
}

static void test_a_key_file_in_a_missing_directory_is_an_error(void **state)
{
    struct fx *f = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/no-such-dir/tickets", f->dir);
    struct side s;
    assert_int_equal(side_start(f, &s, path), PROTO_EIO);
    side_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_first_start_makes_a_private_file_with_two_distinct_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_ticket_made_before_a_restart_opens_after_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_due_key_rotates_before_mbedtls_would_and_old_tickets_still_open, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_key_from_the_future_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_saved_under_other_client_cas_are_not_used, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_rotation_mbedtls_made_on_its_own_is_taken_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_save_is_counted_and_the_new_keys_still_work,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_file_others_may_read_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_malformed_key_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_file_in_a_missing_directory_is_an_error, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
