/*
 * output: the admin API's JSON answers as aligned text for people.
 *
 * Generic over keys: a list's columns are the keys of its items in order of first appearance,
 * so a new API field shows up without a client change. Every string from the server is
 * sanitized before it reaches the terminal (agents supply much of it: an escape sequence in a
 * certificate subject must not drive the operator's terminal) and cut to a bounded width.
 * Pure: writes into the caller's buffer, never prints, never talks to the network.
 */
#include "ctl.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "text.h"

#define OUTPUT_MAX_ROWS 100000u    /* rows in one table */
#define OUTPUT_MAX_PAIRS 2000u     /* key/value lines of one object */
#define OUTPUT_MAX_VALUE 120u      /* characters shown of one key/value value */
#define OUTPUT_FLATTEN_DEPTH 3     /* nested objects shown as a.b.c up to this depth */
#define OUTPUT_MAX_KEY_PATH 256u   /* "a.b.c" */
#define OUTPUT_GAP 2u              /* blanks between columns */
#define OUTPUT_MAX_ERROR_BODY 200u /* characters of a non-API error body shown */

/* Appends s with control characters and invalid UTF-8 as '?', at most max_chars characters
 * (the last three "..." when cut). *width gets the characters written. */
static enum proto_rc output_clean(struct proto_buf *out, const char *s, size_t max_chars,
                                  size_t *width)
{
    enum proto_rc result = PROTO_OK;
    const unsigned char *p = (const unsigned char *)s;
    size_t total = 0;
    for (const unsigned char *q = p; *q != '\0';) {
        size_t n = proto_utf8_decode(q, 4, NULL);
        q += n == 0 ? 1 : n;
        total++;
    }
    size_t keep = total <= max_chars ? total : (max_chars > 3 ? max_chars - 3 : 0);
    size_t written = 0;
    while (result == PROTO_OK && written < keep) {
        size_t n = proto_utf8_decode(p, 4, NULL);
        if (n == 0 || *p < 0x20 || *p == 0x7f || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0)) {
            /* C0, DEL and C1 controls (0x80-0x9F, which include the 8-bit CSI) */
            result = proto_buf_append_byte(out, '?');
            p += n == 0 ? 1 : n;
        } else {
            result = proto_buf_append(out, p, n);
            p += n;
        }
        written++;
    }
    if (result == PROTO_OK && keep < total) {
        size_t dots = max_chars < 3 ? max_chars : 3;
        result = proto_buf_append(out, "...", dots);
        written += dots;
    }
    if (width != NULL) {
        *width = written;
    }
    return result;
}

/* A sanitized, width-capped copy; caller frees with proto_free. */
static enum proto_rc output_clean_dup(const char *s, size_t max_chars, char **out, size_t *width)
{
    struct proto_buf b;
    proto_buf_init(&b, max_chars * 4 + 4);
    enum proto_rc result = output_clean(&b, s, max_chars, width);
    if (result == PROTO_OK) {
        *out = proto_buf_detach(&b, NULL);
        result = *out == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    proto_buf_free(&b);
    return result;
}

/* The raw text of a JSON value: strings as they are, numbers without a needless ".0",
 * null as "-", containers as compact JSON. Caller frees with proto_free. */
static char *output_value_text(const cJSON *v)
{
    char num[64];
    if (cJSON_IsString(v)) {
        return proto_strdup(v->valuestring != NULL ? v->valuestring : "");
    }
    if (cJSON_IsBool(v)) {
        return proto_strdup(cJSON_IsTrue(v) ? "true" : "false");
    }
    if (cJSON_IsNull(v) || v == NULL) {
        return proto_strdup("-");
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        int n = -1;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d) {
            n = snprintf(num, sizeof(num), "%lld", (long long)(int64_t)d);
        } else {
            n = snprintf(num, sizeof(num), "%.17g", d);
        }
        return proto_strdup(n > 0 && (size_t)n < sizeof(num) ? num : "?");
    }
    char *printed = cJSON_PrintUnformatted(v);
    char *copy = proto_strdup(printed != NULL ? printed : "?");
    cJSON_free(printed);
    return copy;
}

static enum proto_rc output_pad(struct proto_buf *out, size_t n)
{
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; result == PROTO_OK && i < n; i++) {
        result = proto_buf_append_byte(out, ' ');
    }
    return result;
}

/* Upper-cases ASCII in place (headers). */
static void output_upper(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s >= 'a' && *s <= 'z') {
            *s = (char)(*s - 'a' + 'A');
        }
    }
}

struct output_grid {
    size_t ncols;
    size_t nrows;        /* data rows; row 0 of cells is the header */
    char **cells;        /* (nrows + 1) * ncols, sanitized */
    size_t *cell_widths; /* same shape */
    size_t widths[COL_CTL_MAX_COLUMNS + 1];
};

static void output_grid_free(struct output_grid *g)
{
    if (g->cells != NULL) {
        for (size_t i = 0; i < (g->nrows + 1) * g->ncols; i++) {
            proto_free(g->cells[i]);
        }
    }
    proto_free(g->cells);
    proto_free(g->cell_widths);
}

static enum proto_rc output_grid_set(struct output_grid *g, size_t row, size_t col,
                                     const char *text)
{
    size_t i = row * g->ncols + col;
    enum proto_rc result =
        output_clean_dup(text, COL_CTL_MAX_CELL, &g->cells[i], &g->cell_widths[i]);
    if (result == PROTO_OK && g->cell_widths[i] > g->widths[col]) {
        g->widths[col] = g->cell_widths[i];
    }
    return result;
}

static enum proto_rc output_grid_emit(const struct output_grid *g, struct proto_buf *out,
                                      const char *indent)
{
    enum proto_rc result = PROTO_OK;
    for (size_t r = 0; result == PROTO_OK && r <= g->nrows; r++) {
        result = proto_buf_append_str(out, indent);
        for (size_t c = 0; result == PROTO_OK && c < g->ncols; c++) {
            size_t i = r * g->ncols + c;
            result = proto_buf_append_str(out, g->cells[i]);
            if (result == PROTO_OK && c + 1 < g->ncols) {
                result = output_pad(out, g->widths[c] - g->cell_widths[i] + OUTPUT_GAP);
            }
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, '\n');
        }
    }
    return result;
}

/* Columns: keys of object items in order of first appearance, then "value" if some item is
 * not an object. Borrowed from the items. */
static size_t output_columns(const cJSON *items, const char *keys[COL_CTL_MAX_COLUMNS + 1])
{
    size_t n = 0;
    bool scalar = false;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, items)
    {
        if (!cJSON_IsObject(item)) {
            scalar = true;
            continue;
        }
        const cJSON *member = NULL;
        cJSON_ArrayForEach(member, item)
        {
            bool known = false;
            for (size_t k = 0; k < n && !known; k++) {
                known = keys[k] != NULL && strcmp(keys[k], member->string) == 0;
            }
            if (!known && n < COL_CTL_MAX_COLUMNS) {
                keys[n++] = member->string;
            }
        }
    }
    if (scalar || n == 0) {
        keys[n++] = NULL; /* the item itself */
    }
    return n;
}

static enum proto_rc output_items(const cJSON *items, struct proto_buf *out, const char *indent)
{
    if (!cJSON_IsArray(items)) {
        return PROTO_EINVAL;
    }
    size_t nrows = (size_t)cJSON_GetArraySize(items);
    if (nrows == 0) {
        return proto_buf_appendf(out, "%s(no items)\n", indent);
    }
    if (nrows > OUTPUT_MAX_ROWS) {
        return PROTO_ELIMIT;
    }
    enum proto_rc result = PROTO_OK;
    const char *keys[COL_CTL_MAX_COLUMNS + 1];
    struct output_grid g = {0};
    g.ncols = output_columns(items, keys);
    g.nrows = nrows;
    g.cells = proto_calloc((nrows + 1) * g.ncols, sizeof(char *));
    g.cell_widths = proto_calloc((nrows + 1) * g.ncols, sizeof(size_t));
    if (g.cells == NULL || g.cell_widths == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    for (size_t c = 0; result == PROTO_OK && c < g.ncols; c++) {
        result = output_grid_set(&g, 0, c, keys[c] != NULL ? keys[c] : "value");
        if (result == PROTO_OK) {
            output_upper(g.cells[c]);
        }
    }
    size_t r = 1;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, items)
    {
        for (size_t c = 0; result == PROTO_OK && c < g.ncols; c++) {
            const cJSON *v = NULL;
            if (keys[c] == NULL) {
                v = cJSON_IsObject(item) ? NULL : item;
            } else if (cJSON_IsObject(item)) {
                v = cJSON_GetObjectItemCaseSensitive(item, keys[c]);
            }
            char *text = v != NULL ? output_value_text(v) : proto_strdup("");
            result = text == NULL ? PROTO_ENOMEM : output_grid_set(&g, r, c, text);
            proto_free(text);
        }
        r++;
    }
    if (result == PROTO_OK) {
        result = output_grid_emit(&g, out, indent);
    }
out:
    output_grid_free(&g);
    return result;
}

enum proto_rc col_ctl_render_items(const cJSON *items, struct proto_buf *out)
{
    if (items == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    return output_items(items, out, "");
}

static bool output_is_table(const cJSON *v)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
        return false;
    }
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, v)
    {
        if (!cJSON_IsObject(item)) {
            return false;
        }
    }
    return true;
}

struct output_pairs {
    struct output_grid grid; /* two columns, no header row shown */
    size_t count;
    size_t cap;
    bool truncated;
};

static enum proto_rc output_pair(struct output_pairs *p, const char *key, const char *value)
{
    if (p->count == OUTPUT_MAX_PAIRS) {
        p->truncated = true;
        return PROTO_OK;
    }
    size_t i = (p->count + 1) * 2; /* row 0 is the (unused) header */
    enum proto_rc result =
        output_clean_dup(key, OUTPUT_MAX_KEY_PATH, &p->grid.cells[i], &p->grid.cell_widths[i]);
    if (result == PROTO_OK) {
        result = output_clean_dup(value, OUTPUT_MAX_VALUE, &p->grid.cells[i + 1],
                                  &p->grid.cell_widths[i + 1]);
    }
    if (result == PROTO_OK) {
        p->grid.widths[0] =
            p->grid.cell_widths[i] > p->grid.widths[0] ? p->grid.cell_widths[i] : p->grid.widths[0];
        p->count++;
        p->grid.nrows = p->count;
    }
    return result;
}

/* A list of scalars joined with ", "; anything else "[N items]". Caller frees. */
static char *output_array_text(const cJSON *v)
{
    if (cJSON_GetArraySize(v) == 0) {
        return proto_strdup("-");
    }
    struct proto_buf b;
    proto_buf_init(&b, OUTPUT_MAX_VALUE * 4);
    enum proto_rc result = PROTO_OK;
    const cJSON *item = NULL;
    bool first = true;
    cJSON_ArrayForEach(item, v)
    {
        if (cJSON_IsObject(item) || cJSON_IsArray(item)) {
            proto_buf_free(&b);
            char text[48];
            int count = cJSON_GetArraySize(v);
            int n = snprintf(text, sizeof(text), "[%d item%s]", count, count == 1 ? "" : "s");
            return proto_strdup(n > 0 ? text : "[...]");
        }
        char *s = output_value_text(item);
        if (s == NULL) {
            result = PROTO_ENOMEM;
            break;
        }
        if (!first) {
            result = proto_buf_append_str(&b, ", ");
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_str(&b, s);
        }
        proto_free(s);
        first = false;
        if (result == PROTO_ELIMIT) {
            result = PROTO_OK; /* enough to show: output_clean cuts it with "..." */
            break;
        }
    }
    char *text = result == PROTO_OK ? proto_buf_detach(&b, NULL) : NULL;
    proto_buf_free(&b);
    return text;
}

/* Key/value lines of obj; nested objects as a.b up to OUTPUT_FLATTEN_DEPTH; at the top level
 * arrays of objects are left for sections. */
static enum proto_rc output_flatten(struct output_pairs *p, const cJSON *obj, const char *prefix,
                                    unsigned depth)
{
    enum proto_rc result = PROTO_OK;
    const cJSON *member = NULL;
    cJSON_ArrayForEach(member, obj)
    {
        if (result != PROTO_OK) {
            break;
        }
        char key[OUTPUT_MAX_KEY_PATH];
        int n = snprintf(key, sizeof(key), "%s%s", prefix, member->string);
        if (n < 0) {
            return PROTO_EINVAL;
        }
        if (depth == 1 && output_is_table(member)) {
            continue;
        }
        if (cJSON_IsObject(member) && member->child != NULL && depth < OUTPUT_FLATTEN_DEPTH &&
            (size_t)n + 1 < sizeof(key)) {
            key[n] = '.';
            key[n + 1] = '\0';
            result = output_flatten(p, member, key, depth + 1);
            continue;
        }
        char *text = cJSON_IsArray(member) ? output_array_text(member) : output_value_text(member);
        result = text == NULL ? PROTO_ENOMEM : output_pair(p, key, text);
        proto_free(text);
    }
    return result;
}

static enum proto_rc output_object(const cJSON *obj, struct proto_buf *out)
{
    enum proto_rc result = PROTO_OK;
    struct output_pairs p = {0};
    p.grid.ncols = 2;
    p.grid.cells = proto_calloc((OUTPUT_MAX_PAIRS + 1) * 2, sizeof(char *));
    p.grid.cell_widths = proto_calloc((OUTPUT_MAX_PAIRS + 1) * 2, sizeof(size_t));
    if (p.grid.cells == NULL || p.grid.cell_widths == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    result = output_flatten(&p, obj, "", 1);
    for (size_t r = 1; result == PROTO_OK && r <= p.count; r++) {
        size_t i = r * 2;
        result = proto_buf_append_str(out, p.grid.cells[i]);
        if (result == PROTO_OK) {
            result = output_pad(out, p.grid.widths[0] - p.grid.cell_widths[i] + OUTPUT_GAP);
        }
        if (result == PROTO_OK) {
            result = proto_buf_appendf(out, "%s\n", p.grid.cells[i + 1]);
        }
    }
    if (result == PROTO_OK && p.truncated) {
        result = proto_buf_append_str(out, "... (more: use --json)\n");
    }
    const cJSON *member = NULL;
    cJSON_ArrayForEach(member, obj)
    {
        if (result != PROTO_OK || !output_is_table(member)) {
            continue;
        }
        char *title = NULL;
        result = output_clean_dup(member->string, OUTPUT_MAX_KEY_PATH, &title, NULL);
        if (result == PROTO_OK) {
            output_upper(title);
            result = proto_buf_appendf(out, "%s%s (%d)\n", out->len > 0 ? "\n" : "", title,
                                       cJSON_GetArraySize(member));
        }
        proto_free(title);
        if (result == PROTO_OK) {
            result = output_items(member, out, "  ");
        }
    }
out:
    p.grid.nrows = OUTPUT_MAX_PAIRS; /* free every allocated cell, even of a half-made pair */
    output_grid_free(&p.grid);
    return result;
}

/* "showing 51-100 of 240" when the page is not the whole result. */
static void output_footer(const cJSON *doc, size_t shown, char *footer, size_t footer_size)
{
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(doc, "total");
    const cJSON *offset = cJSON_GetObjectItemCaseSensitive(doc, "offset");
    if (!cJSON_IsNumber(total) || total->valuedouble < 0 || total->valuedouble > 1e15) {
        return;
    }
    double off = cJSON_IsNumber(offset) && offset->valuedouble >= 0 ? offset->valuedouble : 0;
    long long t = (long long)total->valuedouble;
    long long o = off < 1e15 ? (long long)off : 0;
    int n = 0;
    if (shown == 0 && t > 0) {
        n = snprintf(footer, footer_size, "showing none of %lld (offset %lld)", t, o);
    } else if (shown > 0 && (o > 0 || o + (long long)shown < t)) {
        n = snprintf(footer, footer_size, "showing %lld-%lld of %lld", o + 1, o + (long long)shown,
                     t);
    }
    if (n < 0) {
        footer[0] = '\0';
    }
}

/* Space-separated strings of an array ("none" when empty); caller frees. */
static char *output_ids_text(const cJSON *arr)
{
    struct proto_buf b;
    proto_buf_init(&b, 16u * 1024u);
    const cJSON *id = NULL;
    enum proto_rc result = PROTO_OK;
    cJSON_ArrayForEach(id, arr)
    {
        if (result == PROTO_OK && cJSON_IsString(id)) {
            result = proto_buf_appendf(&b, "%s%s", b.len > 0 ? " " : "", id->valuestring);
        }
    }
    if (result == PROTO_OK && b.len == 0) {
        result = proto_buf_append_str(&b, "none");
    }
    char *text = result == PROTO_OK ? proto_buf_detach(&b, NULL) : NULL;
    proto_buf_free(&b);
    return text;
}

static bool output_add_ids(cJSON *to, const char *name, const cJSON *from)
{
    char *text = output_ids_text(cJSON_GetObjectItemCaseSensitive(from, name));
    bool ok = text != NULL && cJSON_AddStringToObject(to, name, text) != NULL;
    proto_free(text);
    return ok;
}

/*
 * A host document with "profiles" (each with its "results"): the profiles become a table
 * without their results, and the results one table of their own naming their profile, with
 * the finding ids as text. Nothing changes when the member is absent.
 */
static enum proto_rc output_host_profiles(cJSON *doc)
{
    cJSON *profiles = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    if (!cJSON_IsArray(profiles)) {
        return PROTO_OK;
    }
    cJSON *results = cJSON_CreateArray();
    if (results == NULL) {
        return PROTO_ENOMEM;
    }
    cJSON *p = NULL;
    cJSON_ArrayForEach(p, profiles)
    {
        if (!cJSON_IsObject(p)) {
            continue;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "profile_id");
        cJSON *reason = cJSON_GetObjectItemCaseSensitive(p, "reason");
        if (cJSON_IsArray(reason)) {
            char *text = output_ids_text(reason);
            if (text == NULL ||
                !cJSON_ReplaceItemInObjectCaseSensitive(p, "reason", cJSON_CreateString(text))) {
                proto_free(text);
                cJSON_Delete(results);
                return PROTO_ENOMEM;
            }
            proto_free(text);
        }
        cJSON *rs = cJSON_DetachItemFromObjectCaseSensitive(p, "results");
        const cJSON *r = NULL;
        cJSON_ArrayForEach(r, rs)
        {
            cJSON *row = cJSON_CreateObject();
            bool ok = row != NULL && cJSON_AddItemToArray(results, row) &&
                      cJSON_AddStringToObject(row, "profile_id",
                                              cJSON_IsString(id) ? id->valuestring : "-") != NULL;
            static const char *const names[] = {"result_id", "outcome", "finished_at", "reason"};
            for (size_t i = 0; ok && i < sizeof(names) / sizeof(names[0]); i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, names[i]);
                ok = cJSON_AddStringToObject(row, names[i],
                                             cJSON_IsString(v) ? v->valuestring : "-") != NULL;
            }
            ok = ok && output_add_ids(row, "findings_before", r) &&
                 output_add_ids(row, "findings_after", r);
            if (!ok) {
                cJSON_Delete(rs);
                cJSON_Delete(results);
                return PROTO_ENOMEM;
            }
        }
        cJSON_Delete(rs);
    }
    if (cJSON_GetArraySize(results) == 0) {
        cJSON_Delete(results);
        return PROTO_OK;
    }
    return cJSON_AddItemToObject(doc, "profile_results", results) ? PROTO_OK : PROTO_ENOMEM;
}

enum proto_rc col_ctl_whatif_refusal(const char *body, size_t len, char *out, size_t size)
{
    if (body == NULL || out == NULL || size == 0) {
        return PROTO_EINVAL;
    }
    out[0] = '\0';
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const cJSON *after =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "findings_after") : NULL;
    enum proto_rc result = PROTO_ENOTFOUND;
    if (cJSON_IsArray(after)) {
        char *ids = output_ids_text(after);
        struct proto_buf b;
        proto_buf_init(&b, 4096);
        result = ids == NULL ? PROTO_ENOMEM : output_clean(&b, ids, 400, NULL);
        if (result == PROTO_OK) {
            int n = snprintf(out, size, "findings that would remain: %s", proto_buf_str(&b));
            if (n < 0) {
                out[0] = '\0';
            }
        }
        proto_buf_free(&b);
        proto_free(ids);
    }
    cJSON_Delete(doc);
    return result;
}

enum proto_rc col_ctl_render(const char *body, size_t len, struct proto_buf *out, char *footer,
                             size_t footer_size)
{
    if (body == NULL || out == NULL || footer == NULL || footer_size == 0) {
        return PROTO_EINVAL;
    }
    footer[0] = '\0';
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (doc == NULL) {
        return PROTO_EPARSE;
    }
    enum proto_rc result = PROTO_OK;
    const cJSON *items =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "items") : NULL;
    if (cJSON_IsArray(items)) {
        result = output_items(items, out, "");
        if (result == PROTO_OK) {
            output_footer(doc, (size_t)cJSON_GetArraySize(items), footer, footer_size);
        }
    } else if (cJSON_IsArray(doc)) {
        result = output_items(doc, out, "");
    } else if (cJSON_IsObject(doc)) {
        result = output_host_profiles(doc);
        if (result == PROTO_OK) {
            result = output_object(doc, out);
        }
    } else {
        char *text = output_value_text(doc);
        result = text == NULL ? PROTO_ENOMEM : output_clean(out, text, OUTPUT_MAX_VALUE, NULL);
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, '\n');
        }
        proto_free(text);
    }
    cJSON_Delete(doc);
    return result;
}

void col_ctl_error_message(long status, const char *body, size_t len, char *out, size_t size)
{
    if (out == NULL || size == 0) {
        return;
    }
    int n = snprintf(out, size, "HTTP %ld", status);
    cJSON *doc = body != NULL && len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *error =
        cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "error") : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(error, "field");
    struct proto_buf b;
    proto_buf_init(&b, 2048);
    enum proto_rc result = PROTO_OK;
    if (cJSON_IsString(code) || cJSON_IsString(message)) {
        if (cJSON_IsString(code)) {
            result = proto_buf_append_byte(&b, ' ');
            if (result == PROTO_OK) {
                result = output_clean(&b, code->valuestring, 64, NULL);
            }
        }
        if (result == PROTO_OK && cJSON_IsString(message)) {
            result = proto_buf_append_str(&b, ": ");
            if (result == PROTO_OK) {
                result = output_clean(&b, message->valuestring, 300, NULL);
            }
        }
        if (result == PROTO_OK && cJSON_IsString(field) && field->valuestring[0] != '\0') {
            result = proto_buf_append_str(&b, " (field: ");
            if (result == PROTO_OK) {
                result = output_clean(&b, field->valuestring, 128, NULL);
            }
            if (result == PROTO_OK) {
                result = proto_buf_append_byte(&b, ')');
            }
        }
    } else if (body != NULL && len > 0) {
        /* not the API's error document (a proxy, say): a single cleaned line of it */
        char *copy = proto_strndup(body, len);
        if (copy != NULL) {
            for (char *c = copy; *c != '\0'; c++) {
                *c = (*c == '\n' || *c == '\r' || *c == '\t') ? ' ' : *c;
            }
            result = proto_buf_append_str(&b, ": ");
            if (result == PROTO_OK) {
                result = output_clean(&b, copy, OUTPUT_MAX_ERROR_BODY, NULL);
            }
            proto_free(copy);
        }
    }
    if (n > 0 && (size_t)n < size && result == PROTO_OK) {
        int m = snprintf(out + n, size - (size_t)n, "%s", proto_buf_str(&b));
        (void)m; /* truncation of a long message is acceptable */
    }
    proto_buf_free(&b);
    cJSON_Delete(doc);
}
