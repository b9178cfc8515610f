/*
 * collector_config: the collector's settings, declared once in col_config_table (config.c) and
 * loaded from the config file and then the flags (flags win). docs/collector-config.md is generated
 * from the same table (`rrasfleet-collector config --markdown`).
 */
#ifndef COL_CONFIG_H
#define COL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "conftab.h"

struct col_config {
    char listen[128];       /* agent listener, mutual TLS: "127.0.0.1:8443" */
    char admin_listen[128]; /* admin/dashboard listener, bearer tokens: "127.0.0.1:8444" */
    char tls_cert[512];
    char tls_key[512];
    char client_ca[512];
    char db[512];
    bool allow_readable_db;
    unsigned long db_max_mb;
    unsigned long max_connections;
    unsigned long max_body_bytes;
    unsigned long header_timeout_ms;
    unsigned long body_timeout_ms;
    unsigned long idle_timeout_ms;
    unsigned long handshake_timeout_ms;
    bool session_tickets;
    bool event_keepalive;
    char ticket_key_file[512];
    char expected_ca[1024];
    char profile_signing_key[512];
    unsigned long expiry_days;
    unsigned long next_interval_s;
    unsigned long max_clock_skew_s;
    unsigned long retention_days;
    unsigned long writer_queue_max;
    unsigned long writer_batch_max;
    unsigned long wal_checkpoint_pages;
    unsigned long known_snapshots;
    char log_level[16];
};

extern const struct proto_conf_entry col_config_table[];
extern const size_t col_config_table_count;

/* Defaults, then `path` (if not NULL), then the flags in argv[first..argc) (consumed and
 * compacted as proto_conf_apply_flags does). The caller frees conf with proto_conf_free. */
enum proto_rc col_config_load(struct col_config *cfg, struct proto_conf *conf, const char *path,
                              int argc, char **argv, int first, int *argc_out, char *err,
                              size_t err_size);

#endif
