/*
 * derive: the typed snapshot fields computed from raw registry values and SSL bindings, so
 * every source (the bundle, the live Windows host) and the collector derive them the same way.
 */
#ifndef PROTO_DERIVE_H
#define PROTO_DERIVE_H

#include "model.h"

/*
 * Fills the typed fields (prohibit_ipsec, allow_l2tp_weak_crypto, negotiate_dh2048_aes256,
 * iphttps_cert_sha1, sstp_cert_sha1/sha256) from the raw registry values and SSL bindings.
 * Every source calls this once after reading.
 */
void proto_snapshot_derive(struct proto_snapshot *snap);

#endif
