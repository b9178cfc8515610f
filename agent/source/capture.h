/*
 * capture: one RRAS server's raw state in memory: exactly what a capture bundle holds (DESIGN
 * §5, docs/capture-bundle.md), plus what only the live Windows host can add (netsh exit codes,
 * crypt32's view of each certificate).
 *
 * Fillers: capture_win32.c (the live host, agent_capture_live), agent_capture_read_bundle (a
 * bundle folder), and the setters below, which render host fields and registry values into the
 * very text host.txt and `reg query` hold. Consumers, both portable: agent_capture_snapshot runs
 * the same proto parsers, in the same order and with the same error entries, as
 * proto_bundle_read, so every fact is derived once whatever the source; and
 * agent_capture_write_bundle writes the folder capture.ps1 writes. A capture owns all of its
 * memory; it never starts a process except through the netsh runner it is handed.
 */
#ifndef AGENT_CAPTURE_H
#define AGENT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "netsh.h"
#include "printf_like.h"
#include "rc.h"

/* The files of a bundle other than the certificate store, in the order they are read. */
enum agent_capture_file_id {
    AGENT_CAPTURE_HOST,            /* host.txt */
    AGENT_CAPTURE_NETSH_CONSEC,    /* netsh-consec.txt */
    AGENT_CAPTURE_NETSH_SSLCERT,   /* netsh-http-sslcert.txt */
    AGENT_CAPTURE_REG_RASMAN,      /* reg-rasman.txt */
    AGENT_CAPTURE_REG_SSTPSVC,     /* reg-sstpsvc.txt */
    AGENT_CAPTURE_REG_POLICYAGENT, /* reg-policyagent.txt: written by the agent only; capture.ps1
                                    * and proto_bundle_read do not know it, so an absent one is
                                    * no error */
    AGENT_CAPTURE_FILE_COUNT
};

#define AGENT_CAPTURE_STORE_DIR "LocalMachine-My"
#define AGENT_CAPTURE_KEYS_FILE "LocalMachine-My/private-keys.txt"

/* The registry keys as `reg query` prints them (capture.ps1's spelling). */
#define AGENT_CAPTURE_KEY_RASMAN                                                                   \
    "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Rasman\\Parameters"
#define AGENT_CAPTURE_KEY_SSTPSVC                                                                  \
    "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\SstpSvc\\Parameters"
#define AGENT_CAPTURE_KEY_POLICYAGENT                                                              \
    "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\PolicyAgent"
/* The one PolicyAgent value read: the key itself holds the service's own configuration. */
#define AGENT_CAPTURE_VALUE_NAT_T "AssumeUDPEncapsulationContextOnSendRule"
/* What reg.exe prints for a key that does not exist; the parser knows it as "not found". */
#define AGENT_CAPTURE_REG_NOT_FOUND                                                                \
    "ERROR: The system was unable to find the specified registry key or value."

/* Whether a part of the capture was read, and if not, why. */
struct agent_capture_state {
    enum proto_rc status; /* PROTO_OK: read. A new capture starts at PROTO_ENOTFOUND */
    char *why;            /* owned one-line reason; NULL: the bundle reader's own wording */
};

struct agent_capture_file {
    struct agent_capture_state state;
    unsigned char *bytes; /* the file's bytes exactly (owned); NULL when len is 0 */
    size_t len;
    bool has_exit_code; /* netsh files of the live source: the tool ran to its end */
    uint32_t exit_code;
};

struct agent_capture_cert {
    unsigned char *der; /* owned */
    size_t der_len;
    bool has_private_key; /* Windows: CERT_KEY_PROV_INFO_PROP_ID is present */
    /* crypt32's effective EKU (CertGetEnhancedKeyUsage, flag 0), which replaces the DER's in the
     * snapshot: eku_any = valid for all uses (no EKU extension or property), else win_eku (an
     * empty list = no valid use). */
    bool win_eku_known;
    bool win_eku_any;
    struct proto_strv win_eku;
    /* The other Windows-only facts, copied into the snapshot's certificate as they are (set
     * win.present); eku_effective is set from win_eku_known. */
    struct proto_cert_win win;
};

struct agent_capture {
    unsigned oem_codepage; /* GetOEMCP() of the live host; 0 unknown (a bundle's is in host.txt) */
    struct agent_capture_file files[AGENT_CAPTURE_FILE_COUNT];
    struct agent_capture_state store; /* LocalMachine\My could be enumerated */
    struct agent_capture_state keys;  /* which certificates have a key is known */
    struct agent_capture_cert *certs; /* enumeration order */
    size_t cert_count;
    size_t cert_cap;
    /* Problems that belong to no file's text (a certificate too large, a registry value
     * skipped): each becomes an error entry right after its source's own entries. */
    struct proto_error *notes;
    size_t note_count;
};

/* NULL only on allocation failure. Every part starts "not captured". */
struct agent_capture *agent_capture_create(void);
void agent_capture_destroy(struct agent_capture *cap); /* accepts NULL */

/* "host.txt", "netsh-consec.txt", ...; borrowed static. */
const char *agent_capture_file_name(enum agent_capture_file_id id);

/* Stores a copy of a file's bytes (state OK, no exit code). PROTO_ELIMIT (and the state
 * records it as the bundle reader would) past PROTO_MAX_TEXT_FILE_BYTES. */
enum proto_rc agent_capture_set_file(struct agent_capture *cap, enum agent_capture_file_id id,
                                     const unsigned char *bytes, size_t len);

/* Marks a part as not read, with a one-line reason (copied); drops a file's bytes. */
enum proto_rc agent_capture_fail(struct agent_capture_state *state, enum proto_rc status,
                                 const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

/* Appends a note (see struct agent_capture). PROTO_ELIMIT past PROTO_MAX_ERRORS. */
enum proto_rc agent_capture_note(struct agent_capture *cap, const char *source, enum proto_rc code,
                                 const char *fmt, ...) PROTO_PRINTF_LIKE(4, 5);

/*
 * Renders host.txt as capture.ps1 writes it (UTF-8, CRLF): Hostname, FQDN, OS, OEMCodePage (or
 * SystemOEMCodePage when it is neither 437 nor 850, which the reader ignores), CollectedAt
 * (omitted when 0), CaptureVersion, AgentVersion. NULL members are left out; control characters
 * become '?' and values are cut at PROTO_MAX_NAME bytes, so the text always parses back.
 */
enum proto_rc agent_capture_set_host(struct agent_capture *cap, const struct proto_host *host,
                                     unsigned oem_codepage);

/*
 * Fills `v` (zeroed; caller clears it) with a value as `reg query` prints it: `data` is UTF-8
 * text for REG_SZ/REG_EXPAND_SZ (up to the first NUL; unexpanded), NUL-separated UTF-8 items for
 * REG_MULTI_SZ (printed joined by the two characters \0), little-endian bytes for REG_DWORD
 * (0x%x) and REG_QWORD (0x%llx), raw bytes (upper-case hex pairs) for everything else. An empty
 * name is "(Default)". Control characters become '?'. PROTO_ELIMIT when the printed line would
 * be longer than the parser reads (PROTO_MAX_LINE_BYTES); the caller skips the value and notes it.
 */
enum proto_rc agent_capture_reg_value(const char *key, const char *name, enum proto_reg_type type,
                                      const unsigned char *data, size_t len,
                                      struct proto_reg_value *v);

/*
 * Stores the `reg query KEY` output for `values` (borrowed; data as agent_capture_reg_value
 * makes it), printed by proto_regquery_print (UTF-8, CRLF). With `error_line` (e.g.
 * AGENT_CAPTURE_REG_NOT_FOUND) the output is that line alone, as reg.exe prints a failure.
 */
enum proto_rc agent_capture_set_registry(struct agent_capture *cap, enum agent_capture_file_id id,
                                         const char *key, const struct proto_reg_value *values,
                                         size_t count, const char *error_line);

/*
 * Runs `netsh advfirewall consec show rule name=all verbose` and `netsh http show sslcert`
 * through `runner` and stores each output with its exit code, or the reason it has none (the
 * file's state: could not start, stopped at the time limit, too much output). A run that did
 * not end normally is never parsed: a cut listing would look like fewer rules. Only
 * PROTO_ENOMEM fails the call.
 */
enum proto_rc agent_capture_run_netsh(struct agent_capture *cap,
                                      const struct agent_netsh_runner *runner, uint32_t timeout_ms);

/* Marks LocalMachine\My as enumerated (an empty store is a store) and the key flags as known. */
void agent_capture_store_read(struct agent_capture *cap);

/* Appends a certificate (copies the DER) and returns it in *out (borrowed, valid until the next
 * append) for the Windows facts. PROTO_ELIMIT past PROTO_MAX_CERTS or for DER longer than
 * PROTO_MAX_CERT_DER_BYTES. */
enum proto_rc agent_capture_add_cert(struct agent_capture *cap, const unsigned char *der,
                                     size_t der_len, bool has_private_key,
                                     struct agent_capture_cert **out);

/*
 * The snapshot of a capture, derived exactly as proto_bundle_read derives a bundle's: host.txt
 * first (its OEMCodePage decodes the rest), then the store (proto_x509_facts per certificate,
 * then the Windows facts on top), then netsh and reg text through their parsers, then
 * proto_snapshot_derive. Every part not read is an error entry, never a guess: netsh that
 * exited 0 and printed nothing is "source unavailable", never "no rules". Caller destroys *out.
 * Fails only with PROTO_ENOMEM.
 */
enum proto_rc agent_capture_snapshot(const struct agent_capture *cap, struct proto_snapshot **out);

/*
 * Writes the capture as a bundle folder `dir`, as capture.ps1 lays it out: host.txt,
 * LocalMachine-My/NNN-<SHA1>.cer and private-keys.txt (CRLF), the netsh and reg files; parts not
 * read are not written (the reader then names them missing). `dir` must not exist (it is made,
 * private to its owner) or be an empty folder. The Windows-only facts have no place in a bundle
 * and are not written. Files go through agent_os (UTF-8 paths on Windows too). PROTO_EINVAL
 * for a non-empty `dir`, else agent_os's code of the step that failed; `why` gets one line.
 */
enum proto_rc agent_capture_write_bundle(const struct agent_capture *cap, const char *dir,
                                         char *why, size_t why_size);

/*
 * The capture of a bundle folder: every file's bytes as they are, the certificates in the order
 * proto_bundle_read reads them with their key flag. PROTO_ENOTFOUND if dir is not a folder.
 * Caller destroys *out.
 */
enum proto_rc agent_capture_read_bundle(const char *dir, struct agent_capture **out);

/* How agent_capture_live reads the host. */
struct agent_capture_live_options {
    int64_t now;                            /* CollectedAt; 0 leaves it out */
    const struct agent_netsh_runner *netsh; /* NULL: agent_netsh_system_runner() */
    uint32_t netsh_timeout_ms;              /* 0: AGENT_NETSH_TIMEOUT_MS */
    bool confirm_keys;                      /* also try CryptAcquireCertificatePrivateKey */
};

/*
 * The capture of this Windows host (capture_win32.c; PROTO_EUNSUPPORTED elsewhere): host facts,
 * LocalMachine\My through crypt32, the Rasman, SstpSvc and PolicyAgent registry values, and the
 * two netsh listings. What cannot be read is recorded in the capture, not returned: only
 * PROTO_ENOMEM fails. Caller destroys *out.
 */
enum proto_rc agent_capture_live(const struct agent_capture_live_options *opts,
                                 struct agent_capture **out);

#endif
