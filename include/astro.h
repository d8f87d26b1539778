/*
 * astro.h — the sun and the moon, to the precision a calendar needs.
 *
 * The moving holidays of Indonesia follow the moon (Islamic months, Imlek,
 * Nyepi, Waisak) or the sun (the winter solstice behind Imlek).  These
 * functions give the times of new and full moons, of the sun reaching a
 * longitude, of sunset at a place, and the moon's altitude and elongation
 * then, from the truncated series of Meeus, "Astronomical Algorithms"
 * (2nd ed., chapters 12, 25 and 47): a hundredth of a degree for the
 * positions, which puts a new or full moon within two minutes and the sun
 * at a solstice within fifteen, between 1900 and 2100.
 *
 * Times are Julian days in UT (universal time); day numbers are days since
 * 2000-01-01, as everywhere in this program.
 */
#ifndef SIPREMS_ASTRO_H
#define SIPREMS_ASTRO_H

#include <stdint.h>

/* The Julian day (UT) of 00:00 UTC of day number day. */
double astro_jd_of_day(int32_t day);

/* The day number of the civil day, at UTC offset hours east, holding jd. */
int32_t astro_day_of_jd(double jd, double offset_hours);

/* The time of the moon's phase (0 new moon, 180 full moon) nearest jd. */
double astro_moon_phase(double jd, double phase_deg);

/* The time the sun's apparent longitude reaches lon_deg, nearest jd. */
double astro_sun_reaches(double jd, double lon_deg);

/* The sun's apparent ecliptic longitude at jd, in [0, 360). */
double astro_sun_longitude(double jd);

/*
 * Sunset (the upper limb on the horizon, with refraction) at latitude lat
 * and longitude lon (degrees, east positive) on the civil day day of a
 * place whose UTC offset is offset_hours.
 */
double astro_sunset(int32_t day, double offset_hours, double lat, double lon);

/* Where the moon stands at jd seen from lat, lon. */
struct astro_moon_sky {
	double altitude;   /* topocentric, of its centre, degrees */
	double elongation; /* geocentric angle between sun and moon, degrees */
};

struct astro_moon_sky astro_moon_sky(double jd, double lat, double lon);

#endif
