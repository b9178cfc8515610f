/*
 * sha256: SHA-256 with a SHA-NI block compression on x86-64, mbedTLS everywhere else.
 *
 * Padding and length encoding are portable C (FIPS 180-4 5.1.1); only the 64-byte block
 * compression uses the x86 SHA extensions, compiled through a function target attribute so
 * the build flags and the rest of the file stay generic, and chosen at run time from CPUID.
 * Owns the round constants and one cached CPU probe result. Never allocates, never reads
 * outside data[0..len), and never returns a digest other than the standard SHA-256.
 */
#include "sha256.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#if defined(__x86_64__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#define SHA256_HAVE_NI 1
#else
#define SHA256_HAVE_NI 0
#endif

void proto_sha256_portable(const void *data, size_t len,
                           unsigned char digest[PROTO_SHA256_DIGEST_LEN])
{
    /* mbedTLS 2.28's C implementation cannot fail; only an _ALT hardware port could, and a
     * wrong digest is worse than stopping: it is a content address. */
    if (mbedtls_sha256_ret((const unsigned char *)data, len, digest, 0) != 0) {
        abort();
    }
}

#if SHA256_HAVE_NI

#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>

#define SHA256_BLOCK 64
#define SHA256_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#define SHA256_NI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))

/* CPUID bits (Intel SDM vol. 2A, CPUID): leaf 1 ECX, leaf 7 sub-leaf 0 EBX. */
#define SHA256_CPUID1_ECX_SSSE3 (1u << 9)
#define SHA256_CPUID1_ECX_SSE41 (1u << 19)
#define SHA256_CPUID7_EBX_SHA (1u << 29)

enum sha256_cpu { SHA256_CPU_UNKNOWN = 0, SHA256_CPU_PLAIN, SHA256_CPU_NI };

/* Benign race: every thread that sees UNKNOWN probes and stores the same answer. */
static atomic_int sha256_cpu_state = SHA256_CPU_UNKNOWN;

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64
 * primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

/* FIPS 180-4 5.3.3: the initial hash value H(0), words a..h. */
static const uint32_t sha256_h0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static bool sha256_cpu_probe(void)
{
    unsigned int eax = 0;
    unsigned int ebx = 0;
    unsigned int ecx = 0;
    unsigned int edx = 0;

    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return false;
    }
    unsigned int need1 = SHA256_CPUID1_ECX_SSSE3 | SHA256_CPUID1_ECX_SSE41;
    if ((ecx & need1) != need1) {
        return false;
    }
    /* __get_cpuid_count checks the maximum leaf first, so old CPUs answer 0 here. */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return false;
    }
    return (ebx & SHA256_CPUID7_EBX_SHA) != 0;
}

static bool sha256_cpu_has_ni(void)
{
    int state = atomic_load_explicit(&sha256_cpu_state, memory_order_relaxed);
    if (state == SHA256_CPU_UNKNOWN) {
        state = sha256_cpu_probe() ? SHA256_CPU_NI : SHA256_CPU_PLAIN;
        atomic_store_explicit(&sha256_cpu_state, state, memory_order_relaxed);
    }
    return state == SHA256_CPU_NI;
}

/*
 * Four rounds with message words m (W[t..t+3], lane 0 first) and constants k[0..3].
 * SHA256RNDS2 does two rounds: its first operand holds {C,D,G,H} (C in the top lane), its second
 * {A,B,E,F}, the low two lanes of the third W+K; it returns the new {A,B,E,F}. After two rounds
 * the new {C,D,G,H} is the old {A,B,E,F}, so the two variables simply swap roles each call and
 * are back in place after the second.
 */
SHA256_NI_INLINE void sha256_ni_rounds4(__m128i *abef, __m128i *cdgh, __m128i m, const uint32_t *k)
{
    __m128i wk = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)(const void *)k));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    wk = _mm_shuffle_epi32(wk, 0x0e); /* lanes 2,3 down to 0,1 for the next two rounds */
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, wk);
}

/*
 * The next four schedule words W[t..t+3] from the previous sixteen, held as four groups
 * w16 = W[t-16..t-13], w12 = W[t-12..t-9], w8 = W[t-8..t-5], w4 = W[t-4..t-1]
 * (FIPS 180-4 6.2.2 step 1: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]).
 * SHA256MSG1 gives W[t-16+i] + s0(W[t-15+i]); the ALIGNR picks W[t-7..t-4] out of w8:w4;
 * SHA256MSG2 adds s1 of W[t-2], W[t-1] and, for the top two lanes, of the words it just made.
 */
SHA256_NI_INLINE __m128i sha256_ni_schedule(__m128i w16, __m128i w12, __m128i w8, __m128i w4)
{
    __m128i partial = _mm_sha256msg1_epu32(w16, w12);
    partial = _mm_add_epi32(partial, _mm_alignr_epi8(w4, w8, 4));
    return _mm_sha256msg2_epu32(partial, w4);
}

/* FIPS 180-4 6.2.2 on nblocks consecutive 64-byte blocks at p (any alignment). */
SHA256_NI_TARGET static void sha256_ni_blocks(uint32_t state[8], const unsigned char *p,
                                              size_t nblocks)
{
    /* Message words are big-endian: swap the bytes of each 32-bit lane. */
    const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    /* Lane 0 is the lowest: {F,E,B,A} and {H,G,D,C} put A and C in the top lanes. */
    const uint32_t abef_words[4] = {state[5], state[4], state[1], state[0]};
    const uint32_t cdgh_words[4] = {state[7], state[6], state[3], state[2]};
    __m128i abef = _mm_loadu_si128((const __m128i *)(const void *)abef_words);
    __m128i cdgh = _mm_loadu_si128((const __m128i *)(const void *)cdgh_words);

    for (; nblocks > 0; nblocks--, p += SHA256_BLOCK) {
        const __m128i abef_in = abef;
        const __m128i cdgh_in = cdgh;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), bswap);
        __m128i m1 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), bswap);
        __m128i m2 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), bswap);
        __m128i m3 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), bswap);

        sha256_ni_rounds4(&abef, &cdgh, m0, sha256_k + 0);
        sha256_ni_rounds4(&abef, &cdgh, m1, sha256_k + 4);
        sha256_ni_rounds4(&abef, &cdgh, m2, sha256_k + 8);
        sha256_ni_rounds4(&abef, &cdgh, m3, sha256_k + 12);
        for (size_t t = 16; t < 64; t += 16) {
            m0 = sha256_ni_schedule(m0, m1, m2, m3);
            sha256_ni_rounds4(&abef, &cdgh, m0, sha256_k + t);
            m1 = sha256_ni_schedule(m1, m2, m3, m0);
            sha256_ni_rounds4(&abef, &cdgh, m1, sha256_k + t + 4);
            m2 = sha256_ni_schedule(m2, m3, m0, m1);
            sha256_ni_rounds4(&abef, &cdgh, m2, sha256_k + t + 8);
            m3 = sha256_ni_schedule(m3, m0, m1, m2);
            sha256_ni_rounds4(&abef, &cdgh, m3, sha256_k + t + 12);
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    uint32_t out[4];
    _mm_storeu_si128((__m128i *)(void *)out, abef);
    state[0] = out[3];
    state[1] = out[2];
    state[4] = out[1];
    state[5] = out[0];
    _mm_storeu_si128((__m128i *)(void *)out, cdgh);
    state[2] = out[3];
    state[3] = out[2];
    state[6] = out[1];
    state[7] = out[0];
}

/* Whole blocks straight from the input, then FIPS 180-4 5.1.1 padding in a local tail: a 0x80
 * byte, zeros, and the length in bits as a 64-bit big-endian number, in one or two blocks. */
static void sha256_ni(const unsigned char *p, size_t len, unsigned char digest[32])
{
    uint32_t state[8];
    unsigned char tail[2 * SHA256_BLOCK];
    size_t full = len / SHA256_BLOCK;
    size_t rem = len % SHA256_BLOCK;
    size_t tail_len = rem < SHA256_BLOCK - 8 ? SHA256_BLOCK : 2 * SHA256_BLOCK;
    uint64_t bits = (uint64_t)len << 3; /* the message is under 2^64 bits by definition */

    memcpy(state, sha256_h0, sizeof(state));
    if (full > 0) {
        sha256_ni_blocks(state, p, full);
    }
    memset(tail, 0, sizeof(tail));
    if (rem > 0) {
        memcpy(tail, p + full * SHA256_BLOCK, rem);
    }
    tail[rem] = 0x80;
    for (size_t i = 0; i < 8; i++) {
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    sha256_ni_blocks(state, tail, tail_len / SHA256_BLOCK);
    for (size_t i = 0; i < 8; i++) {
        digest[4 * i] = (unsigned char)(state[i] >> 24);
        digest[4 * i + 1] = (unsigned char)(state[i] >> 16);
        digest[4 * i + 2] = (unsigned char)(state[i] >> 8);
        digest[4 * i + 3] = (unsigned char)state[i];
    }
}

bool proto_sha256_accelerated(void)
{
    return sha256_cpu_has_ni();
}

void proto_sha256(const void *data, size_t len, unsigned char digest[PROTO_SHA256_DIGEST_LEN])
{
    if (sha256_cpu_has_ni()) {
        sha256_ni((const unsigned char *)data, len, digest);
        return;
    }
    proto_sha256_portable(data, len, digest);
}

#else /* !SHA256_HAVE_NI */

bool proto_sha256_accelerated(void)
{
    return false;
}

void proto_sha256(const void *data, size_t len, unsigned char digest[PROTO_SHA256_DIGEST_LEN])
{
    proto_sha256_portable(data, len, digest);
}

#endif
