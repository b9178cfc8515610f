/*
 * fuzz_text: proto_text_decode on arbitrary bytes (the first byte picks cp437 or cp850), then
 * every text parser on the result, as a bundle read would. Checks that decoded text holds no
 * CR and no NUL and is valid UTF-8 that decodes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "hostinfo.h"
#include "netsh_consec.h"
#include "netsh_sslcert.h"
#include "regquery.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = NULL, *again = NULL;
    size_t len = 0, again_len = 0;
    const char *encoding = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_host host = {0};
    unsigned cp;

    if (size == 0) {
        return 0;
    }
    cp = (data[0] & 1) ? 850u : 437u;
    if (proto_text_decode(data + 1, size - 1, cp, &text, &len, &encoding) != PROTO_OK) {
        return 0;
    }
    if (strlen(text) != len || memchr(text, '\r', len) != NULL) {
        abort();
    }
    /* OEM and UTF-8 input must come out as UTF-8 that decodes to itself. (UTF-16 may carry C1
     * controls, which the UTF-8 test rejects on purpose, so it is not held to this.) A leading
     * U+FEFF would be stripped as a BOM the second time: that alone is fine. */
    if (strcmp(encoding, "utf-16le") != 0 && len <= PROTO_MAX_TEXT_FILE_BYTES &&
        !(len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)) {
        const char *again_encoding = NULL;
        if (proto_text_decode((const unsigned char *)text, len, cp, &again, &again_len,
                              &again_encoding) != PROTO_OK ||
            strcmp(again_encoding, "utf-8") != 0 || again_len != len ||
            memcmp(again, text, len) != 0) {
            abort();
        }
    }
    snap = proto_snapshot_create();
    if (snap != NULL) {
        (void)proto_netsh_consec_parse(text, len, "fuzz", snap);
        (void)proto_netsh_sslcert_parse(text, len, "fuzz", snap);
        (void)proto_regquery_parse(text, len, "fuzz", snap);
        proto_snapshot_destroy(snap);
    }
    (void)proto_hostinfo_parse(text, len, &host, &cp);
    proto_host_clear(&host);
    proto_free(again);
    proto_free(text);
    return 0;
}
