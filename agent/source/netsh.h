/*
 * netsh: running netsh.exe behind a runner that can be replaced.
 *
 * The live source reads the connection-security rules and the http.sys bindings from netsh's
 * output. Everything that starts netsh goes through struct agent_netsh_runner, so tests (and the
 * remediation work) replay recorded output through the same seam. This module is the portable
 * half: the runner contract and the Windows command-line quoting (tested on Linux);
 * netsh_win32.c starts the real %SystemRoot%\System32\netsh.exe. Never runs a shell, never
 * builds a command line from a single string.
 */
#ifndef AGENT_NETSH_H
#define AGENT_NETSH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

/* capture.ps1 allows each tool two minutes; netsh normally answers in well under a second. */
#define AGENT_NETSH_TIMEOUT_MS 120000u
#define AGENT_NETSH_MAX_ARGS 32u /* `consec add rule` with every keyword is 28 */
/* CreateProcessW's lpCommandLine limit, in UTF-16 units including the terminating NUL. */
#define AGENT_NETSH_CMDLINE_MAX 32767u

struct agent_netsh_output {
    unsigned char *bytes; /* stdout and stderr as netsh wrote them; caller frees (proto_free) */
    size_t len;
    uint32_t exit_code;
};

/*
 * Runs netsh with `args` (the words after "netsh", borrowed; at most AGENT_NETSH_MAX_ARGS),
 * keeping at most `max_bytes` of output and allowing `timeout_ms`. PROTO_OK: netsh exited and
 * *out holds its output (bytes may be NULL when len is 0) and exit code. Otherwise *out is
 * zeroed and `why` gets one line: PROTO_EIO it could not be started or read, PROTO_ELIMIT it
 * wrote more than max_bytes, PROTO_EUNAVAILABLE it did not exit in time (in both cases it was
 * stopped), PROTO_ENOMEM, PROTO_EINVAL for bad arguments.
 */
typedef enum proto_rc (*agent_netsh_run_fn)(void *ctx, const char *const *args, size_t arg_count,
                                            size_t max_bytes, uint32_t timeout_ms,
                                            struct agent_netsh_output *out, char *why,
                                            size_t why_size);

struct agent_netsh_runner {
    agent_netsh_run_fn run;
    void *ctx; /* the implementation's, passed back to run */
};

/* The runner that starts GetSystemDirectoryW()\netsh.exe. Windows builds only
 * (netsh_win32.c); borrowed static. */
const struct agent_netsh_runner *agent_netsh_system_runner(void);

/*
 * Appends to `out` the command line CreateProcessW is given for `program` and `args`: the
 * program in double quotes, then each argument quoted the way CommandLineToArgvW and the C
 * runtime read it back (quoted only when empty or holding a blank or '"'; backslashes doubled
 * only before a '"'). UTF-8 in, UTF-8 out. PROTO_EINVAL for a program holding '"' or a
 * control character in any word, or more than AGENT_NETSH_MAX_ARGS args; PROTO_ELIMIT past
 * out->max.
 */
enum proto_rc agent_netsh_command_line(const char *program, const char *const *args,
                                       size_t arg_count, struct proto_buf *out);

#endif
