/*
 * safefile.c — creating and replacing files without following links.
 */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
safefile_temp(const char *path, mode_t mode, char **tmp)
{
	const char *b = strrchr(path, '/');
	int dl = b ? (int)(b - path + 1) : 0;
	*tmp = NULL;
	if (asprintf(tmp, "%.*s.%s.XXXXXX", dl, path, path + dl) < 0) {
		*tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	int fd = mkstemp(*tmp); /* O_EXCL: never through a link */
	if (fd < 0 || fchmod(fd, mode) != 0) {
		int e = errno;
		if (fd >= 0) {
			(void)close(fd);
			(void)unlink(*tmp);
		}
		free(*tmp);
		*tmp = NULL;
		errno = e;
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

bool
safefile_commit(const char *tmp, const char *path)
{
	if (rename(tmp, path) == 0)
		return true;
	int e = errno;
	(void)unlink(tmp);
	errno = e;
	return false;
}

int
safefile_reopen(const char *path, long long min_size)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int e = 0;
	if (fstat(fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
		e = EPERM;
	else if ((long long)st.st_size < min_size)
		e = ENODATA;
	if (e != 0) {
		(void)close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
