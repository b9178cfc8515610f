/*
 * cmd_keys: `rrasfleet-collector keys init --dir DIR`, the profile-signing key pair (DESIGN §8,
 * docs/remediation.md "Keys"). Writes DIR/profile-signing.key (0600) and DIR/profile-signing.pub
 * (0644) and prints the key_id. Both files are created with O_EXCL: an existing key is never
 * overwritten, and when the command fails it removes what it created, so it leaves either both
 * files or neither. The key is made and encoded by proto/sign.h; this file only writes files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "sign.h"

#define KEYS_PRIVATE_NAME "profile-signing.key"
#define KEYS_PUBLIC_NAME "profile-signing.pub"
#define KEYS_PATH_MAX 4096

static int keys_usage(void)
{
    fputs("usage: rrasfleet-collector keys init --dir DIR\n", stderr);
    return COL_APP_EXIT_USAGE;
}

/* Creates `path` (never an existing file or link) with exactly `mode`, writes text, fsyncs. */
static bool keys_write_new(const char *path, mode_t mode, const char *text, bool *created)
{
    size_t len = strlen(text), done = 0;
    *created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) {
            fprintf(stderr,
                    "rrasfleet-collector keys init: %s already exists; refusing to "
                    "overwrite a key (move it away first)\n",
                    path);
        } else {
            fprintf(stderr, "rrasfleet-collector keys init: %s: %s\n", path, strerror(errno));
        }
        return false;
    }
    *created = true;
    /* The umask may have taken bits away from the public file; the modes are part of the promise.
     */
    bool ok = fchmod(fd, mode) == 0;
    while (ok && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        if (ok) {
            done += (size_t)n;
        }
    }
    ok = ok && fsync(fd) == 0;
    if (close(fd) != 0) {
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "rrasfleet-collector keys init: cannot write %s: %s\n", path,
                strerror(errno));
    }
    return ok;
}

static void keys_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

static int keys_init(const char *dir)
{
    char private_path[KEYS_PATH_MAX], public_path[KEYS_PATH_MAX];
    char key_id[PROTO_KEY_ID_LEN + 1], check_id[PROTO_KEY_ID_LEN + 1], err[512];
    char *private_pem = NULL, *public_pem = NULL;
    struct proto_verify_key *pub = NULL;
    struct proto_sign_key *written = NULL;
    bool private_created = false, public_created = false;
    int exit_code = 1;

    int a = snprintf(private_path, sizeof(private_path), "%s/%s", dir, KEYS_PRIVATE_NAME);
    int b = snprintf(public_path, sizeof(public_path), "%s/%s", dir, KEYS_PUBLIC_NAME);
    if (a < 0 || (size_t)a >= sizeof(private_path) || b < 0 || (size_t)b >= sizeof(public_path)) {
        fputs("rrasfleet-collector keys init: --dir: path too long\n", stderr);
        return COL_APP_EXIT_USAGE;
    }
    /* Both names are checked before a key is made, so a refusal costs nothing. */
    struct stat st;
    const char *existing = lstat(private_path, &st) == 0  ? private_path
                           : lstat(public_path, &st) == 0 ? public_path
                                                          : NULL;
    if (existing != NULL) {
        fprintf(stderr,
                "rrasfleet-collector keys init: %s already exists; refusing to overwrite "
                "a key (move it away first)\n",
                existing);
        return 1;
    }
    enum proto_rc rc = proto_sign_key_generate(&private_pem, &public_pem);
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector keys init: cannot make a key: %s\n", proto_rc_str(rc));
        goto out;
    }
    rc = proto_verify_key_from_pem(public_pem, strlen(public_pem), &pub, err, sizeof(err));
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector keys init: %s\n", err);
        goto out;
    }
    proto_verify_key_id(pub, key_id);
    /* O_EXCL again: the checks above do not hold against a concurrent writer. */
    if (!keys_write_new(private_path, 0600, private_pem, &private_created) ||
        !keys_write_new(public_path, 0644, public_pem, &public_created)) {
        goto out;
    }
    keys_sync_dir(dir);
    /* Read back what was written: the file, not the memory, is what will sign. */
    rc = proto_sign_key_load(private_path, &written, err, sizeof(err));
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector keys init: %s\n", err);
        goto out;
    }
    proto_sign_key_id(written, check_id);
    if (strcmp(check_id, key_id) != 0) {
        fprintf(stderr, "rrasfleet-collector keys init: %s does not read back as written\n",
                private_path);
        goto out;
    }
    printf("%s\n", key_id);
    fprintf(stderr,
            "wrote %s (0600: keep it on this host) and %s (0644: give it to the agents as "
            "profile_trust_key, or as profile_trust_next_key to roll over); key_id %s\n",
            private_path, public_path, key_id);
    exit_code = 0;
out:
    if (exit_code != 0) {
        /* Only what this run created: O_EXCL made sure those files are ours. */
        if (private_created) {
            (void)unlink(private_path);
        }
        if (public_created) {
            (void)unlink(public_path);
        }
    }
    proto_sign_key_destroy(written);
    proto_verify_key_destroy(pub);
    proto_sign_pem_free(private_pem);
    proto_free(public_pem);
    return exit_code;
}

int col_app_keys(int argc, char **argv)
{
    const char *dir = NULL;
    if (argc < 1 || strcmp(argv[0], "init") != 0) {
        return keys_usage();
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc && dir == NULL) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "rrasfleet-collector keys init: unexpected argument: %s\n", argv[i]);
            return keys_usage();
        }
    }
    if (dir == NULL || dir[0] == '\0') {
        fputs("rrasfleet-collector keys init: --dir DIR is required\n", stderr);
        return keys_usage();
    }
    struct stat st;
    /* A missing folder is made, private (0700): it is where the signing key will live. */
    if (stat(dir, &st) != 0 && errno == ENOENT && mkdir(dir, 0700) != 0) {
        fprintf(stderr, "rrasfleet-collector keys init: --dir %s: cannot create: %s\n", dir,
                strerror(errno));
        return 1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "rrasfleet-collector keys init: --dir %s: not a folder\n", dir);
        return COL_APP_EXIT_USAGE;
    }
    return keys_init(dir);
}
