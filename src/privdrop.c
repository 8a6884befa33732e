/*
 * Least privilege, once the key is in memory and before the first byte
 * from the client is parsed: no core dumps or ptrace of a process that
 * holds a key and passwords, a switch to --user when started as root,
 * and no new privileges for us or anything we run (a setuid helper runs
 * with our identity, not the file owner's).
 */
#define _GNU_SOURCE 1		/* setresuid, setresgid */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "xmppgate.h"

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int
priv_drop(const char *user, char *err, size_t errsz)
{
	struct rlimit no_core = { 0, 0 };
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	/* Not dumpable is what matters (no core, no ptrace by our own
	 * user); the core limit is a second line that a system call
	 * filter without @resources may refuse. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return fail(err, errsz, "unable to forbid core dumps: %s",
		    strerror(errno));
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL)
			return fail(err, errsz, "--user %s: %s", user,
			    errno ? strerror(errno) : "no such user");
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (uid == 0)
			return fail(err, errsz, "--user %s is root", user);
		if (geteuid() == 0) {
			/* Only the user's own group: no supplementary
			 * groups from root's list or the group file. */
			if (setgroups(1, &gid) == -1 ||
			    setresgid(gid, gid, gid) == -1 ||
			    setresuid(uid, uid, uid) == -1)
				return fail(err, errsz, "unable to become "
				    "user %s: %s", user, strerror(errno));
			if (setuid(0) != -1 || geteuid() != uid ||
			    getegid() != gid)
				return fail(err, errsz, "still privileged "
				    "after becoming user %s", user);
			/* setuid() turned dumpable back on. */
			if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
				return fail(err, errsz, "prctl: %s",
				    strerror(errno));
		} else if (geteuid() != uid)
			return fail(err, errsz, "--user %s needs root, and "
			    "we run as uid %lu", user,
			    (unsigned long)geteuid());
	} else if (geteuid() == 0)
		xg_log(LOG_WARNING, "running as root: give --user, or run "
		    "xmppgate as a user of its own (see xmppgate(8))");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fail(err, errsz, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
	return 0;
}
