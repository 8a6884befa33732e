/*
 * Least privilege, once the key is in memory and before the first byte
 * from the client is parsed: no core dumps or ptrace of a process that
 * holds a key and passwords, a switch to --user when started as root
 * (root only when asked for in so many words, --user root), no capability
 * left (the shipped units give CAP_DAC_READ_SEARCH to read a root-only
 * key; the helper and the exec-mode program must not inherit it), and no
 * new privileges for us or anything we run (a setuid helper runs with our
 * identity, not the file owner's).
 */
#define _GNU_SOURCE 1		/* setresuid, setresgid */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/*
 * Every capability goes: ambient (what an exec'd program would get),
 * inheritable, permitted and effective.  glibc has no capset(); libcap is
 * not worth a dependency for one call.  A unit whose system call filter
 * refuses capset() is fine as long as nothing was held: what counts is
 * what capget() says afterwards.
 */
static int
caps_drop(char *err, size_t errsz)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i, e = 0;

	/* EINVAL: a kernel before 4.3, which has no ambient set. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return fail(err, errsz, "unable to clear the ambient "
		    "capabilities: %s", strerror(errno));
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &hdr, d) == -1)
		e = errno;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, d) == -1)
		return fail(err, errsz, "capget: %s", strerror(errno));
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective != 0 || d[i].permitted != 0 ||
		    d[i].inheritable != 0)
			return fail(err, errsz, "unable to drop the "
			    "capabilities: %s", e ? strerror(e) :
			    "still held");
	return 0;
}

int
priv_drop(const char *user, char *err, size_t errsz)
{
	struct rlimit no_core = { 0, 0 };
	struct passwd *pw;
	uid_t uid = 0, ru, eu, su;
	gid_t gid, rg, eg, sg;
	int root;

	/* Not dumpable is what matters (no core, no ptrace by our own
	 * user); the core limit is a second line that a system call
	 * filter without @resources may refuse. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return fail(err, errsz, "unable to forbid core dumps: %s",
		    strerror(errno));
	/* Root is any of the three uids: with no_new_privs, exec gives a
	 * program the real uid back as its effective one, so a real uid 0
	 * behind another effective uid would make the helper root. */
	if (getresuid(&ru, &eu, &su) == -1)
		return fail(err, errsz, "getresuid: %s", strerror(errno));
	root = ru == 0 || eu == 0 || su == 0;
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL)
			return fail(err, errsz, "--user %s: %s", user,
			    errno ? strerror(errno) : "no such user");
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (uid == 0 && eu == 0)
			;	/* --user root: asked for, stays root */
		else if (root && eu != 0)
			return fail(err, errsz, "uid 0 is the real or saved "
			    "uid but not the effective one (%lu): start "
			    "xmppgate as root, or as user %s", (unsigned long)eu,
			    user);
		else if (root) {
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
		} else if (eu != uid)
			return fail(err, errsz, "--user %s needs root, and "
			    "we run as uid %lu", user, (unsigned long)eu);
	} else if (root)
		return fail(err, errsz, "started as root without --user: "
		    "give --user USER (or --user root to stay root; see "
		    "xmppgate(8))");
	if (user == NULL || uid != 0) {
		/* One uid and one gid from here on, the effective ones:
		 * what we start cannot get another back.  Allowed without
		 * privilege, each is one of our ids already; called only
		 * when needed (the units' system call filter has no
		 * setresuid). */
		if (getresuid(&ru, &eu, &su) == -1 ||
		    getresgid(&rg, &eg, &sg) == -1)
			return fail(err, errsz, "getresuid: %s",
			    strerror(errno));
		if ((rg != eg || sg != eg) && setresgid(eg, eg, eg) == -1)
			return fail(err, errsz, "setresgid: %s",
			    strerror(errno));
		if ((ru != eu || su != eu) && setresuid(eu, eu, eu) == -1)
			return fail(err, errsz, "setresuid: %s",
			    strerror(errno));
		if (getresuid(&ru, &eu, &su) == -1 ||
		    getresgid(&rg, &eg, &sg) == -1)
			return fail(err, errsz, "getresuid: %s",
			    strerror(errno));
		if (ru != eu || su != eu || eu == 0 || rg != eg || sg != eg)
			return fail(err, errsz, "uids %lu/%lu/%lu, gids "
			    "%lu/%lu/%lu: not one user", (unsigned long)ru,
			    (unsigned long)eu, (unsigned long)su,
			    (unsigned long)rg, (unsigned long)eg,
			    (unsigned long)sg);
		/* setresuid() may have turned dumpable back on. */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
			return fail(err, errsz, "prctl: %s", strerror(errno));
	}
	if (caps_drop(err, errsz) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return fail(err, errsz, "prctl(PR_SET_NO_NEW_PRIVS): %s",
		    strerror(errno));
	return 0;
}
