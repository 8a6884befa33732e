/*
 * seterr(): an error or reason message into a caller's buffer, as the
 * auth helper modules (authhelper.c, authsocket.c) report them.  A NULL
 * or empty buffer is left alone, so a caller may ask for no message.
 */
#ifndef XG_SETERR_H
#define XG_SETERR_H
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void	seterr(char *, size_t, const char *, ...)
			    __attribute__((format(printf, 3, 4)));

static inline void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}
#endif
