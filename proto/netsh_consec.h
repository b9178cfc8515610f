/*
 * netsh_consec: parser of `netsh advfirewall consec show rule name=all verbose` output.
 *
 * Input is decoded text (proto_text_decode). Rules are appended to the snapshot with the fields
 * of proto_rule_fields[]; labels are 38-column padded, values may wrap onto unlabelled
 * continuation lines, labels may contain spaces ("Rule source"). An `Auth1PSK:` value is dropped
 * at parse time and replaced by PROTO_REDACTED. Localized labels are not guessed at: the rule
 * name is taken by position (the line before the 70-dash line), the rule is marked
 * labels_unrecognised and one error entry is added. Never stores more than PROTO_MAX_RULES.
 */
#ifndef PROTO_NETSH_CONSEC_H
#define PROTO_NETSH_CONSEC_H

#include <stddef.h>

#include "model.h"

/*
 * Returns PROTO_OK and sets snap->rules_available (zero rules for "No rules match the specified
 * criteria."), PROTO_EUNAVAILABLE for empty or whitespace-only output (netsh under Wine exits 0
 * and prints nothing: that is "source unavailable", never "no rules"), PROTO_EPARSE when the
 * text is not a rule listing, PROTO_ELIMIT past a cap. On every failure an error entry with
 * source `source` is added and rules_available stays false.
 */
enum proto_rc proto_netsh_consec_parse(const char *text, size_t len, const char *source,
                                       struct proto_snapshot *snap);

#endif
