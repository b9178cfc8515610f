/*
 * timefmt: RFC 3339 timestamps <-> Unix seconds, used for report times and certificate
 * validity.
 *
 * Pure calendar arithmetic on the proleptic Gregorian calendar (days-from-civil), so it never
 * depends on timegm, the TZ variable or the size of time_t. Accepts years 0000-9999, the whole
 * RFC 3339 range, so every date a certificate can carry round-trips. Owns no memory. Leap
 * seconds (:60) are refused rather than folded.
 */
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rc.h"

/* "YYYY-MM-DDTHH:MM:SS" + a long fraction + "+HH:MM" fits well inside this. */
#define TIME_MAX_TEXT 64u
#define TIME_SECONDS_PER_DAY 86400

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
static int64_t time_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2 ? 1 : 0;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    unsigned yoe = (unsigned)(year - era * 400);                                      /* 0..399 */
    unsigned doy = (153u * (month > 2 ? month - 3 : month + 9) + 2u) / 5u + day - 1u; /* 0..365 */
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy; /* 0..146096 */
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of time_days_from_civil. */
static void time_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    unsigned mp = (5u * doy + 2u) / 153u;
    *day = doy - (153u * mp + 2u) / 5u + 1u;
    *month = mp < 10u ? mp + 3u : mp - 9u;
    *year = (int64_t)yoe + era * 400 + (*month <= 2u ? 1 : 0);
}

static bool time_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned time_days_in_month(int64_t year, unsigned month)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && time_is_leap(year)) {
        return 29;
    }
    return days[month - 1];
}

/* Exactly `n` decimal digits at s[*pos]; advances *pos. */
static bool time_digits(const char *s, size_t len, size_t *pos, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (len - *pos < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[*pos + i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10u + (unsigned)(c - '0');
    }
    *pos += n;
    *out = v;
    return true;
}

static bool time_char(const char *s, size_t len, size_t *pos, char a, char b)
{
    if (*pos >= len || (s[*pos] != a && s[*pos] != b)) {
        return false;
    }
    (*pos)++;
    return true;
}

enum proto_rc proto_time_parse_rfc3339(const char *s, int64_t *out)
{
    unsigned year, month, day, hour, minute, second;
    unsigned off_hour = 0, off_minute = 0;
    int off_sign = 0;
    size_t pos = 0;

    if (s == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    size_t len = strnlen(s, TIME_MAX_TEXT + 1);
    if (len > TIME_MAX_TEXT) {
        return PROTO_EPARSE;
    }
    if (!time_digits(s, len, &pos, 4, &year) || !time_char(s, len, &pos, '-', '-') ||
        !time_digits(s, len, &pos, 2, &month) || !time_char(s, len, &pos, '-', '-') ||
        !time_digits(s, len, &pos, 2, &day) || !time_char(s, len, &pos, 'T', 't') ||
        !time_digits(s, len, &pos, 2, &hour) || !time_char(s, len, &pos, ':', ':') ||
        !time_digits(s, len, &pos, 2, &minute) || !time_char(s, len, &pos, ':', ':') ||
        !time_digits(s, len, &pos, 2, &second)) {
        return PROTO_EPARSE;
    }
    if (time_char(s, len, &pos, '.', '.')) {
        /* Fractions are accepted and dropped: the model counts whole seconds. */
        size_t start = pos;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
            pos++;
        }
        if (pos == start) {
            return PROTO_EPARSE;
        }
    }
    if (time_char(s, len, &pos, 'Z', 'z')) {
        off_sign = 0;
    } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
        off_sign = s[pos] == '+' ? 1 : -1;
        pos++;
        if (!time_digits(s, len, &pos, 2, &off_hour) || !time_char(s, len, &pos, ':', ':') ||
            !time_digits(s, len, &pos, 2, &off_minute)) {
            return PROTO_EPARSE;
        }
    } else {
        return PROTO_EPARSE;
    }
    if (pos != len) {
        return PROTO_EPARSE;
    }
    if (month < 1 || month > 12 || day < 1 || day > time_days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 59 || off_hour > 23 || off_minute > 59) {
        return PROTO_EPARSE;
    }
    int64_t t = time_days_from_civil(year, month, day) * TIME_SECONDS_PER_DAY +
                (int64_t)hour * 3600 + (int64_t)minute * 60 + (int64_t)second;
    /* Local time = UTC + offset, so UTC = local - offset. */
    t -= (int64_t)off_sign * ((int64_t)off_hour * 3600 + (int64_t)off_minute * 60);
    *out = t;
    return PROTO_OK;
}

enum proto_rc proto_time_format_rfc3339(int64_t t, char *buf, size_t size)
{
    static const int64_t min_t = -62167219200; /* 0000-01-01T00:00:00Z */
    static const int64_t max_t = 253402300799; /* 9999-12-31T23:59:59Z */
    int64_t year;
    unsigned month, day;

    if (buf == NULL || size < 21) {
        return PROTO_EINVAL;
    }
    buf[0] = '\0';
    if (t < min_t || t > max_t) {
        return PROTO_EINVAL;
    }
    int64_t days = t / TIME_SECONDS_PER_DAY;
    int64_t rem = t % TIME_SECONDS_PER_DAY;
    if (rem < 0) {
        rem += TIME_SECONDS_PER_DAY;
        days--;
    }
    time_civil_from_days(days, &year, &month, &day);
    int n = snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)year, month, day,
                     (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60));
    if (n != 20) {
        buf[0] = '\0';
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}
