/*
 * The daemon mode of the sample helpers (--listen): the socket form of
 * xmppgate-auth(5) on the socket systemd passes (Accept=no), one request
 * per connection, each in a child process of its own.
 */
#ifndef AUTHLISTEN_H
#define AUTHLISTEN_H
#include <stddef.h>

#define AUTHLISTEN_CHILDREN_MAX	32	/* connections served at once */
#define AUTHLISTEN_TIMEOUT	10	/* seconds a child may live */

/*
 * Serve for ever; returns only in a child, with the request's fields as
 * the whole environment (as xmppgate sets it for an exec helper), the
 * password in pass (*plen bytes, NUL-terminated) and the connection as
 * the return value.  A bad request is logged on stderr and its connection
 * closed.  Exits 111 when there is no listening socket.
 */
int	authlisten(const char *prog, char *pass, size_t passsz, size_t *plen);
/* Answer: the verdict for an exec helper's exit code (0 accept, 1
 * reject, anything else tempfail), then out; the connection is closed. */
void	authlisten_answer(int fd, int code, const char *out, size_t outlen);
#endif
