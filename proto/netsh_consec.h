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

#include "buf.h"
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

/* netsh's line width when it wraps long values (Win11 captures); 0 = never wrap. */
#define PROTO_NETSH_WRAP_COLUMNS 80u

/*
 * The inverse of the parser: appends to `out` the listing `netsh advfirewall consec show rule
 * name=all verbose` prints for `rules` (borrowed, count of them), as decoded text (UTF-8, LF;
 * proto_text_encode makes the file bytes). Each rule: a blank line, `Rule Name:`, 70 dashes,
 * one `Label:` line per printed field (NULL fields are not printed; "" prints the bare label)
 * in proto_rule_fields[] order, the unknown labels kept in `extra` just before `Rule source`
 * (where captures print them; the parser does not record where they stood); `Ok.` and a blank line
 * after the last rule, or the "No rules match" message when there are none. Labels are padded to
 * column 38; with wrap_columns > 0 a line longer than that is broken after its last space within
 * the width (netsh keeps the space), else after its last comma, onto unlabelled lines from column
 * 0. PROTO_EUNSUPPORTED for a rule whose labels were not recognised (only its name is known:
 * printing it would invent the rest), PROTO_ELIMIT past out->max.
 */
enum proto_rc proto_netsh_consec_print(const struct proto_consec_rule *rules, size_t count,
                                       unsigned wrap_columns, struct proto_buf *out);

#endif
