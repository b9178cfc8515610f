/*
 * test_metrics: the collector's counters and histogram as Prometheus text: exact sample lines,
 * cumulative buckets, gauges passed in at render time, NULL tolerance and thread-safety.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static struct proto_buf rendered; /* freed by the group teardown */

static char *render(struct col_metrics *m, uint64_t queue, int64_t db)
{
    proto_buf_free(&rendered);
    proto_buf_init(&rendered, 1 << 20);
    assert_int_equal(col_metrics_render(m, queue, db, &rendered), PROTO_OK);
    return rendered.data;
}

static void assert_line(const char *text, const char *line)
{
    char needle[256];
    int n = snprintf(needle, sizeof(needle), "\n%s\n", line);
    assert_true(n > 0 && (size_t)n < sizeof(needle));
    if (strstr(text, needle) == NULL) {
        fail_msg("missing line \"%s\" in:\n%s", line, text);
    }
}

static void test_fresh_metrics_render_every_family_at_zero(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    assert_non_null(m);
    const char *text = render(m, 0, 4096);
    assert_line(text, "# TYPE rrasfleet_reports_accepted_total counter");
    assert_line(text, "rrasfleet_reports_accepted_total{duplicate=\"false\"} 0");
    assert_line(text, "rrasfleet_reports_rejected_total{reason=\"too_large\"} 0");
    assert_line(text, "# TYPE rrasfleet_ingest_seconds histogram");
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"+Inf\"} 0");
    assert_line(text, "rrasfleet_ingest_seconds_count 0");
    assert_line(text, "rrasfleet_writer_queue_depth 0");
    assert_line(text, "rrasfleet_db_size_bytes 4096");
    assert_line(text, "rrasfleet_tls_handshakes_total{result=\"resumed\"} 0");
    assert_line(text, "rrasfleet_connections_open 0");
    assert_line(text, "rrasfleet_connections_refused_total 0");
    assert_line(text, "rrasfleet_connection_threads_total{thread=\"pooled\"} 0");
    col_metrics_destroy(m);
}

static void test_reports_and_rejections_are_counted_by_label(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    col_metrics_report_accepted(m, 0, 0.002);
    col_metrics_report_accepted(m, 0, 0.002);
    col_metrics_report_accepted(m, 1, 0.0005);
    col_metrics_report_rejected(m, COL_REJECT_FORBIDDEN);
    col_metrics_report_rejected(m, COL_REJECT_INVALID_REPORT);
    col_metrics_report_rejected(m, COL_REJECT_INVALID_REPORT);
    col_metrics_report_rejected(m, COL_REJECT_REASON_COUNT); /* out of range: ignored */
    const char *text = render(m, 7, -1);
    assert_line(text, "rrasfleet_reports_accepted_total{duplicate=\"false\"} 2");
    assert_line(text, "rrasfleet_reports_accepted_total{duplicate=\"true\"} 1");
    assert_line(text, "rrasfleet_reports_rejected_total{reason=\"forbidden\"} 1");
    assert_line(text, "rrasfleet_reports_rejected_total{reason=\"invalid_report\"} 2");
    assert_line(text, "rrasfleet_reports_rejected_total{reason=\"bad_request\"} 0");
    assert_line(text, "rrasfleet_writer_queue_depth 7");
    assert_null(strstr(text, "rrasfleet_db_size_bytes")); /* unknown size: family omitted */
    col_metrics_destroy(m);
}

static void test_histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    col_metrics_report_accepted(m, 0, 0.0005); /* le 0.001 */
    col_metrics_report_accepted(m, 0, 0.001);  /* le 0.001 (bounds are inclusive) */
    col_metrics_report_accepted(m, 0, 0.02);   /* le 0.025 */
    col_metrics_report_accepted(m, 0, 42.0);   /* +Inf only */
    col_metrics_report_accepted(m, 0, -3.0);   /* clock step: counted as 0 */
    const char *text = render(m, 0, -1);
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"0.001\"} 3");
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"0.01\"} 3");
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"0.025\"} 4");
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"10\"} 4");
    assert_line(text, "rrasfleet_ingest_seconds_bucket{le=\"+Inf\"} 5");
    assert_line(text, "rrasfleet_ingest_seconds_sum 42.021500");
    assert_line(text, "rrasfleet_ingest_seconds_count 5");
    col_metrics_destroy(m);
}

static void test_handshakes_and_connections_are_split_by_outcome(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    col_metrics_handshake(m, 1, 0);
    col_metrics_handshake(m, 1, 1);
    col_metrics_handshake(m, 1, 1);
    col_metrics_handshake(m, 0, 1);
    col_metrics_connection(m, +1);
    col_metrics_connection(m, +1);
    col_metrics_connection(m, +1);
    col_metrics_connection(m, -1);
    col_metrics_connection_refused(m);
    col_metrics_connection_thread(m, false);
    col_metrics_connection_thread(m, true);
    col_metrics_connection_thread(m, true);
    const char *text = render(m, 0, -1);
    assert_line(text, "rrasfleet_tls_handshakes_total{result=\"full\"} 1");
    assert_line(text, "rrasfleet_tls_handshakes_total{result=\"resumed\"} 2");
    assert_line(text, "rrasfleet_tls_handshakes_total{result=\"failed\"} 1");
    assert_line(text, "rrasfleet_connections_open 2");
    assert_line(text, "rrasfleet_connections_total 3");
    assert_line(text, "rrasfleet_connections_refused_total 1");
    assert_line(text, "rrasfleet_connection_threads_total{thread=\"new\"} 1");
    assert_line(text, "rrasfleet_connection_threads_total{thread=\"pooled\"} 2");
    col_metrics_destroy(m);
}

static void test_null_metrics_are_ignored_by_updates_and_refused_by_render(void **state)
{
    (void)state;
    struct proto_buf out;
    proto_buf_init(&out, 1024);
    col_metrics_report_accepted(NULL, 0, 1.0);
    col_metrics_report_rejected(NULL, COL_REJECT_BUSY);
    col_metrics_handshake(NULL, 1, 1);
    col_metrics_connection(NULL, 1);
    col_metrics_connection_refused(NULL);
    col_metrics_destroy(NULL);
    assert_int_equal(col_metrics_render(NULL, 0, 0, &out), PROTO_EINVAL);
    proto_buf_free(&out);
}

static void test_render_into_a_too_small_buffer_fails_with_limit(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    struct proto_buf out;
    proto_buf_init(&out, 100);
    assert_int_equal(col_metrics_render(m, 0, 0, &out), PROTO_ELIMIT);
    proto_buf_free(&out);
    col_metrics_destroy(m);
}

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 20000

static void *hammer(void *arg)
{
    struct col_metrics *m = arg;
    for (int k = 0; k < HAMMER_ROUNDS; k++) {
        col_metrics_connection(m, +1);
        col_metrics_handshake(m, 1, k & 1);
        col_metrics_report_accepted(m, 0, 0.003);
        col_metrics_connection(m, -1);
    }
    return NULL;
}

static void test_concurrent_updates_lose_nothing(void **state)
{
    (void)state;
    struct col_metrics *m = col_metrics_create();
    pthread_t threads[HAMMER_THREADS];
    for (int k = 0; k < HAMMER_THREADS; k++) {
        assert_int_equal(pthread_create(&threads[k], NULL, hammer, m), 0);
    }
    for (int k = 0; k < HAMMER_THREADS; k++) {
        pthread_join(threads[k], NULL);
    }
    char line[128];
    const char *text = render(m, 0, -1);
    snprintf(line, sizeof(line), "rrasfleet_connections_total %d", HAMMER_THREADS * HAMMER_ROUNDS);
    assert_line(text, line);
    assert_line(text, "rrasfleet_connections_open 0");
    snprintf(line, sizeof(line), "rrasfleet_tls_handshakes_total{result=\"resumed\"} %d",
             HAMMER_THREADS * HAMMER_ROUNDS / 2);
    assert_line(text, line);
    snprintf(line, sizeof(line), "rrasfleet_ingest_seconds_bucket{le=\"0.005\"} %d",
             HAMMER_THREADS * HAMMER_ROUNDS);
    assert_line(text, line);
    col_metrics_destroy(m);
}

static int teardown_buffer(void **state)
{
    (void)state;
    proto_buf_free(&rendered);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_metrics_render_every_family_at_zero),
        cmocka_unit_test(test_reports_and_rejections_are_counted_by_label),
        cmocka_unit_test(test_histogram_buckets_are_cumulative_with_sum_and_count),
        cmocka_unit_test(test_handshakes_and_connections_are_split_by_outcome),
        cmocka_unit_test(test_null_metrics_are_ignored_by_updates_and_refused_by_render),
        cmocka_unit_test(test_render_into_a_too_small_buffer_fails_with_limit),
        cmocka_unit_test(test_concurrent_updates_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_buffer);
}
