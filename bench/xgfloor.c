/*
 * xgfloor -- the floor under "start to first byte": writes one byte to
 * the connection on fd 1 (inetd style) and exits.  Built twice by bench/run.sh: plain,
 * and with -DWITH_GNUTLS linked to GnuTLS (whose library constructor runs
 * gnutls_global_init()), so that the figure for xmppgate can be split
 * into process start, loading GnuTLS, and xmppgate's own work.
 */
#include <unistd.h>
#ifdef WITH_GNUTLS
#include <gnutls/gnutls.h>
#endif

int
main(void)
{
#ifdef WITH_GNUTLS
	if (gnutls_check_version("3.0.0") == NULL)
		return 1;
#endif
	return write(1, "<", 1) == 1 ? 0 : 1;
}
