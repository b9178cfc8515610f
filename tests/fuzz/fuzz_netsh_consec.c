/*
 * fuzz_netsh_consec: proto_netsh_consec_parse on arbitrary text. Checks the contract on every
 * input: a failure leaves no rules and rules_available false; the rule count stays within
 * PROTO_MAX_RULES; Auth1PSK only ever holds PROTO_REDACTED; no value exceeds its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "netsh_consec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_snapshot *snap = proto_snapshot_create();
    if (snap == NULL) {
        return 0;
    }
    enum proto_rc rc = proto_netsh_consec_parse((const char *)data, size, "fuzz", snap);
    if (rc != PROTO_OK && (snap->rule_count != 0 || snap->rules_available)) {
        abort();
    }
    if (snap->rule_count > PROTO_MAX_RULES) {
        abort();
    }
    for (size_t r = 0; r < snap->rule_count; r++) {
        const struct proto_consec_rule *rule = &snap->rules[r];
        const char *psk = rule->field[PROTO_RULE_AUTH1_PSK];
        if (psk != NULL && (strcmp(psk, PROTO_REDACTED) != 0 || !rule->psk_redacted)) {
            abort();
        }
        for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
            if (rule->field[f] != NULL && strlen(rule->field[f]) > PROTO_MAX_STRING) {
                abort();
            }
        }
        if (rule->extra_count > PROTO_MAX_RULE_EXTRA) {
            abort();
        }
    }
    proto_snapshot_destroy(snap);
    return 0;
}
