/*
 * holidays.h — Indonesia's national holidays (hari libur nasional).
 *
 * Fixed-date holidays are known for every year.  The moving ones (Imlek,
 * Nyepi, Idul Fitri and its second day, Idul Adha, Waisak, Isra Mikraj,
 * Tahun Baru Islam, Maulid Nabi, Good Friday, Easter, Ascension) come from
 * the joint ministerial decrees (SKB Tiga Menteri) for the years built in,
 * and are computed from the sun and the moon for every other year: the
 * Islamic months by the MABIMS criterion the government uses, Imlek by the
 * Chinese rules, Nyepi and Waisak from the new and full moons, the
 * Christian ones from Easter.  A computed Islamic date can differ by a day
 * from the decree that will be issued (the decree may follow a sighting).
 */
#ifndef SIPREMS_HOLIDAYS_H
#define SIPREMS_HOLIDAYS_H

#include <stdbool.h>

struct holiday {
	int year, month, day;
	const char *name; /* static */
};

/* The first and last year whose decreed dates are built in. */
#define HOLIDAYS_FIRST_YEAR 2023
#define HOLIDAYS_LAST_YEAR  2026

/*
 * Writes the holidays of year, in date order, into out (up to max; 40 is
 * always enough); returns how many.  *decreed tells whether the moving
 * ones are the decree's (else they were computed).
 */
int holidays_of_year(int year, struct holiday *out, int max, bool *decreed);

/* The moving holidays of year as computed, whatever the decrees say (for
 * comparing the two); in date order, returns how many. */
int holidays_computed(int year, struct holiday *out, int max);

#endif
