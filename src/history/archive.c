/*
 * archive.c — --archive DIR: the file loaded, and only it (its device,
 * inode, size and modification time as when its load began), moved under a
 * free name with one rename that replaces nothing (RENAME_NOREPLACE), so
 * that nothing in DIR is replaced even by a concurrent run; a copy (synced
 * before the original goes) when DIR is on another file system.
 */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Copies path, when it is the file id names, to the new file dest (which
 * must not exist) and syncs it; ESTALE for another file. */
static int
copy_new(const char *path, const char *dest, const struct input_id *id)
{
	int in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return errno;
	struct stat was;
	if (fstat(in, &was) != 0 || (unsigned long long)was.st_ino != id->ino ||
	    (unsigned long long)was.st_dev != id->dev || (long long)was.st_size != id->size ||
	    (long long)was.st_mtim.tv_sec != id->mtime_s ||
	    (long long)was.st_mtim.tv_nsec != id->mtime_ns) {
		(void)close(in);
		return ESTALE; /* another file than the one loaded */
	}
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
archive_move(const char *path, const char *dir, const struct input_id *id, bool *left, char *dest,
             size_t size, struct etl_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	*left = false;
	if (!input_same_file(path, id)) {
		*left = true;
		return ETL_OK;
	}
	int e = EEXIST;
	for (int n = 0; n < 1000 && e == EEXIST; n++) {
		int w = n == 0 ? snprintf(dest, size, "%s/%s", dir, base)
		               : snprintf(dest, size, "%s/%s.%d", dir, base, n);
		if (w < 0 || (size_t)w >= size)
			return error_set(err, ETL_ESYSTEM, path, 0,
			                 "--archive: the name is too long");
		/* One atomic move that replaces nothing; then whether what moved
		 * is the file loaded (it may have been replaced since the check):
		 * if not, it goes back. */
		e = renameat2(AT_FDCWD, path, AT_FDCWD, dest, RENAME_NOREPLACE) == 0 ? 0 : errno;
		if (e == 0 && !input_same_file(dest, id)) {
			if (renameat2(AT_FDCWD, dest, AT_FDCWD, path, RENAME_NOREPLACE) != 0)
				return error_set(
				        err, ETL_ESYSTEM, path, 0,
				        "was replaced while it loaded, and the replacement, "
				        "moved to %s, cannot go back: %s",
				        dest, strerror(errno));
			*left = true;
			return ETL_OK;
		}
		if (e == EXDEV || e == EINVAL || e == ENOSYS) {
			/* Another file system: the file first goes to a name of its
			 * own beside it (one rename, then checked), so that what is
			 * removed after the copy is the file loaded, never one put at
			 * its path meanwhile. */
			char *own = NULL;
			const char *b = strrchr(path, '/');
			int dl = b ? (int)(b - path + 1) : 0;
			if (asprintf(&own, "%.*s.%s.archiving", dl, path, path + dl) < 0)
				return error_oom(err, path, 0);
			e = renameat2(AT_FDCWD, path, AT_FDCWD, own, RENAME_NOREPLACE) == 0 ? 0
			                                                                    : errno;
			if (e == 0 && !input_same_file(own, id)) {
				(void)renameat2(AT_FDCWD, own, AT_FDCWD, path, RENAME_NOREPLACE);
				free(own);
				*left = true;
				return ETL_OK;
			}
			if (e == 0) {
				e = copy_new(own, dest, id);
				if (e != 0 || unlink(own) != 0) {
					int ue = e ? e : errno;
					if (e == 0)
						(void)unlink(dest);
					(void)renameat2(AT_FDCWD, own, AT_FDCWD, path,
					                RENAME_NOREPLACE);
					free(own);
					if (ue == EEXIST)
						continue;
					return error_set(err, ETL_ESYSTEM, path, 0,
					                 "cannot archive into %s: %s", dir,
					                 strerror(ue));
				}
			}
			free(own);
		}
	}
	if (e != 0)
		return error_set(err, ETL_ESYSTEM, path, 0, "cannot archive into %s: %s", dir,
		                 strerror(e));
	return ETL_OK;
}
