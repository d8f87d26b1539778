/*
 * replay.c — runs a libFuzzer target over files without libFuzzer, so that
 * the seed corpus and every kept crasher replay in `make test` under any
 * compiler (and under the sanitizers).  Arguments are files or directories
 * of files.  A crash or failed assertion ends the process; otherwise it
 * prints "N passed, 0 failed".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *p = realloc(data, cap);
			if (!p) {
				free(data);
				fclose(f);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		perror(path);
		free(data);
		return -1;
	}
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	long passed = 0, failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			replay_file(argv[i]) == 0 ? passed++ : failed++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, NULL, alphasort);
		if (n < 0) {
			perror(argv[i]);
			failed++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			if (names[k]->d_name[0] != '.') {
				(void)snprintf(path, sizeof path, "%s/%s", argv[i],
				               names[k]->d_name);
				replay_file(path) == 0 ? passed++ : failed++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("%ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
