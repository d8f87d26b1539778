/*
 * safefile.h — files the tool writes never follow a link it did not make:
 * each is written under a name of its own made with O_EXCL (mkstemp) in
 * the directory of its path, then renamed over the path (a rename replaces
 * a link that stands there; it never writes through one).
 */
#ifndef SIPREMS_SAFEFILE_H
#define SIPREMS_SAFEFILE_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Creates DIR/.NAME.XXXXXX beside path with mode: returns its descriptor
 * and its name in *tmp (the caller frees it), or -1 with errno.
 */
int safefile_temp(const char *path, mode_t mode, char **tmp);

/* Renames tmp over path; false with errno (tmp is then removed). */
bool safefile_commit(const char *tmp, const char *path);

/*
 * Opens path to append to it, only if it is a regular file of this user
 * with one link, reached without following a link, and at least min_size
 * bytes long: the descriptor, or -1 with errno (ELOOP for a link, EPERM
 * for a file that is not one the tool made, ENODATA when shorter).
 */
int safefile_reopen(const char *path, long long min_size);

#endif
