/*
 * sign: ES256 signatures (ECDSA P-256 over SHA-256) of remediation profiles, and the keys that
 * make and check them (DESIGN §8), through mbedTLS's pk API; nothing here implements a
 * primitive. Owns the keys it loads (destroy them); a private key is wiped when destroyed.
 * It never decides whom to trust: the agent passes the keys of its own configuration.
 *
 * The signed envelope (wire_envelope.h) carries the payload bytes, "ES256", the signer's key_id
 * (the first 16 lower-case hex digits of the SHA-256 of its public key's DER,
 * SubjectPublicKeyInfo) and the DER signature. proto_envelope_open verifies the signature over
 * the exact payload bytes BEFORE the payload is parsed.
 */
#ifndef PROTO_SIGN_H
#define PROTO_SIGN_H

#include <stddef.h>

#include "json.h"
#include "rc.h"
#include "wire_profile.h"

#define PROTO_KEY_ID_LEN 16u
#define PROTO_MAX_KEY_PEM_BYTES (16u * 1024u) /* a key file, private or public */

struct proto_sign_key;   /* a private P-256 key: signs */
struct proto_verify_key; /* a public P-256 key: verifies */

/* A new P-256 key pair as PEM text (SEC1 "EC PRIVATE KEY" private, SubjectPublicKeyInfo
 * "PUBLIC KEY" public), both NUL-terminated and caller-freed: the private one with
 * proto_sign_pem_free (which wipes it), the public one with proto_free. Both NULL on failure:
 * PROTO_ENOMEM, or PROTO_ECRYPTO when the random generator or mbedTLS fails. */
enum proto_rc proto_sign_key_generate(char **private_pem, char **public_pem);
/* Wipes and frees PEM text holding a private key. Accepts NULL. */
void proto_sign_pem_free(char *pem);

/* Loads a private key (PEM file, SEC1 or unencrypted PKCS#8; ECDSA P-256 only). err (may be
 * NULL) gets a one-line reason naming the file: PROTO_ENOTFOUND (no file), PROTO_EIO,
 * PROTO_ELIMIT (over PROTO_MAX_KEY_PEM_BYTES), PROTO_EPARSE (not PEM, encrypted, an RSA key,
 * another curve, or a public half that does not match), PROTO_ENOMEM. Caller destroys *out
 * (NULL on failure). The file's bytes are wiped from memory once parsed. */
enum proto_rc proto_sign_key_load(const char *path, struct proto_sign_key **out, char *err,
                                  size_t err_size);
void proto_sign_key_destroy(struct proto_sign_key *key); /* accepts NULL */

/* Loads a public key ("PUBLIC KEY" PEM, ECDSA P-256 only) from a file, or for _from_pem from
 * PEM text of len bytes (borrowed; need not be NUL-terminated; "<pem>" names it in err).
 * Same codes. Caller destroys *out (NULL on failure). */
enum proto_rc proto_verify_key_load(const char *path, struct proto_verify_key **out, char *err,
                                    size_t err_size);
enum proto_rc proto_verify_key_from_pem(const char *pem, size_t len, struct proto_verify_key **out,
                                        char *err, size_t err_size);
void proto_verify_key_destroy(struct proto_verify_key *key); /* accepts NULL */

/* The key_id of a key (17 bytes: 16 hex digits and the NUL). */
void proto_sign_key_id(const struct proto_sign_key *key, char out[PROTO_KEY_ID_LEN + 1]);
void proto_verify_key_id(const struct proto_verify_key *key, char out[PROTO_KEY_ID_LEN + 1]);

/* DER signature of SHA-256(data[0..len)) into sig (room for PROTO_MAX_SIG_BYTES: a
 * signature is at most 72 bytes). mbedTLS (built with MBEDTLS_ECDSA_DETERMINISTIC) takes the nonce
 * from RFC 6979, and a generator seeded from the system's entropy for each call blinds the
 * computation. PROTO_ECRYPTO when mbedTLS fails. */
enum proto_rc proto_sign(const struct proto_sign_key *key, const void *data, size_t len,
                         unsigned char *sig, size_t *sig_len);
/* PROTO_OK when sig is key's signature of data; PROTO_ECRYPTO otherwise (any malformed sig). */
enum proto_rc proto_verify(const struct proto_verify_key *key, const void *data, size_t len,
                           const unsigned char *sig, size_t sig_len);

/* Encodes the profile, signs the bytes and wraps them in an envelope: *out (caller frees with
 * proto_free; NULL on failure) is what travels. The encoder's codes (PROTO_EINVAL for a profile
 * the decoder would refuse), PROTO_ECRYPTO, PROTO_ENOMEM. */
enum proto_rc proto_envelope_seal(const struct proto_sign_key *key,
                                  const struct proto_profile *profile, char **out, size_t *out_len);

/* Why an envelope was refused (for the agent's report and its exit status). */
enum proto_open_refusal {
    PROTO_OPEN_OK = 0,
    PROTO_OPEN_MALFORMED,   /* not an envelope: bad JSON, members, base64, alg other than ES256 */
    PROTO_OPEN_UNKNOWN_KEY, /* key_id matches none of the trusted keys */
    PROTO_OPEN_BAD_SIGNATURE,
    PROTO_OPEN_BAD_PAYLOAD, /* signed, but not a valid profile (decoder refused it) */
    PROTO_OPEN_ERROR        /* not a refusal of the envelope: out of memory, bad arguments */
};
const char *proto_open_refusal_str(enum proto_open_refusal why);

/*
 * Opens an envelope with the trusted keys (borrowed array of n, none NULL): decodes the
 * envelope, finds the key by key_id, verifies the signature over the exact payload bytes, and
 * only then decodes the profile into *out (caller destroys). On refusal *out is NULL, *why says
 * which step, and err (may be NULL) a one-line reason naming the member where there is one.
 * Returns PROTO_OK only when *why is PROTO_OPEN_OK; otherwise MALFORMED and BAD_PAYLOAD return
 * the decoder's code, UNKNOWN_KEY PROTO_ENOTFOUND, BAD_SIGNATURE PROTO_ECRYPTO, and ERROR
 * PROTO_ENOMEM (or PROTO_EINVAL for NULL arguments). Every key whose key_id matches is tried.
 */
enum proto_rc proto_envelope_open(const struct proto_verify_key *const *trusted, size_t n,
                                  const char *text, size_t len, struct proto_profile **out,
                                  enum proto_open_refusal *why, char *err, size_t err_size);

#endif
