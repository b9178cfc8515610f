/*
 * fuzz_envelope_open_key: the one public key fuzz_envelope_open trusts, and that signed the
 * valid envelopes of its seed corpus (tests/fuzz/corpus/fuzz_envelope_open). The private half was
 * made for this purpose only and thrown away: to add signed seeds, make a new pair
 * (`rrasfleet-collector keys init --dir DIR`), seal the seeds with it, replace the text below with
 * DIR/profile-signing.pub and re-seal the existing seeds. test_sign.c checks that the seeds still
 * open as their names say.
 */
#ifndef RRAS_FUZZ_ENVELOPE_OPEN_KEY_H
#define RRAS_FUZZ_ENVELOPE_OPEN_KEY_H

static const char fuzz_envelope_open_key_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqehOiRt8f5Xv5nq+vkY5wwiNyZrn\n"
    "b3GqrjjNbgqPTNaMmczALPntFRlKwJamYZgYSpfAgGgPIHbJC+yssB42Yg==\n"
    "-----END PUBLIC KEY-----\n";

#endif
