/*
 * fuzz_json_check: the RFC 8259 validator (proto/json_check.h) against cJSON on arbitrary bytes.
 *
 * The validator is the stricter reader: whatever it accepts, cJSON must parse whole (only JSON
 * whitespace after the value), and whatever cJSON refuses, the validator must refuse too. A
 * document it accepts must also survive the name check, and cJSON's own printing of it must pass
 * the validator again. Any disagreement aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, const struct proto_json_check_error *err)
{
    fprintf(stderr, "fuzz_json_check: %s (%s at \"%s\")\n", what, err->message, err->member);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct proto_json_check_error err;
    if (size > 65536) {
        return 0;
    }
    enum proto_rc rc = proto_json_check(text, size, PROTO_JSON_CHECK_MAX_DEPTH, &err);
    if (rc != PROTO_OK && (err.message[0] == '\0' || err.offset > size)) {
        fuzz_fail("a refusal without a message or outside the input", &err);
    }
    const char *end = NULL;
    cJSON *doc = size > 0 ? cJSON_ParseWithLengthOpts(text, size, &end, 0) : NULL;
    bool cjson_whole = doc != NULL;
    for (const char *p = end; cjson_whole && p < text + size; p++) {
        cjson_whole = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
    }
    if (rc == PROTO_OK && !cjson_whole) {
        fuzz_fail("the validator accepts what cJSON refuses", &err);
    }
    if (rc == PROTO_OK) {
        enum proto_rc names = proto_json_check_unique_names(doc, &err);
        if (names != PROTO_OK && names != PROTO_EPARSE) {
            fuzz_fail("the name check failed on a valid document", &err);
        }
        char *printed = cJSON_PrintUnformatted(doc);
        if (printed == NULL) {
            fuzz_fail("cJSON could not print what it parsed", &err);
        }
        if (proto_json_check(printed, strlen(printed), PROTO_JSON_CHECK_MAX_DEPTH, &err) !=
            PROTO_OK) {
            fuzz_fail("cJSON's printing of a valid document is refused", &err);
        }
        cJSON_free(printed);
    }
    cJSON_Delete(doc);
    return 0;
}
