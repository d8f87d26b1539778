/*
 * holidays.h — Indonesia's national holidays (hari libur nasional).
 *
 * Fixed-date holidays are known for every year.  The moving ones (Imlek,
 * Nyepi, Idul Fitri, Idul Adha, Waisak, Isra Mikraj, Tahun Baru Islam,
 * Maulid Nabi, Good Friday, Ascension, Easter) are taken from the joint
 * ministerial decrees (SKB Tiga Menteri) that set them, never computed:
 * a year without a decree in the table has its fixed-date holidays only.
 */
#ifndef SIPREMS_HOLIDAYS_H
#define SIPREMS_HOLIDAYS_H

#include <stdbool.h>

struct holiday {
	int year, month, day;
	const char *name;
};

/* The first and last year whose moving holidays are in the table. */
#define HOLIDAYS_FIRST_YEAR 2023
#define HOLIDAYS_LAST_YEAR  2026

/*
 * Writes the holidays of year, in date order, into out (up to max); returns
 * how many.  *complete is false when the year's moving holidays are not
 * known (only fixed-date ones are written then).
 */
int holidays_of_year(int year, struct holiday *out, int max, bool *complete);

/* The first day of Idul Fitri in year, or false when it is not known. */
bool holidays_idul_fitri(int year, int *month, int *day);

#endif
