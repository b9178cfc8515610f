/*
 * derive: the typed snapshot fields computed from raw registry values and SSL bindings.
 *
 * Kept apart from the parsers so the bundle source and the live Win32 source derive the same
 * way from the same raw data, and so the collector can re-derive from a stored report.
 */
#include "derive.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model.h"

#define DERIVE_RASMAN_KEY "Services\\Rasman\\Parameters"
#define DERIVE_SSTP_KEY "Services\\SstpSvc\\Parameters"
#define DERIVE_APPID_IPHTTPS "{5d8e2743-ef20-4d38-8751-7e400f200e65}"
#define DERIVE_APPID_SSTP "{ba195980-cd49-458b-9e23-c84ee0adcd75}"

static struct proto_dword_opt derive_dword(const struct proto_snapshot *snap, const char *name)
{
    struct proto_dword_opt opt = {false, 0};
    const struct proto_reg_value *v = proto_snapshot_find_reg(snap, DERIVE_RASMAN_KEY, name);
    if (v != NULL && v->type == PROTO_REG_DWORD) {
        opt.present = true;
        opt.value = (uint32_t)v->number;
    }
    return opt;
}

static void derive_hex(const unsigned char *bytes, size_t len, char *out, size_t out_size)
{
    out[0] = '\0';
    if (len * 2 + 1 > out_size) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        snprintf(out + 2 * i, 3, "%02X", bytes[i]);
    }
}

static void derive_sstp_hash(const struct proto_snapshot *snap, const char *name, size_t want_len,
                             char *out, size_t out_size)
{
    const struct proto_reg_value *v = proto_snapshot_find_reg(snap, DERIVE_SSTP_KEY, name);
    if (v != NULL && v->type == PROTO_REG_BINARY && v->bytes_len == want_len) {
        derive_hex(v->bytes, v->bytes_len, out, out_size);
    }
}

static const struct proto_ssl_binding *derive_binding(const struct proto_snapshot *snap,
                                                      const char *app_id)
{
    for (size_t i = 0; i < snap->ssl_binding_count; i++) {
        const struct proto_ssl_binding *b = &snap->ssl_bindings[i];
        if (b->app_id != NULL && strcasecmp(b->app_id, app_id) == 0 && b->cert_hash[0] != '\0') {
            return b;
        }
    }
    return NULL;
}

void proto_snapshot_derive(struct proto_snapshot *snap)
{
    snap->prohibit_ipsec = derive_dword(snap, "ProhibitIpSec");
    snap->allow_l2tp_weak_crypto = derive_dword(snap, "AllowL2TPWeakCrypto");
    snap->negotiate_dh2048_aes256 = derive_dword(snap, "NegotiateDH2048_AES256");

    snap->iphttps_cert_sha1[0] = '\0';
    const struct proto_ssl_binding *iphttps = derive_binding(snap, DERIVE_APPID_IPHTTPS);
    if (iphttps != NULL) {
        snprintf(snap->iphttps_cert_sha1, sizeof(snap->iphttps_cert_sha1), "%s",
                 iphttps->cert_hash);
    }

    snap->sstp_cert_sha1[0] = '\0';
    snap->sstp_cert_sha256[0] = '\0';
    derive_sstp_hash(snap, "SHA1CertificateHash", 20, snap->sstp_cert_sha1,
                     sizeof(snap->sstp_cert_sha1));
    derive_sstp_hash(snap, "SHA256CertificateHash", 32, snap->sstp_cert_sha256,
                     sizeof(snap->sstp_cert_sha256));
    if (snap->sstp_cert_sha1[0] == '\0' && snap->sstp_cert_sha256[0] == '\0') {
        const struct proto_ssl_binding *sstp = derive_binding(snap, DERIVE_APPID_SSTP);
        if (sstp != NULL) {
            snprintf(snap->sstp_cert_sha1, sizeof(snap->sstp_cert_sha1), "%s", sstp->cert_hash);
        }
    }
}
