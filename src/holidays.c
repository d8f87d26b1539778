/*
 * holidays.c — the national holiday table.
 *
 * Sources of the moving dates (checked against each other where more than
 * one was at hand):
 *   2023  SKB No. 1066/2022, 3/2022, 3/2022
 *   2024  SKB No. 855/2023, 3/2023, 4/2023 (list of the Cabinet Secretariat)
 *   2025  SKB No. 1017/2024, 2/2024, 2/2024
 *   2026  SKB No. 1497/2025, 2/2025, 5/2025
 * Easter Sunday is a national holiday since Keppres 8/2024.
 */
#include "holidays.h"

#include <stdlib.h>
#include <string.h>

static const struct holiday fixed[] = {
        {0, 1, 1, "Tahun Baru Masehi"},    {0, 5, 1, "Hari Buruh Internasional"},
        {0, 6, 1, "Hari Lahir Pancasila"}, {0, 8, 17, "Hari Kemerdekaan Republik Indonesia"},
        {0, 12, 25, "Hari Raya Natal"},
};

static const struct holiday moving[] = {
        {2023, 1, 22, "Tahun Baru Imlek"},
        {2023, 2, 18, "Isra Mikraj Nabi Muhammad"},
        {2023, 3, 22, "Hari Suci Nyepi"},
        {2023, 4, 7, "Wafat Yesus Kristus"},
        {2023, 4, 22, "Hari Raya Idul Fitri"},
        {2023, 4, 23, "Hari Raya Idul Fitri (hari kedua)"},
        {2023, 5, 18, "Kenaikan Yesus Kristus"},
        {2023, 6, 4, "Hari Raya Waisak"},
        {2023, 6, 29, "Hari Raya Idul Adha"},
        {2023, 7, 19, "Tahun Baru Islam"},
        {2023, 9, 28, "Maulid Nabi Muhammad"},

        {2024, 2, 8, "Isra Mikraj Nabi Muhammad"},
        {2024, 2, 10, "Tahun Baru Imlek"},
        {2024, 3, 11, "Hari Suci Nyepi"},
        {2024, 3, 29, "Wafat Yesus Kristus"},
        {2024, 3, 31, "Kebangkitan Yesus Kristus (Paskah)"},
        {2024, 4, 10, "Hari Raya Idul Fitri"},
        {2024, 4, 11, "Hari Raya Idul Fitri (hari kedua)"},
        {2024, 5, 9, "Kenaikan Yesus Kristus"},
        {2024, 5, 23, "Hari Raya Waisak"},
        {2024, 6, 17, "Hari Raya Idul Adha"},
        {2024, 7, 7, "Tahun Baru Islam"},
        {2024, 9, 16, "Maulid Nabi Muhammad"},

        {2025, 1, 27, "Isra Mikraj Nabi Muhammad"},
        {2025, 1, 29, "Tahun Baru Imlek"},
        {2025, 3, 29, "Hari Suci Nyepi"},
        {2025, 3, 31, "Hari Raya Idul Fitri"},
        {2025, 4, 1, "Hari Raya Idul Fitri (hari kedua)"},
        {2025, 4, 18, "Wafat Yesus Kristus"},
        {2025, 4, 20, "Kebangkitan Yesus Kristus (Paskah)"},
        {2025, 5, 12, "Hari Raya Waisak"},
        {2025, 5, 29, "Kenaikan Yesus Kristus"},
        {2025, 6, 6, "Hari Raya Idul Adha"},
        {2025, 6, 27, "Tahun Baru Islam"},
        {2025, 9, 5, "Maulid Nabi Muhammad"},

        {2026, 1, 16, "Isra Mikraj Nabi Muhammad"},
        {2026, 2, 17, "Tahun Baru Imlek"},
        {2026, 3, 19, "Hari Suci Nyepi"},
        {2026, 3, 21, "Hari Raya Idul Fitri"},
        {2026, 3, 22, "Hari Raya Idul Fitri (hari kedua)"},
        {2026, 4, 3, "Wafat Yesus Kristus"},
        {2026, 4, 5, "Kebangkitan Yesus Kristus (Paskah)"},
        {2026, 5, 14, "Kenaikan Yesus Kristus"},
        {2026, 5, 27, "Hari Raya Idul Adha"},
        {2026, 5, 31, "Hari Raya Waisak"},
        {2026, 6, 16, "Tahun Baru Islam"},
        {2026, 8, 25, "Maulid Nabi Muhammad"},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int
cmp(const void *a, const void *b)
{
	const struct holiday *x = a, *y = b;
	int kx = x->month * 32 + x->day, ky = y->month * 32 + y->day;
	if (kx != ky)
		return kx - ky;
	return strcmp(x->name, y->name);
}

int
holidays_of_year(int year, struct holiday *out, int max, bool *complete)
{
	int n = 0;
	for (int i = 0; i < COUNT(fixed) && n < max; i++) {
		out[n] = fixed[i];
		out[n++].year = year;
	}
	for (int i = 0; i < COUNT(moving) && n < max; i++)
		if (moving[i].year == year)
			out[n++] = moving[i];
	*complete = year >= HOLIDAYS_FIRST_YEAR && year <= HOLIDAYS_LAST_YEAR;
	qsort(out, (size_t)n, sizeof *out, cmp);
	return n;
}

bool
holidays_idul_fitri(int year, int *month, int *day)
{
	for (int i = 0; i < COUNT(moving); i++) {
		if (moving[i].year == year && strcmp(moving[i].name, "Hari Raya Idul Fitri") == 0) {
			*month = moving[i].month;
			*day = moving[i].day;
			return true;
		}
	}
	return false;
}
