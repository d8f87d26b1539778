/*
 * archive.c — --archive DIR: a hard link under a free name, then the
 * original unlinked, so that nothing in DIR is replaced even by a
 * concurrent run; a copy (synced before the original goes) when DIR is on
 * another file system.
 */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum etl_code
archive_check_dir(const char *dir, struct etl_error *err)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return error_set(err, ETL_EUSAGE, dir, 0, "--archive: %s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(err, ETL_EUSAGE, dir, 0, "--archive: not a directory");
	if (access(dir, W_OK | X_OK) != 0)
		return error_set(err, ETL_EUSAGE, dir, 0, "--archive: %s", strerror(errno));
	return ETL_OK;
}

/* Copies path to the new file dest (which must not exist) and syncs it. */
static int
copy_new(const char *path, const char *dest)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno;
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		(void)close(in);
		return e;
	}
	char buf[1 << 16];
	int e = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : 0;
			break;
		}
		for (ssize_t done = 0; done < n && e == 0;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno != EINTR)
				e = errno;
			done += w > 0 ? w : 0;
		}
		if (e != 0)
			break;
	}
	struct stat st;
	if (e == 0 && fstat(in, &st) == 0)
		(void)fchmod(out, st.st_mode & 07777);
	if (e == 0 && fsync(out) != 0)
		e = errno;
	if (close(out) != 0 && e == 0)
		e = errno;
	(void)close(in);
	if (e != 0)
		(void)unlink(dest);
	return e;
}

enum etl_code
archive_move(const char *path, const char *dir, char *dest, size_t size, struct etl_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int e = EEXIST;
	for (int n = 0; n < 1000 && e == EEXIST; n++) {
		int w = n == 0 ? snprintf(dest, size, "%s/%s", dir, base)
		               : snprintf(dest, size, "%s/%s.%d", dir, base, n);
		if (w < 0 || (size_t)w >= size)
			return error_set(err, ETL_ESYSTEM, path, 0,
			                 "--archive: the name is too long");
		e = link(path, dest) == 0 ? 0 : errno;
		if (e == EXDEV || e == EPERM || e == ENOTSUP)
			e = copy_new(path, dest); /* another file system, or no hard links */
	}
	if (e != 0)
		return error_set(err, ETL_ESYSTEM, path, 0, "cannot archive into %s: %s", dir,
		                 strerror(e));
	if (unlink(path) != 0) {
		e = errno;
		(void)unlink(dest);
		return error_set(err, ETL_ESYSTEM, path, 0, "cannot archive (remove it): %s",
		                 strerror(e));
	}
	return ETL_OK;
}
