/*
 * safefile.c — creating and replacing files without following links, each
 * from its directory's descriptor.
 */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directories named so far, and their descriptors: few (the reject
 * directory, the summary's, generate's, one a resumed load recorded). */
struct pinned {
	char *dir;
	int fd;
};
static struct pinned *pins;
static size_t npins;
static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;

int
safefile_dir(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	*name = slash ? slash + 1 : path;
	/* "NAME": the current directory; "/NAME": the root. */
	size_t dl = slash == NULL || slash == path ? 1 : (size_t)(slash - path);
	const char *dir = slash == NULL ? "." : path;
	int fd = -1, e = 0;
	(void)pthread_mutex_lock(&pins_lock);
	for (size_t i = 0; i < npins && fd < 0; i++)
		if (strlen(pins[i].dir) == dl && memcmp(pins[i].dir, dir, dl) == 0)
			fd = pins[i].fd;
	if (fd < 0) {
		char *d = strndup(dir, dl);
		struct pinned *p = realloc(pins, (npins + 1) * sizeof *pins);
		if (d == NULL || p == NULL) {
			free(d);
			if (p != NULL)
				pins = p;
			e = ENOMEM;
		} else {
			pins = p;
			/* O_PATH: a directory one may write in but not list
			 * (mode 0733) is held as well. */
			fd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				e = errno;
				free(d);
			} else {
				pins[npins++] = (struct pinned){.dir = d, .fd = fd};
			}
		}
	}
	(void)pthread_mutex_unlock(&pins_lock);
	if (fd < 0)
		errno = e;
	return fd;
}

/* name in the directory dfd, made anew with mode (O_EXCL: never through a
 * link): its descriptor, or -1 with errno (EEXIST: the name is taken). */
static int
create_at(int dfd, const char *name, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && fchmod(fd, mode) != 0) {
		int e = errno;
		(void)close(fd);
		(void)unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

int
safefile_temp(const char *path, mode_t mode, char **tmp)
{
	*tmp = NULL;
	const char *name;
	int dfd = safefile_dir(path, &name);
	if (dfd < 0)
		return -1;
	size_t dl = (size_t)(name - path);
	for (int attempt = 0; attempt < 100; attempt++) {
		static const char alnum[] =
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
		unsigned char r[6];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return -1;
		char suffix[7];
		for (size_t i = 0; i < sizeof r; i++)
			suffix[i] = alnum[r[i] % (sizeof alnum - 1)];
		suffix[6] = '\0';
		if (asprintf(tmp, "%.*s.%s.%s", (int)dl, path, name, suffix) < 0) {
			*tmp = NULL;
			errno = ENOMEM;
			return -1;
		}
		int fd = create_at(dfd, *tmp + dl, mode);
		if (fd >= 0)
			return fd;
		int e = errno;
		free(*tmp);
		*tmp = NULL;
		errno = e;
		if (e != EEXIST) /* else another name */
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int
safefile_rename(const char *from, const char *to)
{
	const char *fn, *tn;
	int ffd = safefile_dir(from, &fn);
	int tfd = ffd < 0 ? -1 : safefile_dir(to, &tn);
	return tfd < 0 ? -1 : renameat(ffd, fn, tfd, tn);
}

int
safefile_unlink(const char *path)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	return dfd < 0 ? -1 : unlinkat(dfd, name, 0);
}

bool
safefile_exists(const char *path)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	struct stat st;
	return dfd >= 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool
safefile_dir_removed(const char *path)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	struct stat st;
	return dfd >= 0 && fstat(dfd, &st) == 0 && st.st_nlink == 0;
}

int
safefile_dir_access(const char *path)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	if (dfd < 0)
		return errno;
	return faccessat(dfd, ".", W_OK | X_OK, 0) == 0 ? 0 : errno;
}

bool
safefile_commit(const char *tmp, const char *path)
{
	if (safefile_rename(tmp, path) == 0)
		return true;
	int e = errno;
	(void)safefile_unlink(tmp);
	errno = e;
	return false;
}

int
safefile_create(const char *path, mode_t mode)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	return dfd < 0 ? -1 : create_at(dfd, name, mode);
}

int
safefile_reopen(const char *path, long long min_size)
{
	const char *name;
	int dfd = safefile_dir(path, &name);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
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
