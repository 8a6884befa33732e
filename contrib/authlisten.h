/*
 * The daemon mode of the sample helpers (--listen): the socket form of
 * xmppgate-auth(5) on the socket systemd passes (Accept=no), one request
 * per connection.  The parent reads every connection's request itself,
 * all at once with poll, each within AUTHLISTEN_READ_TIMEOUT; only a
 * whole request gets a child process, which does the check and answers.
 */
#ifndef AUTHLISTEN_H
#define AUTHLISTEN_H
#include <stddef.h>

#define AUTHLISTEN_PENDING_MAX	64	/* connections being read at once */
#define AUTHLISTEN_READ_TIMEOUT	5	/* seconds for a whole request */
#define AUTHLISTEN_CHILDREN_MAX	32	/* checks running at once */
#define AUTHLISTEN_TIMEOUT	10	/* seconds a check's child may live */
#define AUTHLISTEN_UIDS_MAX	16	/* --allow-uid entries */
#define AUTHLISTEN_EXIT_USAGE	100	/* a bad --allow-uid */

/*
 * The options of --listen at the front of argv (after "--listen"):
 * --allow-uid UID[,UID...] (numbers or user names; repeatable), taken
 * off *argc and *argv.  A bad one exits AUTHLISTEN_EXIT_USAGE.
 */
void	authlisten_args(const char *prog, int *argc, char ***argv);
/*
 * Serve for ever; returns only in a child, with the request's fields as
 * the whole environment (as xmppgate sets it for an exec helper), the
 * password in pass (*plen bytes, NUL-terminated) and the connection as
 * the return value.  A bad request, a peer --allow-uid does not name, a
 * request not whole in time are logged on stderr (at most one line a
 * second of each kind) and closed; a request with a field name xmppgate
 * never sends is answered "tempfail".  Exits 111 when there is no
 * listening socket.
 */
int	authlisten(const char *prog, char *pass, size_t passsz, size_t *plen);
/* Answer: the verdict for an exec helper's exit code (0 accept, 1
 * reject, anything else tempfail), then out; the connection is closed. */
void	authlisten_answer(int fd, int code, const char *out, size_t outlen);
#endif
