/*
 * safefile.h — files the tool writes never follow a link it did not make:
 * each is written under a name of its own made with O_EXCL in the
 * directory of its path, then renamed over the path (a rename replaces a
 * link that stands there; it never writes through one).
 *
 * Every name is reached from its directory's descriptor, opened the first
 * time the process names that directory and kept to the end: a directory
 * swapped for a link (or moved) after that is not followed; the files go on
 * being written where the directory was when the run began.  Paths here are
 * "DIR/NAME" or "NAME" (the current directory).
 */
#ifndef SIPREMS_SAFEFILE_H
#define SIPREMS_SAFEFILE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Opens (the first time) and keeps the directory of path: call it for each
 * output directory as soon as its name is known.  Returns the descriptor
 * and points *name at path's last component, or -1 with errno.
 */
int safefile_dir(const char *path, const char **name);

/*
 * Creates DIR/.NAME.XXXXXX beside path with mode: returns its descriptor
 * and its path in *tmp (the caller frees it), or -1 with errno.
 */
int safefile_temp(const char *path, mode_t mode, char **tmp);

/* Renames tmp over path; false with errno (tmp is then removed). */
bool safefile_commit(const char *tmp, const char *path);

/* Creates path, which must not exist (O_EXCL, no link followed), with mode:
 * the descriptor or -1 with errno. */
int safefile_create(const char *path, mode_t mode);

/*
 * Opens path to append to it, only if it is a regular file of this user
 * with one link, reached without following a link, and at least min_size
 * bytes long: the descriptor, or -1 with errno (ELOOP for a link, EPERM
 * for a file that is not one the tool made, ENODATA when shorter).
 */
int safefile_reopen(const char *path, long long min_size);

/* rename(2), unlink(2) and whether a name exists (a link counts; not
 * followed), each from the directories' descriptors.  rename and unlink:
 * 0 or -1 with errno. */
int safefile_rename(const char *from, const char *to);
int safefile_unlink(const char *path);
bool safefile_exists(const char *path);

/* Whether this user can make files in the directory of path: 0 or errno. */
int safefile_dir_access(const char *path);

/* Whether the directory of path, held since the run named it, was removed
 * since (its name may stand for another directory now). */
bool safefile_dir_removed(const char *path);

#endif
