/*
 * tls_gcm: AES-GCM TLS records sealed and opened by gcm_ni instead of mbedTLS 2.28 (decision
 * 006). The collector defines mbedtls_cipher_auth_encrypt_ext and _decrypt_ext, the two calls
 * through which libmbedtls protects every AEAD record; the dynamic linker binds libmbedtls to
 * these definitions. A call is served here only when it is AES-GCM with a 12-byte IV and a
 * 16-byte tag, on a CPU with AES-NI, after a self-test against mbedTLS passed; every other call
 * (ChaCha20-Poly1305, other lengths, a failed self-test, the switch off) goes to mbedTLS's own
 * function, found with dlsym(RTLD_NEXT). Owns only the switch and counters; reads the AES
 * round keys from mbedTLS's context and never changes mbedTLS state.
 */
#ifndef RRAS_COLLECTOR_TLS_GCM_H
#define RRAS_COLLECTOR_TLS_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

/* Turns the accelerated path on (when `accelerate`, the CPU allows it and the self-test
 * agrees with mbedTLS byte for byte) or off. Call before TLS traffic starts; may be called
 * again. `why` gets one line for the log saying which path serves the records and why.
 * PROTO_ECRYPTO when mbedTLS's own functions cannot be found (a static link: decision 006). */
enum proto_rc col_tls_gcm_setup(bool accelerate, char *why, size_t why_size);

/* Whether AES-GCM records currently go through gcm_ni. */
bool col_tls_gcm_accelerated(void);

/* Records (sealed + opened, forged ones included) served by gcm_ni since start. */
uint64_t col_tls_gcm_records(void);

#endif
