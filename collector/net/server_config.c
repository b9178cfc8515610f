/*
 * server_config: the server's configuration from the collector's, and its defaults (see
 * server_config.h).
 */
#include "server_config.h"

#include <stdio.h>
#include <string.h>

#include "caps.h"

void col_server_config_from(struct col_server_config *out, const struct col_config *cfg)
{
    memset(out, 0, sizeof(*out));
    out->agent_listen = cfg->listen;
    out->admin_listen = cfg->admin_listen;
    out->tls_cert = cfg->tls_cert;
    out->tls_key = cfg->tls_key;
    out->client_ca = cfg->client_ca;
    out->session_tickets = cfg->session_tickets;
    out->event_keepalive = cfg->event_keepalive;
    /* Next to the database by default: a directory only the collector's user writes. */
    int n =
        cfg->ticket_key_file[0] != '\0'
            ? snprintf(out->ticket_key_file, sizeof(out->ticket_key_file), "%s",
                       cfg->ticket_key_file)
            : snprintf(out->ticket_key_file, sizeof(out->ticket_key_file), "%s-tickets", cfg->db);
    if (n < 0 || (size_t)n >= sizeof(out->ticket_key_file)) {
        out->ticket_key_file[0] = '\0'; /* cannot happen: both sources are shorter */
    }
    out->max_connections = cfg->max_connections;
    out->max_body_bytes = cfg->max_body_bytes;
    out->handshake_timeout_ms = cfg->handshake_timeout_ms;
    out->header_timeout_ms = cfg->header_timeout_ms;
    out->body_timeout_ms = cfg->body_timeout_ms;
    out->idle_timeout_ms = cfg->idle_timeout_ms;
    out->stop_grace_ms = COL_SERVER_DEFAULT_STOP_GRACE_MS;
}

static void col_server_config_or(unsigned long *value, unsigned long fallback)
{
    if (*value == 0) {
        *value = fallback;
    }
}

void col_server_config_defaults(struct col_server_config *cfg)
{
    col_server_config_or(&cfg->max_connections, 1024);
    col_server_config_or(&cfg->max_body_bytes, PROTO_MAX_REPORT_BYTES);
    col_server_config_or(&cfg->handshake_timeout_ms, 10000);
    col_server_config_or(&cfg->header_timeout_ms, 10000);
    col_server_config_or(&cfg->body_timeout_ms, 30000);
    col_server_config_or(&cfg->idle_timeout_ms, 60000);
    col_server_config_or(&cfg->stop_grace_ms, COL_SERVER_DEFAULT_STOP_GRACE_MS);
    col_server_config_or(&cfg->idle_thread_ms, COL_SERVER_DEFAULT_IDLE_THREAD_MS);
    col_server_config_or(&cfg->idle_threads_max, COL_SERVER_DEFAULT_IDLE_THREADS);
    col_server_config_or(&cfg->clock_recheck_ms, COL_SERVER_DEFAULT_CLOCK_RECHECK_MS);
}
