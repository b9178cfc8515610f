/*
 * printf_like: PROTO_PRINTF_LIKE(fmt, first) marks a function that formats like printf, so the
 * compiler checks every caller's format against its arguments. mingw-w64 reads the plain
 * `printf` archetype as the Microsoft runtime's dialect, which has no %zu; our Windows builds use
 * mingw's own C99 printf (__USE_MINGW_ANSI_STDIO=1), which `gnu_printf` describes.
 */
#ifndef PROTO_PRINTF_LIKE_H
#define PROTO_PRINTF_LIKE_H

#if defined(__MINGW32__)
#define PROTO_PRINTF_LIKE(fmt, first) __attribute__((format(gnu_printf, fmt, first)))
#else
#define PROTO_PRINTF_LIKE(fmt, first) __attribute__((format(printf, fmt, first)))
#endif

#endif
