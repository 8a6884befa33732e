/*
 * The pure functions fuzzed here live in files that also hold I/O code
 * (authhelper.c runs the helper, netaddr.c connects), which refers to
 * these.  The fuzz targets never reach them: each stub aborts, so a
 * parser that strays into I/O is a crash, not a silent pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "xmppgate.h"

static void __attribute__((noreturn))
stray(const char *fn)
{
	fprintf(stderr, "fuzz: pure code called %s()\n", fn);
	abort();
}

int64_t
now_ms(void)
{
	stray("now_ms");
}

void
child_default_signals(void)
{
	stray("child_default_signals");
}

int
log_stderr_usable(void)
{
	stray("log_stderr_usable");
}

void
xg_log(int prio, const char *fmt, ...)
{
	(void)prio;
	(void)fmt;
	stray("xg_log");
}

enum auth_verdict
authsocket_run(const char *addr, const struct auth_request *req,
    int timeout_ms, struct auth_reply *out, char *why, size_t whysz)
{
	(void)addr;
	(void)req;
	(void)timeout_ms;
	(void)out;
	(void)why;
	(void)whysz;
	stray("authsocket_run");
}
