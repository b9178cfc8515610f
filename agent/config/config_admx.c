/*
 * config_admx: the Group Policy template (ADMX and its en-US ADML) of the settings table.
 *
 * Generated, never written by hand, so that a setting added to the table is a policy at the
 * next `rrasfleet-agent config --admx` and the committed copy in deploy/windows/admx/ cannot
 * drift (a test regenerates and compares it). One category, and per setting one Machine policy
 * whose single element writes the value named as the key under the policy key the agent reads
 * (config_registry_win32.c): text as REG_EXPAND_SZ (so paths may say %ProgramData%), numbers as
 * REG_DWORD within the table's limits, the closed lists of agent_config_choices as a drop-down,
 * booleans as 1/0. Explanations are the table's descriptions with the default and the limits.
 * Writes only to the two streams it is given; every text from the table is XML-escaped.
 */
#include "agent_config.h"

#include <ctype.h>
#include <string.h>

/* As the ADMX `key` attribute: below HKLM, without the hive (AGENT_CONFIG_POLICY_KEY). */
#define ADMX_POLICY_KEY "Software\\Policies\\rrasfleet\\Agent"
#define ADMX_PREFIX "rrasfleet"
#define ADMX_CATEGORY "rrasfleet_agent"
#define ADMX_SUPPORTED "SUPPORTED_WindowsServer2012R2_OrLater"
#define ADMX_XMLNS "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
#define ADMX_ID_BYTES 128u /* a string id: a key, '_', a choice */

/* `s` as XML character data or attribute text. */
static void admx_escape(const char *s, FILE *to)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", to);
            break;
        case '<':
            fputs("&lt;", to);
            break;
        case '>':
            fputs("&gt;", to);
            break;
        case '"':
            fputs("&quot;", to);
            break;
        default:
            fputc(*s, to);
        }
    }
}

/* The string id of `choice` of setting `key`: key_choice with every other character as '_'. */
static void admx_choice_id(const char *key, const char *choice, char out[ADMX_ID_BYTES])
{
    int n = snprintf(out, ADMX_ID_BYTES, "%s_%s", key, choice);
    if (n < 0 || (size_t)n >= ADMX_ID_BYTES) {
        out[0] = '\0'; /* the table's keys and choices are short; a test checks every id */
        return;
    }
    for (char *p = out; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_') {
            *p = '_';
        }
    }
}

/* "MAJOR.MINOR": digits, one dot, digits (the form of ADMX revision attributes). */
static bool admx_revision_ok(const char *revision)
{
    size_t major = strspn(revision, "0123456789");
    if (major == 0 || revision[major] != '.') {
        return false;
    }
    size_t minor = strspn(revision + major + 1, "0123456789");
    return minor > 0 && revision[major + 1 + minor] == '\0';
}

static void admx_policy(const struct proto_conf_entry *e, FILE *to)
{
    const char *const *choices = agent_config_choices(e->key);
    fprintf(to,
            "    <policy name=\"%s\" class=\"Machine\" displayName=\"$(string.%s)\" "
            "explainText=\"$(string.%s_Help)\" presentation=\"$(presentation.%s)\" "
            "key=\"%s\">\n",
            e->key, e->key, e->key, e->key, ADMX_POLICY_KEY);
    fprintf(to, "      <parentCategory ref=\"%s\" />\n", ADMX_CATEGORY);
    fprintf(to, "      <supportedOn ref=\"%s\" />\n", ADMX_SUPPORTED);
    fputs("      <elements>\n", to);
    if (choices != NULL) {
        fprintf(to, "        <enum id=\"%s\" valueName=\"%s\" required=\"true\">\n", e->key,
                e->key);
        for (size_t i = 0; choices[i] != NULL; i++) {
            char id[ADMX_ID_BYTES];
            admx_choice_id(e->key, choices[i], id);
            fprintf(to, "          <item displayName=\"$(string.%s)\">\n", id);
            fputs("            <value>\n              <string>", to);
            admx_escape(choices[i], to);
            fputs("</string>\n            </value>\n          </item>\n", to);
        }
        fputs("        </enum>\n", to);
    } else if (e->type == PROTO_CONF_UINT) {
        fprintf(to,
                "        <decimal id=\"%s\" valueName=\"%s\" required=\"true\" minValue=\"%lu\" "
                "maxValue=\"%lu\" />\n",
                e->key, e->key, e->min, e->max);
    } else if (e->type == PROTO_CONF_BOOL) {
        fprintf(to, "        <boolean id=\"%s\" valueName=\"%s\">\n", e->key, e->key);
        fputs("          <trueValue>\n            <decimal value=\"1\" />\n          </trueValue>\n"
              "          <falseValue>\n            <decimal value=\"0\" />\n"
              "          </falseValue>\n        </boolean>\n",
              to);
    } else {
        fprintf(to,
                "        <text id=\"%s\" valueName=\"%s\" maxLength=\"%zu\" expandable=\"true\" "
                "/>\n",
                e->key, e->key, e->size > 0 ? e->size - 1 : 0);
    }
    fputs("      </elements>\n    </policy>\n", to);
}

static void admx_write(const struct proto_conf_entry *table, size_t count, const char *revision,
                       FILE *to)
{
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", to);
    /* No double hyphen in a comment: XML forbids it, so no flag is quoted here. */
    fputs(
        "<!-- rrasfleet agent settings for Group Policy, generated from the agent's settings\n"
        "     table (agent/config/agent_config.c); do not edit: docs/deploy-gpo.md says how to\n"
        "     regenerate. Copy to %SystemRoot%\\PolicyDefinitions or the domain's central store,\n"
        "     with en-US\\rrasfleet.adml beside it. -->\n",
        to);
    fprintf(to,
            "<policyDefinitions xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" revision=\"%s\" "
            "schemaVersion=\"1.0\" xmlns=\"%s\">\n",
            revision, ADMX_XMLNS);
    fputs("  <policyNamespaces>\n", to);
    fprintf(to, "    <target prefix=\"%s\" namespace=\"%s\" />\n", ADMX_PREFIX,
            AGENT_CONFIG_ADMX_NAMESPACE);
    fputs("    <using prefix=\"windows\" namespace=\"Microsoft.Policies.Windows\" />\n", to);
    fputs("  </policyNamespaces>\n", to);
    fprintf(to, "  <resources minRequiredRevision=\"%s\" />\n", revision);
    fputs("  <supportedOn>\n    <definitions>\n", to);
    fprintf(to, "      <definition name=\"%s\" displayName=\"$(string.%s)\" />\n", ADMX_SUPPORTED,
            ADMX_SUPPORTED);
    fputs("    </definitions>\n  </supportedOn>\n", to);
    fputs("  <categories>\n", to);
    fprintf(to,
            "    <category name=\"%s\" displayName=\"$(string.%s)\" "
            "explainText=\"$(string.%s_Help)\" />\n",
            ADMX_CATEGORY, ADMX_CATEGORY, ADMX_CATEGORY);
    fputs("  </categories>\n  <policies>\n", to);
    for (size_t i = 0; i < count; i++) {
        admx_policy(&table[i], to);
    }
    fputs("  </policies>\n</policyDefinitions>\n", to);
}

static void adml_string(const char *id, const char *text, FILE *to)
{
    fprintf(to, "      <string id=\"%s\">", id);
    admx_escape(text, to);
    fputs("</string>\n", to);
}

/* The explanation of one setting: its description as a sentence, the value it writes, its
 * default and limits, and where it stands among the agent's other sources. */
static void adml_explain(const struct proto_conf_entry *e, FILE *to)
{
    const char *desc = e->description != NULL ? e->description : "";
    const char *def = agent_config_default_on(e, AGENT_CONFIG_WINDOWS);
    size_t len = strlen(desc);
    fprintf(to, "      <string id=\"%s_Help\">", e->key);
    if (len > 0) {
        fputc(toupper((unsigned char)desc[0]), to);
        admx_escape(desc + 1, to);
        fputs(desc[len - 1] == '.' ? "" : ".", to);
    }
    fputs("\n\nRegistry value: ", to);
    admx_escape(e->key, to);
    switch (e->type) {
    case PROTO_CONF_STRING:
        if (agent_config_choices(e->key) != NULL) {
            fputs(" (REG_SZ, one of the listed values)", to);
        } else {
            fprintf(to,
                    " (REG_EXPAND_SZ: %%VARIABLES%% such as %%ProgramData%% are expanded; at "
                    "most %zu bytes)",
                    e->size > 0 ? e->size - 1 : 0);
        }
        break;
    case PROTO_CONF_UINT:
        fprintf(to, " (REG_DWORD, %lu to %lu)", e->min, e->max);
        break;
    case PROTO_CONF_BOOL:
        fputs(" (REG_DWORD, 1 or 0)", to);
        break;
    }
    fputs(" in HKLM\\" ADMX_POLICY_KEY ".\nDefault: ", to);
    if (def[0] == '\0') {
        fputs("empty", to);
    } else {
        admx_escape(def, to);
    }
    fputs(".\n\nEnabled: the agent uses this value, in place of the one its installer wrote "
          "(HKLM\\SOFTWARE\\rrasfleet\\Agent). Disabled or Not Configured: the installer's value, "
          "else the default. A configuration file given with --config and command-line flags "
          "override this policy. The agent reads its settings when it starts; "
          "rrasfleet-agent.exe config --print shows each effective value and where it came "
          "from.",
          to);
    fputs("</string>\n", to);
}

static void adml_presentation(const struct proto_conf_entry *e, FILE *to)
{
    const char *const *choices = agent_config_choices(e->key);
    const char *def = agent_config_default_on(e, AGENT_CONFIG_WINDOWS);
    fprintf(to, "      <presentation id=\"%s\">\n", e->key);
    if (choices != NULL) {
        size_t item = 0;
        for (size_t i = 0; choices[i] != NULL; i++) {
            item = strcmp(choices[i], def) == 0 ? i : item;
        }
        fprintf(to, "        <dropdownList refId=\"%s\" noSort=\"true\" defaultItem=\"%zu\">",
                e->key, item);
        admx_escape(e->key, to);
        fputs("</dropdownList>\n", to);
    } else if (e->type == PROTO_CONF_UINT) {
        fprintf(to, "        <decimalTextBox refId=\"%s\" defaultValue=\"", e->key);
        admx_escape(def, to);
        fputs("\">", to);
        admx_escape(e->key, to);
        fputs("</decimalTextBox>\n", to);
    } else if (e->type == PROTO_CONF_BOOL) {
        bool on = strcmp(def, "true") == 0 || strcmp(def, "yes") == 0 || strcmp(def, "1") == 0 ||
                  strcmp(def, "on") == 0;
        fprintf(to, "        <checkBox refId=\"%s\" defaultChecked=\"%s\">", e->key,
                on ? "true" : "false");
        admx_escape(e->key, to);
        fputs("</checkBox>\n", to);
    } else {
        fprintf(to, "        <textBox refId=\"%s\">\n          <label>", e->key);
        admx_escape(e->key, to);
        fputs("</label>\n", to);
        if (def[0] != '\0') {
            fputs("          <defaultValue>", to);
            admx_escape(def, to);
            fputs("</defaultValue>\n", to);
        }
        fputs("        </textBox>\n", to);
    }
    fputs("      </presentation>\n", to);
}

static void adml_write(const struct proto_conf_entry *table, size_t count, const char *revision,
                       FILE *to)
{
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", to);
    fputs("<!-- The en-US strings of ../rrasfleet.admx, generated with it; do not edit. -->\n", to);
    fprintf(to,
            "<policyDefinitionResources xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" revision=\"%s\" "
            "schemaVersion=\"1.0\" xmlns=\"%s\">\n",
            revision, ADMX_XMLNS);
    fputs("  <displayName>rrasfleet agent</displayName>\n", to);
    fputs("  <description>Settings of the rrasfleet agent on RRAS servers.</description>\n", to);
    fputs("  <resources>\n    <stringTable>\n", to);
    adml_string(ADMX_SUPPORTED, "At least Windows Server 2012 R2", to);
    adml_string(ADMX_CATEGORY, "rrasfleet agent", to);
    adml_string(ADMX_CATEGORY "_Help",
                "Settings of the rrasfleet agent, written to HKLM\\" ADMX_POLICY_KEY
                ". Each policy is one setting of the agent, named as in its configuration file.",
                to);
    for (size_t i = 0; i < count; i++) {
        const struct proto_conf_entry *e = &table[i];
        const char *const *choices = agent_config_choices(e->key);
        adml_string(e->key, e->key, to);
        adml_explain(e, to);
        for (size_t k = 0; choices != NULL && choices[k] != NULL; k++) {
            char id[ADMX_ID_BYTES];
            admx_choice_id(e->key, choices[k], id);
            adml_string(id, choices[k], to);
        }
    }
    fputs("    </stringTable>\n    <presentationTable>\n", to);
    for (size_t i = 0; i < count; i++) {
        adml_presentation(&table[i], to);
    }
    fputs("    </presentationTable>\n  </resources>\n</policyDefinitionResources>\n", to);
}

enum proto_rc agent_config_admx(FILE *admx, FILE *adml, const char *revision)
{
    if (admx == NULL || adml == NULL || revision == NULL || !admx_revision_ok(revision)) {
        return PROTO_EINVAL;
    }
    size_t count = 0;
    const struct proto_conf_entry *table = agent_config_table(&count);
    admx_write(table, count, revision, admx);
    adml_write(table, count, revision, adml);
    return ferror(admx) || ferror(adml) ? PROTO_EIO : PROTO_OK;
}
