/*
 * astro.c — positions of the sun and the moon (Meeus, truncated series).
 *
 * The moon's longitude keeps the terms of Meeus' table 47.A above 0.002°,
 * its latitude those of 47.B above 0.001°: the error stays near 0.01°,
 * which moves a new moon by under a minute, far inside what decides a
 * calendar day.  Phases and solar longitudes are found by Newton steps on
 * these positions rather than by separate series, so there is one model.
 */
#include "astro.h"

#include <math.h>

#define DEG     (M_PI / 180.0)
#define J2000   2451545.0
#define JD_DAY0 2451544.5 /* 2000-01-01 00:00 UT */

double
astro_jd_of_day(int32_t day)
{
	return JD_DAY0 + (double)day;
}

int32_t
astro_day_of_jd(double jd, double offset_hours)
{
	return (int32_t)floor(jd - JD_DAY0 + offset_hours / 24.0);
}

static double
norm360(double x)
{
	x = fmod(x, 360.0);
	return x < 0 ? x + 360.0 : x;
}

/* x in (-180, 180]. */
static double
norm180(double x)
{
	x = norm360(x);
	return x > 180.0 ? x - 360.0 : x;
}

/* TT - UT in days (Espenak and Meeus' polynomials, 2005-2150 and after). */
static double
delta_t(double jd)
{
	double y = 2000.0 + (jd - J2000) / 365.25, s;
	if (y < 2005) {
		double t = y - 2000;
		s = 63.86 + 0.3345 * t - 0.060374 * t * t;
		if (y < 1986)
			s = 57.0;
	} else if (y < 2050) {
		double t = y - 2000;
		s = 62.92 + 0.32217 * t + 0.005589 * t * t;
	} else {
		double u = (y - 1820) / 100;
		s = -20 + 32 * u * u - 0.5628 * (2150 - y);
	}
	return s / 86400.0;
}

/* ---- the sun (chapter 25, low accuracy) ---------------------------------- */

struct ecliptic {
	double lon, lat, dist; /* degrees, degrees, km */
	double obliquity;      /* the true obliquity, degrees */
};

static struct ecliptic
sun_at(double jde)
{
	double t = (jde - J2000) / 36525.0;
	double l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t * t;
	double m = (357.52911 + 35999.05029 * t - 0.0001537 * t * t) * DEG;
	double c = (1.914602 - 0.004817 * t - 0.000014 * t * t) * sin(m) +
	           (0.019993 - 0.000101 * t) * sin(2 * m) + 0.000289 * sin(3 * m);
	double e = 0.016708634 - 0.000042037 * t;
	double v = m + c * DEG;
	double r = 1.000001018 * (1 - e * e) / (1 + e * cos(v));
	double omega = (125.04 - 1934.136 * t) * DEG;
	double eps0 = 23.439291 - 0.0130042 * t;
	return (struct ecliptic){
	        .lon = norm360(l0 + c - 0.00569 - 0.00478 * sin(omega)),
	        .lat = 0,
	        .dist = r * 149597870.7,
	        .obliquity = eps0 + 0.00256 * cos(omega),
	};
}

double
astro_sun_longitude(double jd)
{
	return sun_at(jd + delta_t(jd)).lon;
}

/* ---- the moon (chapter 47) ------------------------------------------------ */

struct term {
	signed char d, m, mp, f;
	int coef;
};

/* Longitude (sine, 1e-6 degree) and distance (cosine, 1e-3 km). */
static const struct term moon_lr[][2] = {
        {{0, 0, 1, 0, 6288774}, {0, 0, 1, 0, -20905355}},
        {{2, 0, -1, 0, 1274027}, {2, 0, -1, 0, -3699111}},
        {{2, 0, 0, 0, 658314}, {2, 0, 0, 0, -2955968}},
        {{0, 0, 2, 0, 213618}, {0, 0, 2, 0, -569925}},
        {{0, 1, 0, 0, -185116}, {0, 1, 0, 0, 48888}},
        {{0, 0, 0, 2, -114332}, {0, 0, 0, 2, -3149}},
        {{2, 0, -2, 0, 58793}, {2, 0, -2, 0, 246158}},
        {{2, -1, -1, 0, 57066}, {2, -1, -1, 0, -152138}},
        {{2, 0, 1, 0, 53322}, {2, 0, 1, 0, -170733}},
        {{2, -1, 0, 0, 45758}, {2, -1, 0, 0, -204586}},
        {{0, 1, -1, 0, -40923}, {0, 1, -1, 0, -129620}},
        {{1, 0, 0, 0, -34720}, {1, 0, 0, 0, 108743}},
        {{0, 1, 1, 0, -30383}, {0, 1, 1, 0, 104755}},
        {{2, 0, 0, -2, 15327}, {2, 0, 0, -2, 10321}},
        {{0, 0, 1, 2, -12528}, {0, 0, 1, 2, 0}},
        {{0, 0, 1, -2, 10980}, {0, 0, 1, -2, 79661}},
        {{4, 0, -1, 0, 10675}, {4, 0, -1, 0, -34782}},
        {{0, 0, 3, 0, 10034}, {0, 0, 3, 0, -23210}},
        {{4, 0, -2, 0, 8548}, {4, 0, -2, 0, -21636}},
        {{2, 1, -1, 0, -7888}, {2, 1, -1, 0, 24208}},
        {{2, 1, 0, 0, -6766}, {2, 1, 0, 0, 30824}},
        {{1, 0, -1, 0, -5163}, {1, 0, -1, 0, -8379}},
        {{1, 1, 0, 0, 4987}, {1, 1, 0, 0, -16675}},
        {{2, -1, 1, 0, 4036}, {2, -1, 1, 0, -12831}},
        {{2, 0, 2, 0, 3994}, {2, 0, 2, 0, -10445}},
        {{4, 0, 0, 0, 3861}, {4, 0, 0, 0, -11650}},
        {{2, 0, -3, 0, 3665}, {2, 0, -3, 0, 14403}},
        {{0, 1, -2, 0, -2689}, {0, 1, -2, 0, -7003}},
        {{2, 0, -1, 2, -2602}, {2, 0, -1, 2, 0}},
        {{2, -1, -2, 0, 2390}, {2, -1, -2, 0, 10056}},
        {{1, 0, 1, 0, -2348}, {1, 0, 1, 0, 6322}},
        {{2, -2, 0, 0, 2236}, {2, -2, 0, 0, -9884}},
        {{0, 1, 2, 0, -2120}, {0, 1, 2, 0, 5751}},
        {{0, 2, 0, 0, -2069}, {0, 2, 0, 0, 0}},
};

/* Latitude (sine, 1e-6 degree). */
static const struct term moon_b[] = {
        {0, 0, 0, 1, 5128122}, {0, 0, 1, 1, 280602},  {0, 0, 1, -1, 277693}, {2, 0, 0, -1, 173237},
        {2, 0, -1, 1, 55413},  {2, 0, -1, -1, 46271}, {2, 0, 0, 1, 32573},   {0, 0, 2, 1, 17198},
        {2, 0, 1, -1, 9266},   {0, 0, 2, -1, 8822},   {2, -1, 0, -1, 8216},  {2, 0, -2, -1, 4324},
        {2, 0, 1, 1, 4200},    {2, 1, 0, -1, -3359},  {2, -1, -1, 1, 2463},  {2, -1, 0, 1, 2211},
        {2, -1, -1, -1, 2065}, {0, 1, -1, -1, -1870}, {4, 0, -1, -1, 1828},  {0, 1, 0, 1, -1794},
        {0, 0, 0, 3, -1749},   {0, 1, -1, 1, -1565},  {1, 0, 0, 1, -1491},   {0, 1, 1, 1, -1475},
        {0, 1, 1, -1, -1410},  {0, 1, 0, -1, -1344},  {1, 0, 0, -1, -1335},  {0, 0, 3, 1, 1107},
        {4, 0, 0, -1, 1021},   {4, 0, -1, 1, 833},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The factor E of the terms with the sun's anomaly M, once per |M|. */
static double
ecc(const struct term *x, double e)
{
	return x->m == 0 ? 1 : (x->m == 1 || x->m == -1) ? e : e * e;
}

static struct ecliptic
moon_at(double jde)
{
	double t = (jde - J2000) / 36525.0, t2 = t * t, t3 = t2 * t, t4 = t3 * t;
	double lp =
	        218.3164477 + 481267.88123421 * t - 0.0015786 * t2 + t3 / 538841 - t4 / 65194000;
	double d =
	        (297.8501921 + 445267.1114034 * t - 0.0018819 * t2 + t3 / 545868 - t4 / 113065000) *
	        DEG;
	double m = (357.5291092 + 35999.0502909 * t - 0.0001536 * t2 + t3 / 24490000) * DEG;
	double mp =
	        (134.9633964 + 477198.8675055 * t + 0.0087414 * t2 + t3 / 69699 - t4 / 14712000) *
	        DEG;
	double f =
	        (93.2720950 + 483202.0175233 * t - 0.0036539 * t2 - t3 / 3526000 + t4 / 863310000) *
	        DEG;
	double e = 1 - 0.002516 * t - 0.0000074 * t2;
	double a1 = (119.75 + 131.849 * t) * DEG, a2 = (53.09 + 479264.290 * t) * DEG;
	double a3 = (313.45 + 481266.484 * t) * DEG, lpr = lp * DEG;
	double sl = 0, sr = 0, sb = 0;
	for (int i = 0; i < COUNT(moon_lr); i++) {
		const struct term *l = &moon_lr[i][0], *r = &moon_lr[i][1];
		double arg = l->d * d + l->m * m + l->mp * mp + l->f * f;
		sl += l->coef * ecc(l, e) * sin(arg);
		sr += r->coef * ecc(r, e) * cos(arg);
	}
	for (int i = 0; i < COUNT(moon_b); i++) {
		const struct term *b = &moon_b[i];
		sb += b->coef * ecc(b, e) * sin(b->d * d + b->m * m + b->mp * mp + b->f * f);
	}
	sl += 3958 * sin(a1) + 1962 * sin(lpr - f) + 318 * sin(a2);
	sb += -2235 * sin(lpr) + 382 * sin(a3) + 175 * sin(a1 - f) + 175 * sin(a1 + f) +
	      127 * sin(lpr - mp) - 115 * sin(lpr + mp);
	/* Nutation in longitude, its two largest terms (chapter 22). */
	double omega = (125.04452 - 1934.136261 * t) * DEG;
	double dpsi =
	        -0.004778 * sin(omega) - 0.0003667 * sin(2 * (280.4665 + 36000.7698 * t) * DEG);
	struct ecliptic sun = sun_at(jde);
	return (struct ecliptic){
	        .lon = norm360(lp + sl / 1e6 + dpsi),
	        .lat = sb / 1e6,
	        .dist = 385000.56 + sr / 1000,
	        .obliquity = sun.obliquity,
	};
}

/* ---- events ---------------------------------------------------------------- */

double
astro_moon_phase(double jd, double phase_deg)
{
	/* Newton steps on the elongation in longitude; the moon gains about
	 * 12.19° a day on the sun. */
	for (int i = 0; i < 8; i++) {
		double jde = jd + delta_t(jd);
		double diff = norm180(moon_at(jde).lon - sun_at(jde).lon - phase_deg);
		jd -= diff / 12.190749;
		if (fabs(diff) < 1e-5)
			break;
	}
	return jd;
}

double
astro_sun_reaches(double jd, double lon_deg)
{
	for (int i = 0; i < 8; i++) {
		double diff = norm180(astro_sun_longitude(jd) - lon_deg);
		jd -= diff / 0.98564736;
		if (fabs(diff) < 1e-6)
			break;
	}
	return jd;
}

/* Greenwich mean sidereal time at jd (UT), degrees. */
static double
sidereal(double jd)
{
	double t = (jd - J2000) / 36525.0;
	return norm360(280.46061837 + 360.98564736629 * (jd - J2000) + 0.000387933 * t * t -
	               t * t * t / 38710000);
}

struct equatorial {
	double ra, dec; /* degrees */
};

static struct equatorial
to_equatorial(const struct ecliptic *p)
{
	double l = p->lon * DEG, b = p->lat * DEG, e = p->obliquity * DEG;
	double ra = atan2(sin(l) * cos(e) - tan(b) * sin(e), cos(l));
	double dec = asin(sin(b) * cos(e) + cos(b) * sin(e) * sin(l));
	return (struct equatorial){norm360(ra / DEG), dec / DEG};
}

/* The hour angle at jd of a body at ra seen from longitude lon, degrees. */
static double
hour_angle(double jd, double lon, double ra)
{
	return norm180(sidereal(jd) + lon - ra);
}

double
astro_sunset(int32_t day, double offset_hours, double lat, double lon)
{
	/* Start at 18:00 local time and move by the hour angle still to go. */
	double jd = astro_jd_of_day(day) + (18.0 - offset_hours) / 24.0;
	const double h0 = -0.8333 * DEG; /* the upper limb, refraction */
	for (int i = 0; i < 5; i++) {
		struct ecliptic s = sun_at(jd + delta_t(jd));
		struct equatorial q = to_equatorial(&s);
		double cosh0 = (sin(h0) - sin(lat * DEG) * sin(q.dec * DEG)) /
		               (cos(lat * DEG) * cos(q.dec * DEG));
		if (cosh0 < -1 || cosh0 > 1)
			break; /* polar day or night: not a place this program serves */
		double target = acos(cosh0) / DEG;
		double step = norm180(target - hour_angle(jd, lon, q.ra)) / 360.98564736629;
		jd += step;
		if (fabs(step) < 1e-6)
			break;
	}
	return jd;
}

struct astro_moon_sky
astro_moon_sky(double jd, double lat, double lon)
{
	double jde = jd + delta_t(jd);
	struct ecliptic m = moon_at(jde), s = sun_at(jde);
	struct equatorial q = to_equatorial(&m);
	double h = hour_angle(jd, lon, q.ra) * DEG, phi = lat * DEG, dec = q.dec * DEG;
	double alt = asin(sin(phi) * sin(dec) + cos(phi) * cos(dec) * cos(h));
	/* Parallax lowers the moon by up to a degree (Earth's radius seen from it). */
	double parallax = asin(6378.14 / m.dist);
	alt -= parallax * cos(alt);
	double elong = acos(cos(m.lat * DEG) * cos((m.lon - s.lon) * DEG));
	return (struct astro_moon_sky){alt / DEG, elong / DEG};
}
