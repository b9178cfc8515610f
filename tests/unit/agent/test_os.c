/*
 * test_os: the agent's operating-system seam (agent/os/agent_os.h) on real folders. The same
 * file builds for Linux (os_posix.c) and for Windows, where ctest runs it under Wine
 * (os_win32.c): atomic replacement, capped whole-file reads, listing while removing, the
 * exclusive lock, folders refused as files, absolute folder names and the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_os.h"
#include "alloc.h"

struct fixture {
    char dir[512];
    char path[600];
};

/* A fresh folder under the system's temporary folder, unique per process and test. */
static int fx_setup(void **state)
{
    static unsigned counter;
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        base = getenv("TEMP");
    }
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(f->dir, sizeof(f->dir), "%s/rras-test-os-%llu-%u/sub", base,
             (unsigned long long)agent_os_random_seed() % 1000000007ull, ++counter);
    if (agent_os_mkdirs(f->dir) != PROTO_OK) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static enum proto_rc fx_remove_entry(void *ctx, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, name);
    (void)agent_os_remove(path, 0);
    return PROTO_OK;
}

static int fx_teardown(void **state)
{
    struct fixture *f = *state;
    (void)agent_os_list(f->dir, fx_remove_entry, f->dir);
    (void)remove(f->dir);
    char *slash = strrchr(f->dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        (void)remove(f->dir);
    }
    free(f);
    return 0;
}

static const char *fx_path(struct fixture *f, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    return f->path;
}

static void replace_then_read_back_gives_the_last_content(void **state)
{
    struct fixture *f = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "state"));
    assert_int_equal(agent_os_replace_file(path, "first", 5), PROTO_OK);
    assert_int_equal(agent_os_replace_file(path, "second!", 7), PROTO_OK);

    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(agent_os_read_file(path, 100, &data, &len), PROTO_OK);
    assert_int_equal(len, 7);
    assert_string_equal((char *)data, "second!");
    proto_free(data);

    /* No temporary file is left beside it. */
    assert_int_equal(agent_os_read_file(fx_path(f, "state.tmp"), 100, &data, &len),
                     PROTO_ENOTFOUND);
}

static void read_file_refuses_more_than_the_cap(void **state)
{
    struct fixture *f = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "big"));
    assert_int_equal(agent_os_replace_file(path, "0123456789", 10), PROTO_OK);
    unsigned char *data = NULL;
    size_t len = 0;
    assert_int_equal(agent_os_read_file(path, 9, &data, &len), PROTO_ELIMIT);
    assert_null(data);
    assert_int_equal(agent_os_read_file(path, 10, &data, &len), PROTO_OK);
    assert_int_equal(len, 10);
    proto_free(data);
}

static void a_folder_is_not_a_file(void **state)
{
    struct fixture *f = *state;
    struct agent_os_file file = {-1};
    uint64_t size = 0;
    assert_int_equal(agent_os_mkdirs(fx_path(f, "inner")), PROTO_OK);
    assert_int_equal(agent_os_open_read(fx_path(f, "inner"), &file, &size), PROTO_EUNSUPPORTED);
    assert_true(file.handle == -1);
    (void)remove(fx_path(f, "inner"));
}

static void missing_files_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct agent_os_file file = {-1};
    uint64_t size = 0;
    assert_int_equal(agent_os_open_read(fx_path(f, "absent"), &file, &size), PROTO_ENOTFOUND);
    assert_int_equal(agent_os_remove(fx_path(f, "absent"), 1), PROTO_ENOTFOUND);
    assert_int_equal(agent_os_rename(fx_path(f, "absent"), fx_path(f, "other")), PROTO_ENOTFOUND);
}

static void partial_reads_stop_at_end_of_file(void **state)
{
    struct fixture *f = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "rec"));
    assert_int_equal(agent_os_replace_file(path, "abcdef", 6), PROTO_OK);
    struct agent_os_file file = {-1};
    uint64_t size = 0;
    assert_int_equal(agent_os_open_read(path, &file, &size), PROTO_OK);
    assert_int_equal(size, 6);
    char buf[16];
    size_t got = 0;
    assert_int_equal(agent_os_read(&file, buf, 4, &got), PROTO_OK);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "abcd", 4);
    assert_int_equal(agent_os_read(&file, buf, sizeof(buf), &got), PROTO_OK);
    assert_int_equal(got, 2);
    agent_os_close(&file);
    agent_os_close(&file); /* a closed file may be closed again */
}

struct list_seen {
    const char *dir;
    unsigned count;
    unsigned stop_after;
};

static enum proto_rc count_and_remove(void *ctx, const char *name)
{
    struct list_seen *seen = ctx;
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", seen->dir, name);
    assert_int_equal(agent_os_remove(path, 0), PROTO_OK);
    seen->count++;
    return seen->count == seen->stop_after ? PROTO_ECHANGED : PROTO_OK;
}

static void list_sees_every_entry_and_stops_when_told(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        char path[600];
        snprintf(path, sizeof(path), "%s", fx_path(f, name));
        assert_int_equal(agent_os_replace_file(path, "x", 1), PROTO_OK);
    }
    struct list_seen seen = {f->dir, 0, 2};
    assert_int_equal(agent_os_list(f->dir, count_and_remove, &seen), PROTO_ECHANGED);
    assert_int_equal(seen.count, 2);
    seen.stop_after = 0;
    assert_int_equal(agent_os_list(f->dir, count_and_remove, &seen), PROTO_OK);
    assert_int_equal(seen.count, 5);
    seen.count = 0;
    assert_int_equal(agent_os_list(f->dir, count_and_remove, &seen), PROTO_OK);
    assert_int_equal(seen.count, 0);
}

static void the_lock_is_exclusive_until_released(void **state)
{
    struct fixture *f = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "lock"));
    struct agent_os_file first = {-1};
    assert_int_equal(agent_os_lock(path, &first), PROTO_OK);
#ifdef _WIN32
    /* LockFileEx belongs to the handle: a second opener in this process is refused too.
     * (POSIX fcntl locks belong to the process; test_spool checks them across a fork.) */
    struct agent_os_file second = {-1};
    assert_int_equal(agent_os_lock(path, &second), PROTO_EUNAVAILABLE);
    assert_true(second.handle == -1);
#endif
    agent_os_unlock(&first);
    assert_true(first.handle == -1);
    struct agent_os_file again = {-1};
    assert_int_equal(agent_os_lock(path, &again), PROTO_OK);
    agent_os_unlock(&again);
}

static void absolute_dir_names_an_existing_folder_only(void **state)
{
    struct fixture *f = *state;
    char abs[AGENT_OS_PATH_MAX];
    assert_int_equal(agent_os_absolute_dir(f->dir, abs, sizeof(abs)), PROTO_OK);
    assert_true(strstr(abs, "sub") != NULL);
    assert_int_equal(agent_os_absolute_dir(fx_path(f, "absent"), abs, sizeof(abs)),
                     PROTO_ENOTFOUND);
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "file"));
    assert_int_equal(agent_os_replace_file(path, "x", 1), PROTO_OK);
    assert_int_equal(agent_os_absolute_dir(path, abs, sizeof(abs)), PROTO_ENOTFOUND);
    char tiny[4];
    assert_int_equal(agent_os_absolute_dir(f->dir, tiny, sizeof(tiny)), PROTO_ELIMIT);
}

static void secure_dir_keeps_the_folder_usable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(agent_os_secure_dir(f->dir), PROTO_OK);
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "after"));
    assert_int_equal(agent_os_replace_file(path, "ok", 2), PROTO_OK);
}

static void mkdirs_refuses_a_file_in_the_way(void **state)
{
    struct fixture *f = *state;
    char path[600];
    snprintf(path, sizeof(path), "%s", fx_path(f, "plain"));
    assert_int_equal(agent_os_replace_file(path, "x", 1), PROTO_OK);
    char below[700];
    snprintf(below, sizeof(below), "%s/below", path);
    assert_int_not_equal(agent_os_mkdirs(below), PROTO_OK);
    assert_int_not_equal(agent_os_mkdirs(path), PROTO_OK);
}

static void the_clock_agrees_with_the_c_library(void **state)
{
    (void)state;
    int64_t ours = agent_os_now_s();
    int64_t libc = (int64_t)time(NULL);
    assert_true(ours - libc <= 2 && libc - ours <= 2);
    uint64_t a = agent_os_monotonic_ms();
    agent_os_sleep_ms(30, NULL);
    uint64_t b = agent_os_monotonic_ms();
    assert_true(a > 0);
    assert_true(b >= a + 25);
    volatile sig_atomic_t stop = 1;
    agent_os_sleep_ms(60000, &stop); /* returns at once when already stopped */
    assert_true(agent_os_monotonic_ms() - b < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replace_then_read_back_gives_the_last_content, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(read_file_refuses_more_than_the_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(a_folder_is_not_a_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(missing_files_are_not_found, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(partial_reads_stop_at_end_of_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(list_sees_every_entry_and_stops_when_told, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(the_lock_is_exclusive_until_released, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(absolute_dir_names_an_existing_folder_only, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(secure_dir_keeps_the_folder_usable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(mkdirs_refuses_a_file_in_the_way, fx_setup, fx_teardown),
        cmocka_unit_test(the_clock_agrees_with_the_c_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
