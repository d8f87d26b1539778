/*
 * test_archive.c — the history's --archive without a database: only the
 * file loaded moves (by its identity), under a free name, never replacing
 * anything; a directory that cannot take it is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "input.h"

static char root[] = "/tmp/test_archive.XXXXXX";
static char in_dir[64], to_dir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The identity a load records of the file it opened. */
static struct input_id
identity(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return (struct input_id){.known = true,
	                         .dev = (unsigned long long)st.st_dev,
	                         .ino = (unsigned long long)st.st_ino,
	                         .size = (long long)st.st_size,
	                         .mtime_s = (long long)st.st_mtim.tv_sec,
	                         .mtime_ns = (long long)st.st_mtim.tv_nsec};
}

static char *
read_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(root) == NULL)
		return -1;
	(void)snprintf(in_dir, sizeof in_dir, "%s/incoming", root);
	(void)snprintf(to_dir, sizeof to_dir, "%s/done", root);
	return mkdir(in_dir, 0700) || mkdir(to_dir, 0700);
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[128];
	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd);
}

static void
test_check_dir(void **state)
{
	(void)state;
	struct etl_error err;
	assert_int_equal(archive_check_dir(to_dir, &err), ETL_OK);
	char missing[96];
	(void)snprintf(missing, sizeof missing, "%s/missing", root);
	assert_int_equal(archive_check_dir(missing, &err), ETL_EUSAGE);
	assert_string_equal(err.file, missing);
	assert_non_null(strstr(err.msg, "--archive: No such file or directory"));
	char file[96];
	(void)snprintf(file, sizeof file, "%s/a-file", root);
	write_file(file, "x");
	assert_int_equal(archive_check_dir(file, &err), ETL_EUSAGE);
	assert_non_null(strstr(err.msg, "not a directory"));
}

/* The file loaded moves; a second of the same name goes beside it as
 * NAME.1, and the first stays as it was. */
static void
test_moves_under_a_free_name(void **state)
{
	(void)state;
	char path[96], dest[256];
	(void)snprintf(path, sizeof path, "%s/sales.csv", in_dir);
	struct etl_error err;
	bool left = true;
	write_file(path, "first\n");
	struct input_id id = identity(path);
	assert_int_equal(archive_move(path, to_dir, &id, &left, dest, sizeof dest, &err), ETL_OK);
	assert_false(left);
	char want[128];
	(void)snprintf(want, sizeof want, "%s/sales.csv", to_dir);
	assert_string_equal(dest, want);
	assert_string_equal(read_file(want), "first\n");
	assert_int_equal(access(path, F_OK), -1);

	write_file(path, "second\n");
	id = identity(path);
	assert_int_equal(archive_move(path, to_dir, &id, &left, dest, sizeof dest, &err), ETL_OK);
	(void)snprintf(want, sizeof want, "%s/sales.csv.1", to_dir);
	assert_string_equal(dest, want);
	assert_string_equal(read_file(want), "second\n");
	(void)snprintf(want, sizeof want, "%s/sales.csv", to_dir);
	assert_string_equal(read_file(want), "first\n");
}

/* Another file where the loaded one was (an export written anew during the
 * load): it stays where it is, and the caller is told. */
static void
test_replaced_file_stays(void **state)
{
	(void)state;
	char path[96], other[96], dest[256];
	(void)snprintf(path, sizeof path, "%s/events.csv", in_dir);
	(void)snprintf(other, sizeof other, "%s/events.new", in_dir);
	write_file(path, "loaded\n");
	struct input_id id = identity(path);
	write_file(other, "not loaded\n");
	assert_int_equal(rename(other, path), 0);
	struct etl_error err;
	bool left = false;
	enum etl_code rc = archive_move(path, to_dir, &id, &left, dest, sizeof dest, &err);
	assert_int_equal(rc, ETL_OK);
	assert_true(left);
	assert_string_equal(read_file(path), "not loaded\n");
	char there[128];
	(void)snprintf(there, sizeof there, "%s/events.csv", to_dir);
	assert_int_equal(access(there, F_OK), -1);
	/* Grown since (same inode, another size): it stays too. */
	write_file(path, "loaded\n");
	id = identity(path);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	(void)fputs("a line more\n", f);
	(void)fclose(f);
	left = false;
	assert_int_equal(archive_move(path, to_dir, &id, &left, dest, sizeof dest, &err), ETL_OK);
	assert_true(left);
	assert_int_equal(access(path, F_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_check_dir),
	        cmocka_unit_test(test_moves_under_a_free_name),
	        cmocka_unit_test(test_replaced_file_stays),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
