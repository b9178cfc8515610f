/*
 * config_registry_win32: the agent's settings in the registry, two keys read the same way:
 * HKLM\SOFTWARE\rrasfleet\Agent (what the MSI writes from its properties; origin "installer")
 * and HKLM\SOFTWARE\Policies\rrasfleet\Agent (Group Policy, what the ADMX template writes;
 * origin "registry"), the policy read after the installer's key so that it overrides it
 * (DESIGN §11).
 *
 * Every value under a key is one setting, named exactly as in the table: REG_SZ and
 * REG_EXPAND_SZ (expanded, so a path may say %ProgramData%) as text, REG_DWORD as a number for
 * unsigned and boolean settings. Unknown names and other types are refused like unknown keys in
 * a file, naming the value and the key. The values go through agent_config_apply_pairs, before
 * the file and the flags, which override them. Reads the 64-bit view whatever the build, never
 * writes, and caps the number of values and their sizes.
 */
#include "agent_config.h"

#include <stdio.h>
#include <string.h>

#include <windows.h>

#define POLICY_SUBKEY L"SOFTWARE\\Policies\\rrasfleet\\Agent"
#define INSTALLER_SUBKEY L"SOFTWARE\\rrasfleet\\Agent"
#define POLICY_MAX_VALUES 256u      /* far more than the table has keys */
#define POLICY_MAX_NAME_CHARS 128u  /* a value name, in UTF-16 units */
#define POLICY_MAX_DATA_CHARS 4096u /* a value's text, in UTF-16 units (conftab's line cap) */
#define POLICY_MAX_TEXT_BYTES (3u * POLICY_MAX_DATA_CHARS) /* the same as UTF-8 */

/* "KEY: value 'NAME': WHAT (error CODE)"; without the name when NULL, without the code when
 * it is negative. */
static void policy_errf(char *err, size_t err_size, const char *where, const char *name,
                        const char *what, long code)
{
    char tail[32] = "";
    if (code >= 0 && snprintf(tail, sizeof(tail), " (error %ld)", code) < 0) {
        tail[0] = '\0';
    }
    int n = name != NULL ? snprintf(err, err_size, "%s: value '%s': %s%s", where, name, what, tail)
                         : snprintf(err, err_size, "%s: %s%s", where, what, tail);
    if (n < 0 && err_size > 0) {
        err[0] = '\0';
    }
}

/* UTF-16 (len units, no NUL needed) to NUL-terminated UTF-8; false if invalid or too long. */
static bool policy_utf8(const WCHAR *w, size_t len, char *out, size_t out_size)
{
    if (len == 0) {
        out[0] = '\0';
        return true;
    }
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)len, out,
                                (int)(out_size - 1), NULL, NULL);
    if (n <= 0) {
        return false;
    }
    out[n] = '\0';
    return true;
}

/* One value's data (`bytes` of it) as text into out; *numeric for REG_DWORD. */
static enum proto_rc policy_text(DWORD type, const WCHAR *data, DWORD bytes, const char *where,
                                 const char *name, char *out, size_t out_size, bool *numeric,
                                 char *err, size_t err_size)
{
    *numeric = false;
    if (type == REG_DWORD) {
        DWORD v = 0;
        if (bytes != sizeof(v)) {
            policy_errf(err, err_size, where, name, "REG_DWORD of the wrong size", -1);
            return PROTO_EPARSE;
        }
        memcpy(&v, data, sizeof(v));
        *numeric = true;
        int n = snprintf(out, out_size, "%lu", (unsigned long)v);
        return n > 0 && (size_t)n < out_size ? PROTO_OK : PROTO_ELIMIT;
    }
    if (type != REG_SZ && type != REG_EXPAND_SZ) {
        policy_errf(err, err_size, where, name, "type is not REG_SZ, REG_EXPAND_SZ or REG_DWORD",
                    -1);
        return PROTO_EPARSE;
    }
    /* Registry strings need not end in a NUL and may carry several: the text ends at the
     * first one, and anything after it is refused rather than silently dropped. */
    size_t len = bytes / sizeof(WCHAR);
    size_t end = 0;
    while (end < len && data[end] != L'\0') {
        end++;
    }
    for (size_t i = end; i < len; i++) {
        if (data[i] != L'\0') {
            policy_errf(err, err_size, where, name, "text with an embedded NUL", -1);
            return PROTO_EPARSE;
        }
    }
    const WCHAR *text = data;
    WCHAR expanded[POLICY_MAX_DATA_CHARS + 1];
    if (type == REG_EXPAND_SZ) {
        WCHAR source[POLICY_MAX_DATA_CHARS + 1];
        memcpy(source, data, end * sizeof(WCHAR));
        source[end] = L'\0';
        DWORD n = ExpandEnvironmentStringsW(source, expanded, POLICY_MAX_DATA_CHARS + 1);
        if (n == 0 || n > POLICY_MAX_DATA_CHARS + 1) {
            policy_errf(err, err_size, where, name,
                        "cannot expand its variables, or longer once expanded",
                        (long)GetLastError());
            return PROTO_ELIMIT;
        }
        text = expanded;
        end = n - 1; /* n counts the NUL */
    }
    if (!policy_utf8(text, end, out, out_size)) {
        policy_errf(err, err_size, where, name, "not valid UTF-16 text, or too long", -1);
        return PROTO_EPARSE;
    }
    return PROTO_OK;
}

/* Every value of HKLM\`subkey` (shown as `where`) into conf with `origin`; no key, no values. */
static enum proto_rc registry_load(struct proto_conf *conf, const WCHAR *subkey, const char *where,
                                   enum proto_conf_origin origin, char *err, size_t err_size)
{
    WCHAR data[POLICY_MAX_DATA_CHARS + 1];
    char text[POLICY_MAX_TEXT_BYTES + 1];
    enum proto_rc result = PROTO_OK;
    HKEY key = NULL;
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    LSTATUS st =
        RegOpenKeyExW(HKEY_LOCAL_MACHINE, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
    if (st == ERROR_FILE_NOT_FOUND) {
        return PROTO_OK; /* nothing set there for this machine */
    }
    if (st != ERROR_SUCCESS) {
        int n = snprintf(err, err_size, "%s: cannot open (error %ld)", where, (long)st);
        if (n < 0 && err_size > 0) {
            err[0] = '\0';
        }
        return PROTO_EIO;
    }
    for (DWORD i = 0;; i++) {
        WCHAR wname[POLICY_MAX_NAME_CHARS + 1];
        char name[3 * POLICY_MAX_NAME_CHARS + 1];
        DWORD name_len = POLICY_MAX_NAME_CHARS + 1;
        DWORD type = 0;
        DWORD bytes = (DWORD)(sizeof(data) - sizeof(WCHAR));
        st = RegEnumValueW(key, i, wname, &name_len, NULL, &type, (BYTE *)data, &bytes);
        if (st == ERROR_NO_MORE_ITEMS) {
            break;
        }
        if (i >= POLICY_MAX_VALUES) {
            policy_errf(err, err_size, where, NULL, "more values than there are settings", -1);
            result = PROTO_ELIMIT;
            goto out;
        }
        if (st == ERROR_MORE_DATA) {
            /* The name or the data is too long; ask again for the name alone to say which. */
            name_len = POLICY_MAX_NAME_CHARS + 1;
            st = RegEnumValueW(key, i, wname, &name_len, NULL, NULL, NULL, NULL);
            bool named = st == ERROR_SUCCESS && policy_utf8(wname, name_len, name, sizeof(name));
            policy_errf(err, err_size, where, named ? name : "(name too long)",
                        "name or data too long", -1);
            result = PROTO_ELIMIT;
            goto out;
        }
        if (st != ERROR_SUCCESS) {
            policy_errf(err, err_size, where, NULL, "a value cannot be read", (long)st);
            result = PROTO_EIO;
            goto out;
        }
        if (!policy_utf8(wname, name_len, name, sizeof(name))) {
            policy_errf(err, err_size, where, NULL, "a value name is not valid UTF-16", -1);
            result = PROTO_EPARSE;
            goto out;
        }
        struct agent_config_pair pair = {name, text, false};
        result = policy_text(type, data, bytes, where, name, text, sizeof(text), &pair.numeric, err,
                             err_size);
        if (result) {
            goto out;
        }
        result = agent_config_apply_pairs(conf, origin, where, &pair, 1, err, err_size);
        if (result) {
            goto out;
        }
    }
out:
    RegCloseKey(key);
    return result;
}

enum proto_rc agent_config_load_policy(struct proto_conf *conf, char *err, size_t err_size)
{
    return registry_load(conf, POLICY_SUBKEY, AGENT_CONFIG_POLICY_KEY, PROTO_CONF_FROM_REGISTRY,
                         err, err_size);
}

enum proto_rc agent_config_load_installer(struct proto_conf *conf, char *err, size_t err_size)
{
    return registry_load(conf, INSTALLER_SUBKEY, AGENT_CONFIG_INSTALLER_KEY,
                         PROTO_CONF_FROM_INSTALLER, err, err_size);
}
