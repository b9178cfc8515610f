/*
 * fuzz_json_span: the raw-text member locator against cJSON on arbitrary bytes.
 *
 * Whenever the text is a JSON object cJSON accepts and the locator finds "snapshot", the span
 * must lie inside the input and parse, on its own, to the same value cJSON gives for that
 * member (compared by cJSON's compact printing). Anything else aborts. On text cJSON refuses
 * the locator only has to stay inside the buffer, which the sanitizers check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_json_span: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t off = 0;
    size_t len = 0;
    if (size > 65536) {
        return 0;
    }
    enum proto_rc rc = proto_json_member_span(text, size, "snapshot", &off, &len);
    if (rc == PROTO_OK && (off > size || len > size - off || len == 0)) {
        fuzz_fail("span outside the input");
    }
    /* Only whole documents without NUL bytes mean the same to both readers. */
    if (rc != PROTO_OK || memchr(text, '\0', size) != NULL) {
        return 0;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    if (doc == NULL || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return 0;
    }
    const cJSON *member = cJSON_GetObjectItemCaseSensitive(doc, "snapshot");
    if (member == NULL) {
        fuzz_fail("span found where cJSON has no such member");
    }
    cJSON *alone = cJSON_ParseWithLength(text + off, len);
    if (alone == NULL) {
        fuzz_fail("the span does not parse on its own");
    }
    char *a = cJSON_PrintUnformatted(member);
    char *b = cJSON_PrintUnformatted(alone);
    if (a == NULL || b == NULL || strcmp(a, b) != 0) {
        fuzz_fail("the span is not the member cJSON reads");
    }
    cJSON_free(a);
    cJSON_free(b);
    cJSON_Delete(alone);
    cJSON_Delete(doc);
    return 0;
}
