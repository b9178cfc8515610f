/*
 * fuzz_dn: proto_dn_parse on arbitrary text. Whatever parses must format (in both orders) to
 * text that parses back to an equal DN with the exact same types and values; abort() if not.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "dn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_dn_round_trip(const struct proto_dn *dn, bool reverse)
{
    char *text = NULL;
    struct proto_dn again = {0};

    if (proto_dn_format(dn, reverse, &text) != PROTO_OK) {
        abort();
    }
    enum proto_rc rc = proto_dn_parse(text, &again);
    if (rc == PROTO_ELIMIT && strlen(text) > PROTO_MAX_NAME) {
        /* Escaping made it longer than parse accepts: not a round-trip failure. */
        goto out;
    }
    if (rc != PROTO_OK || again.count != dn->count || !proto_dn_equal(dn, &again)) {
        abort();
    }
    for (size_t k = 0; k < dn->count; k++) {
        size_t j = reverse ? dn->count - 1 - k : k;
        if (strcmp(again.attrs[k].type, dn->attrs[j].type) != 0 ||
            strcmp(again.attrs[k].value, dn->attrs[j].value) != 0) {
            abort();
        }
    }
out:
    proto_dn_clear(&again);
    proto_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_dn dn = {0};
    struct proto_dn copy = {0};

    if (size > 4 * PROTO_MAX_NAME) {
        return 0;
    }
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    enum proto_rc rc = proto_dn_parse(text, &dn);
    if (rc != PROTO_OK) {
        if (dn.count != 0 || dn.attrs != NULL) {
            abort();
        }
        goto out;
    }
    if (dn.count == 0 || !proto_dn_equal(&dn, &dn)) {
        abort();
    }
    if (proto_dn_get(&dn, dn.attrs[0].type) == NULL) {
        abort();
    }
    if (proto_dn_copy(&dn, &copy) != PROTO_OK || !proto_dn_equal(&dn, &copy)) {
        abort();
    }
    fuzz_dn_round_trip(&dn, false);
    fuzz_dn_round_trip(&dn, true);
out:
    proto_dn_clear(&copy);
    proto_dn_clear(&dn);
    free(text);
    return 0;
}
