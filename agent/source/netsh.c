/*
 * netsh: the portable half of running netsh (see netsh.h): the command-line quoting.
 *
 * Windows hands a process one command line; the child splits it. netsh.exe's own C runtime does
 * that splitting by the rules CommandLineToArgvW documents, which this writer inverts: 2n
 * backslashes before a '"' mean n backslashes and the quote ends or starts a quoted part, 2n+1
 * mean n backslashes and a literal '"'; backslashes anywhere else are literal.
 */
#include "netsh.h"

#include <stdbool.h>
#include <string.h>

static bool netsh_has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7F) {
            return true;
        }
    }
    return false;
}

static bool netsh_needs_quotes(const char *arg)
{
    return arg[0] == '\0' || strpbrk(arg, " \t\"") != NULL;
}

static enum proto_rc netsh_append_backslashes(struct proto_buf *out, size_t n)
{
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < n && result == PROTO_OK; i++) {
        result = proto_buf_append_byte(out, '\\');
    }
    return result;
}

static enum proto_rc netsh_append_arg(struct proto_buf *out, const char *arg)
{
    if (!netsh_needs_quotes(arg)) {
        return proto_buf_append_str(out, arg);
    }
    enum proto_rc result = proto_buf_append_byte(out, '"');
    size_t backslashes = 0;
    for (const char *p = arg; result == PROTO_OK; p++) {
        if (*p == '\\') {
            backslashes++;
            continue;
        }
        if (*p == '\0') {
            /* The closing quote follows: every backslash before it must be doubled. */
            result = netsh_append_backslashes(out, backslashes * 2);
            break;
        }
        if (*p == '"') {
            result = netsh_append_backslashes(out, backslashes * 2 + 1);
        } else {
            result = netsh_append_backslashes(out, backslashes);
        }
        backslashes = 0;
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, (unsigned char)*p);
        }
    }
    return result == PROTO_OK ? proto_buf_append_byte(out, '"') : result;
}

enum proto_rc agent_netsh_command_line(const char *program, const char *const *args,
                                       size_t arg_count, struct proto_buf *out)
{
    if (program == NULL || out == NULL || (args == NULL && arg_count > 0) ||
        arg_count > AGENT_NETSH_MAX_ARGS || program[0] == '\0' || strchr(program, '"') != NULL ||
        netsh_has_control(program)) {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < arg_count; i++) {
        if (args[i] == NULL || netsh_has_control(args[i])) {
            return PROTO_EINVAL;
        }
    }
    /* The program name is read by other rules (up to the next '"', no escapes): always quoted,
     * which is why it may not hold a '"'. */
    enum proto_rc result = proto_buf_appendf(out, "\"%s\"", program);
    for (size_t i = 0; i < arg_count && result == PROTO_OK; i++) {
        result = proto_buf_append_byte(out, ' ');
        if (result == PROTO_OK) {
            result = netsh_append_arg(out, args[i]);
        }
    }
    return result;
}
