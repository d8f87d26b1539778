/*
 * generate.c — the synthetic data set.
 *
 * Randomness is xoshiro256** seeded through splitmix64, so a seed gives the
 * same stream everywhere; gzip output has no time stamp.  Demand of product
 * p on day d is Poisson with mean
 *   base[p] * week[dow] * year(doy) * trend(d) * day_factor(d, category) *
 *   promo uplift * (seasonal window) * (introduced yet)
 * and is split into purchases of 1..n items at shop-hour times.
 */
#include "generate.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "calendar.h"
#include "gen_base.h"
#include "encode.h"
#include "holidays.h"
#include "pwhash.h"
#include "table.h"
#include "valid.h"

/* ---- the shop -------------------------------------------------------------- */

enum season { ALL_YEAR, LEBARAN, NEW_YEAR, SCHOOL };

struct category {
	const char *prefix, *name;
	double lebaran; /* demand factor in the week before Idul Fitri */
	double ramadan; /* during Ramadan */
};

static const struct category categories[] = {
        {"BRD", "Roti & Kue", 1.6, 1.2},     {"DRK", "Minuman", 1.5, 1.5},
        {"SNK", "Makanan Ringan", 1.4, 1.3}, {"SBK", "Sembako", 2.2, 1.2},
        {"MIE", "Mie Instan", 1.3, 1.1},     {"FRZ", "Makanan Beku", 1.3, 1.1},
        {"CAR", "Perawatan Diri", 1.4, 1.0}, {"KBT", "Kebutuhan Rumah", 1.3, 1.0},
};

struct template
{
	int cat;
	const char *name, *variation;
	int price;       /* rupiah */
	double demand;   /* items a day */
	double per_sale; /* mean items a purchase */
	enum season season;
};

static const struct template templates[] = {
        {0, "Roti Tawar", "Besar", 16000, 9, 1.1, ALL_YEAR},
        {0, "Roti Sobek Coklat", NULL, 12500, 7, 1.2, ALL_YEAR},
        {0, "Donat Gula", "Isi 6", 18000, 4, 1.1, ALL_YEAR},
        {0, "Kue Lapis Legit", "Loyang", 85000, 0.6, 1.0, ALL_YEAR},
        {0, "Kue Kering Nastar", "Toples 500g", 95000, 5, 1.3, LEBARAN},
        {1, "Air Mineral", "600ml", 3500, 28, 2.0, ALL_YEAR},
        {1, "Teh Botol", "450ml", 5000, 16, 1.6, ALL_YEAR},
        {1, "Kopi Susu Kaleng", "240ml", 7500, 8, 1.4, ALL_YEAR},
        {1, "Susu UHT Coklat", "1L", 19500, 5, 1.3, ALL_YEAR},
        {1, "Jus Jeruk", "1L", 22000, 2.5, 1.2, ALL_YEAR},
        {1, "Sirup Marjan Cocopandan", "460ml", 24000, 4, 1.5, LEBARAN},
        {2, "Keripik Singkong Balado", "200g", 11000, 7, 1.4, ALL_YEAR},
        {2, "Kacang Atom", "250g", 13500, 5, 1.3, ALL_YEAR},
        {2, "Biskuit Kelapa", "300g", 9500, 6, 1.4, ALL_YEAR},
        {2, "Wafer Coklat", "Isi 10", 15000, 5, 1.3, ALL_YEAR},
        {3, "Beras Premium", "5kg", 78000, 3, 1.05, ALL_YEAR},
        {3, "Minyak Goreng", "2L", 38500, 4, 1.2, ALL_YEAR},
        {3, "Gula Pasir", "1kg", 18000, 5, 1.3, ALL_YEAR},
        {3, "Telur Ayam", "1kg", 29000, 6, 1.2, ALL_YEAR},
        {3, "Tepung Terigu", "1kg", 13500, 3, 1.2, ALL_YEAR},
        {3, "Parsel Lebaran", "Sedang", 250000, 1.5, 1.1, LEBARAN},
        {4, "Mie Goreng Instan", "85g", 3500, 26, 3.0, ALL_YEAR},
        {4, "Mie Kuah Ayam Bawang", "70g", 3200, 18, 2.6, ALL_YEAR},
        {4, "Mie Cup Pedas", "75g", 6500, 6, 1.5, ALL_YEAR},
        {5, "Nugget Ayam", "500g", 42000, 3, 1.1, ALL_YEAR},
        {5, "Sosis Sapi", "375g", 33000, 2.5, 1.1, ALL_YEAR},
        {5, "Es Krim Cone", "Coklat", 10000, 6, 1.5, ALL_YEAR},
        {6, "Sabun Mandi Cair", "450ml", 27500, 3, 1.1, ALL_YEAR},
        {6, "Sampo Sachet", "Renceng", 12000, 4, 1.2, ALL_YEAR},
        {6, "Pasta Gigi", "190g", 16500, 3, 1.1, ALL_YEAR},
        {7, "Deterjen Bubuk", "800g", 21000, 3, 1.1, ALL_YEAR},
        {7, "Sabun Cuci Piring", "780ml", 15500, 3, 1.1, ALL_YEAR},
        {7, "Tisu Wajah", "250 lembar", 14000, 3, 1.2, ALL_YEAR},
        {7, "Kembang Api", "Paket", 45000, 6, 1.4, NEW_YEAR},
        {7, "Buku Tulis", "Isi 10", 32000, 3, 1.3, SCHOOL},
        {2, "Permen Jahe", "Isi 50", 8500, 3, 1.2, ALL_YEAR},
        {1, "Kopi Bubuk", "200g", 24500, 3, 1.1, ALL_YEAR},
        {3, "Kecap Manis", "520ml", 21500, 3, 1.1, ALL_YEAR},
        {4, "Bihun Jagung", "175g", 8000, 2.5, 1.3, ALL_YEAR},
        {0, "Roti Tawar Gandum", "Sedang", 21000, 3, 1.1, ALL_YEAR},
};
#define NTEMPLATES ((int)(sizeof templates / sizeof templates[0]))

struct product {
	char sku[24];
	char name[96];
	int cat, tmpl;
	int price;
	double demand, per_sale;
	enum season season;
	int32_t intro; /* first day it sells */
	int stock;
};

/* What each day means for the shop. */
struct day {
	float all;          /* factor for every category */
	bool ramadan;       /* during Ramadan */
	bool closed;        /* Idul Fitri, renovation */
	bool school;        /* school holidays */
	int promo;          /* 0 none, 1 weekly savings, 2 payday (Sembako), 3 Harbolnas (all) */
	int32_t lebaran_at; /* Idul Fitri, in its week before and days after; else 0 */
	bool new_year;      /* the fireworks window */
};

struct event {
	int32_t day;
	char name[80];
	const char *type;
	const char *description;
	bool predict;
};

struct events {
	struct event *v;
	int n, cap;
};

static bool
add_event(struct events *e, int32_t day, const char *name, const char *type, const char *desc,
          bool predict)
{
	if (e->n == e->cap) {
		int cap = e->cap ? e->cap * 2 : 256;
		struct event *v = realloc(e->v, (size_t)cap * sizeof *v);
		if (v == NULL)
			return false;
		e->v = v;
		e->cap = cap;
	}
	struct event *x = &e->v[e->n++];
	x->day = day;
	(void)snprintf(x->name, sizeof x->name, "%s", name);
	x->type = type;
	x->description = desc;
	x->predict = predict;
	return true;
}

static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int32_t
ymd(int y, int m, int d)
{
	return (int32_t)calendar_days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* The day number of a local time in seconds since 2000-01-01. */
static int32_t
day_of(int64_t t)
{
	return (int32_t)(t >= 0 ? t / GEN_DAY_SECONDS
	                        : -((-t + GEN_DAY_SECONDS - 1) / GEN_DAY_SECONDS));
}

/* Where the file of kind goes in memory, or NULL for a file in o->out. */
static struct buf *
out_buf(const struct gen_opts *o, enum kind kind)
{
	return o->out == NULL ? &o->mem[kind] : NULL;
}

static int
year_of(int32_t day)
{
	int y, m, d;
	calendar_civil_from_days(day, &y, &m, &d);
	return y;
}

/* A random stream of its own for each year's events and each day's sales
 * (a different range of days leaves every one of them as it was). */
static void
rng_for(struct rng *r, uint64_t seed, uint64_t what, int64_t n)
{
	gen_rng_seed(r,
	             seed ^ (what * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)n * 0xD1B54A32D192ED03ULL));
}

enum { STREAM_PRODUCTS = 1, STREAM_EVENTS, STREAM_SALES, STREAM_USERS, STREAM_SHOP };

/* The events of year y. */
static bool
year_events(uint64_t seed, int y, struct events *ev)
{
	struct rng r;
	rng_for(&r, seed, STREAM_EVENTS, y);
	struct holiday h[40];
	bool decreed, ok = true;
	int n = holidays_of_year(y, h, 40, &decreed);
	for (int i = 0; i < n && ok; i++) {
		int32_t day = ymd(h[i].year, h[i].month, h[i].day);
		ok = add_event(ev, day, h[i].name, "holiday", "hari libur nasional", true);
		if (strcmp(h[i].name, "Hari Raya Idul Fitri") != 0)
			continue;
		for (int k = 30; k >= 1 && ok; k--)
			ok = add_event(ev, day - k, "Ramadan", "seasonal",
			               "bulan puasa; belanja sore dan menjelang Lebaran naik",
			               true);
	}
	/* School holidays. */
	for (int32_t d = ymd(y, 6, 22); d <= ymd(y, 7, 14) && ok; d++)
		ok = add_event(ev, d, "Libur Sekolah", "seasonal", "libur kenaikan kelas", true);
	/* Promotions: Harbolnas, paydays, four savings weeks. */
	ok = ok && add_event(ev, ymd(y, 12, 12), "Harbolnas 12.12", "promotion",
	                     "diskon 10% semua produk", true);
	for (int m = 1; m <= 12 && ok; m++) {
		int32_t next = m == 12 ? ymd(y + 1, 1, 1) : ymd(y, m + 1, 1);
		for (int k = 3; k >= 1 && ok; k--)
			ok = add_event(ev, next - k, "Promo Gajian", "promotion",
			               "diskon sembako akhir bulan", true);
	}
	for (int w = 0; w < 4 && ok; w++) {
		int32_t start = ymd(y, 1 + w * 3, 1) + 7 + gen_rng_below(&r, 60);
		char name[64];
		(void)snprintf(name, sizeof name, "Minggu Hemat %d", w + 1);
		for (int k = 0; k < 7 && ok; k++)
			ok = add_event(ev, start + k, name, "promotion",
			               "diskon 15% untuk produk pilihan", true);
	}
	/* One-off events do not repeat: not for prediction.  The shop was
	 * renovated once, in 2025, on days the seed picks. */
	if (ok && y == 2024)
		ok = add_event(ev, ymd(2024, 2, 14), "Pemilu 2024", "custom",
		               "libur pemungutan suara", false);
	if (ok && y == 2025) {
		struct rng shop;
		rng_for(&shop, seed, STREAM_SHOP, 0);
		int32_t reno = ymd(2025, 8, 1) + gen_rng_below(&shop, 60);
		for (int k = 0; k < 3 && ok; k++)
			ok = add_event(ev, reno + k, "Renovasi Toko", "custom", "toko tutup",
			               false);
	}
	return ok;
}

/* The events of the years first..last, in date order. */
static bool
make_events(uint64_t seed, int first, int last, struct events *ev)
{
	for (int y = first; y <= last; y++)
		if (!year_events(seed, y, ev))
			return false;
	if (ev->n > 0) /* qsort() wants a pointer even for no element */
		qsort(ev->v, (size_t)ev->n, sizeof *ev->v, event_cmp);
	return true;
}

/* What the events mean for sales, day by day, for the ndays days from
 * first (ev holds the events of every year these days touch, and of the
 * years before and after them). */
static void
make_days(const struct events *ev, int32_t first, int ndays, struct day *days)
{
	int32_t last = first + ndays - 1;
	for (int i = 0; i < ndays; i++)
		days[i] = (struct day){.all = 1};
	for (int i = 0; i < ev->n; i++) {
		const struct event *e = &ev->v[i];
		if (e->day > last + 40 || e->day < first - 40)
			continue;
		int at = e->day - first;
		bool in = at >= 0 && at < ndays;
		if (strcmp(e->name, "Hari Raya Idul Fitri") == 0) {
			for (int k = -7; k <= 3; k++) {
				int j = at + k;
				if (j < 0 || j >= ndays)
					continue;
				days[j].lebaran_at = e->day;
				if (k >= 1) /* the days after: families away */
					days[j].all *= 0.6f;
			}
			if (in)
				days[at].closed = true;
		} else if (strcmp(e->name, "Hari Raya Idul Fitri (hari kedua)") == 0) {
			if (in)
				days[at].closed = true;
		} else if (strcmp(e->type, "holiday") == 0) {
			if (in)
				days[at].all *= 0.75f;
			if (at - 1 >= 0 && at - 1 < ndays)
				days[at - 1].all *= 1.4f; /* the shopping day before */
		} else if (strcmp(e->name, "Ramadan") == 0) {
			if (in)
				days[at].ramadan = true;
		} else if (strcmp(e->name, "Libur Sekolah") == 0) {
			if (in)
				days[at].school = true;
		} else if (strcmp(e->name, "Renovasi Toko") == 0) {
			if (in)
				days[at].closed = true;
		} else if (in && strcmp(e->type, "promotion") == 0) {
			int kind = strcmp(e->name, "Harbolnas 12.12") == 0 ? 3
			           : strcmp(e->name, "Promo Gajian") == 0  ? 2
			                                                   : 1;
			if (kind > days[at].promo)
				days[at].promo = kind;
		}
	}
	for (int i = 0; i < ndays; i++) {
		int y, m, d;
		calendar_civil_from_days(first + i, &y, &m, &d);
		days[i].new_year = (m == 12 && d >= 15) || (m == 1 && d == 1);
		if (m == 12 && d == 31)
			days[i].all *= 1.5f;
	}
}

static void
make_products(struct rng *r, int n, struct product *p)
{
	int seq[sizeof categories / sizeof categories[0]] = {0};
	for (int i = 0; i < n; i++) {
		int t = i % NTEMPLATES, round = i / NTEMPLATES;
		const struct template *tp = &templates[t];
		struct product *x = &p[i];
		x->tmpl = t;
		x->cat = tp->cat;
		(void)snprintf(x->sku, sizeof x->sku, "%s-%03d", categories[tp->cat].prefix,
		               ++seq[tp->cat]);
		if (round == 0)
			(void)snprintf(x->name, sizeof x->name, "%s", tp->name);
		else
			(void)snprintf(x->name, sizeof x->name, "%s Varian %d", tp->name,
			               round + 1);
		/* Rupiah prices end in 500. */
		double f = 1 + (gen_rng_unit(r) - 0.5) * 0.2 + round * 0.03;
		x->price = (int)(tp->price * f / 500 + 0.5) * 500;
		if (x->price < 500)
			x->price = 500;
		x->demand = tp->demand * (0.6 + 0.8 * gen_rng_unit(r));
		x->per_sale = tp->per_sale;
		x->season = tp->season;
		x->stock = 5 + gen_rng_below(r, 196);
		/* One product in eight is new, introduced between July 2024 and
		 * December 2025 (never the seasonal ones); the others always sold. */
		x->intro = INT32_MIN;
		if (tp->season == ALL_YEAR && gen_rng_unit(r) < 0.125)
			x->intro = ymd(2024, 7, 1) + gen_rng_below(r, 540);
	}
}

/* Shop hours 07:00-21:59, busiest mid-morning and early evening. */
static const double hour_weight[15] = {2, 5, 7, 8, 7, 5, 4, 4, 5, 7, 9, 9, 7, 4, 2};

static int
sale_second(struct rng *r, bool ramadan)
{
	double total = 0, x;
	for (int h = 0; h < 15; h++)
		total += hour_weight[h] * (ramadan && h >= 9 && h <= 11 ? 1.8 : 1);
	x = gen_rng_unit(r) * total;
	int h = 0;
	for (; h < 14; h++) {
		x -= hour_weight[h] * (ramadan && h >= 9 && h <= 11 ? 1.8 : 1);
		if (x < 0)
			break;
	}
	return (7 + h) * 3600 + gen_rng_below(r, 3600);
}

struct sale {
	int second;
	int product;
	int qty;
	int price; /* rupiah */
	bool promo;
};

static int
sale_cmp(const void *a, const void *b)
{
	const struct sale *x = a, *y = b;
	if (x->second != y->second)
		return x->second - y->second;
	return x->product - y->product;
}

static char *
put2(char *o, int v)
{
	*o++ = (char)('0' + v / 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

/* The demand factor of product p on day number day. */
static double
demand(const struct product *p, const struct day *d, int32_t day, double week, double year)
{
	if (d->closed || day < p->intro)
		return 0;
	double f = p->demand * week * year * d->all;
	/* A shop growing 6% a year since 2024, within bounds for any year. */
	double growth = 1 + 0.06 * (double)(day - ymd(2024, 1, 1)) / 365.25;
	f *= growth < 0.7 ? 0.7 : growth > 1.6 ? 1.6 : growth;
	const struct category *c = &categories[p->cat];
	if (d->lebaran_at != 0 && day < d->lebaran_at)
		f *= c->lebaran;
	if (d->ramadan)
		f *= c->ramadan;
	if (d->school && (p->cat == 1 || p->cat == 2))
		f *= 1.15;
	switch (p->season) {
	case LEBARAN:
		if (d->lebaran_at == 0 && !d->ramadan)
			return 0;
		f *= d->ramadan ? 1.5 : 3;
		break;
	case NEW_YEAR:
		if (!d->new_year)
			return 0;
		f *= 2;
		break;
	case SCHOOL: {
		if (!d->school)
			f *= 0.15;
		else
			f *= 2.5;
		break;
	}
	case ALL_YEAR:
		break;
	}
	return f;
}

static enum etl_code
write_sales(const struct gen_opts *o, const struct product *p, const struct day *days,
            struct gen_stats *st, struct etl_error *err)
{
	static const double week[7] = {0.9, 0.85, 0.9, 0.95, 1.05, 1.3, 1.25}; /* Mon..Sun */
	struct gzout g;
	struct sale *sales = NULL;
	size_t cap = 0;
	char line[128];
	int32_t first = day_of(o->from), last = day_of(o->until - 1);
	bool ok = gen_gz_open(&g, o->out, "sales.csv.gz", out_buf(o, KIND_SALES), 3);
	gen_put_header(&g, KIND_SALES);
	for (int32_t day = first; day <= last && ok && !g.failed; day++) {
		const struct day *d = &days[day - first];
		struct rng rday, *r = &rday;
		rng_for(r, o->seed, STREAM_SALES, day);
		/* The part of the day asked for. */
		int64_t lo = o->from - (int64_t)day * GEN_DAY_SECONDS;
		int64_t hi = o->until - (int64_t)day * GEN_DAY_SECONDS;
		int dow = (int)(((day % 7) + 7 + 5) % 7); /* 2000-01-01 was a Saturday */
		int y, m, dd;
		calendar_civil_from_days(day, &y, &m, &dd);
		double doy = (double)(day - ymd(y, 1, 1));
		double year = 1 + 0.1 * sin(2 * M_PI * (doy - 80) / 365.25);
		size_t n = 0;
		for (int k = 0; k < o->products; k++) {
			double mean = demand(&p[k], d, day, week[dow], year);
			bool promo = d->promo == 3 || (d->promo == 2 && p[k].cat == 3) ||
			             (d->promo == 1 && (k * 7 + d->promo) % 5 == 0);
			if (promo)
				mean *= 1.6;
			int units = gen_poisson(r, mean);
			while (units > 0) {
				int q = 1;
				while (q < units && gen_rng_unit(r) > 1 / p[k].per_sale)
					q++;
				units -= q;
				if (n == cap) {
					cap = cap ? cap * 2 : 4096;
					struct sale *s = realloc(sales, cap * sizeof *s);
					if (s == NULL) {
						free(sales);
						(void)gen_gz_close(&g, NULL);
						return error_oom(err, NULL, 0);
					}
					sales = s;
				}
				int price = p[k].price;
				if (promo) /* 10% off on Harbolnas, else 15% */
					price = (int)(price * (d->promo == 3 ? 0.9 : 0.85) / 100 +
					              0.5) *
					        100;
				sales[n++] = (struct sale){sale_second(r, d->ramadan), k, q, price,
				                           promo};
			}
		}
		if (n > 0)
			qsort(sales, n, sizeof *sales, sale_cmp);
		char date[11];
		(void)calendar_format_date(date, day);
		size_t written = 0;
		for (size_t j = 0; j < n; j++) {
			const struct sale *s = &sales[j];
			if (s->second < lo || s->second >= hi)
				continue;
			written++;
			char *q = line;
			size_t sl = strlen(p[s->product].sku);
			memcpy(q, p[s->product].sku, sl);
			q += sl;
			*q++ = ',';
			q += encode_uint(q, (uint64_t)s->qty);
			*q++ = ',';
			q += encode_uint(q, (uint64_t)s->price);
			*q++ = ',';
			memcpy(q, date, 10);
			q += 10;
			*q++ = ' ';
			q = put2(q, s->second / 3600);
			*q++ = ':';
			q = put2(q, s->second / 60 % 60);
			*q++ = ':';
			q = put2(q, s->second % 60);
			memcpy(q, s->promo ? ",true\n" : ",false\n", s->promo ? 6 : 7);
			q += s->promo ? 6 : 7;
			gen_gz_put(&g, line, (size_t)(q - line));
		}
		st->sales += written;
	}
	free(sales);
	enum etl_code rc = gen_gz_close(&g, err);
	if (!ok && rc == ETL_OK)
		rc = error_set(err, ETL_ESYSTEM, o->out, 0, "cannot write sales.csv.gz");
	return rc;
}

static enum etl_code
write_products(const struct gen_opts *o, const struct product *p, struct etl_error *err)
{
	struct gzout g;
	(void)gen_gz_open(&g, o->out, "products.csv.gz", out_buf(o, KIND_PRODUCTS), 9);
	gen_put_header(&g, KIND_PRODUCTS);
	for (int i = 0; i < o->products; i++) {
		char price[16], stock[16];
		const struct template *t = &templates[p[i].tmpl];
		(void)snprintf(price, sizeof price, "%d", p[i].price);
		(void)snprintf(stock, sizeof stock, "%d", p[i].stock);
		gen_csv_put(&g, p[i].sku, false);
		gen_csv_put(&g, p[i].name, false);
		gen_csv_put(&g, categories[p[i].cat].name, false);
		gen_csv_put(&g, t->variation ? t->variation : "", false);
		gen_csv_put(&g, price, false);
		gen_csv_put(&g, stock, true);
	}
	return gen_gz_close(&g, err);
}

static enum etl_code
write_events(const struct gen_opts *o, const struct events *ev, struct etl_error *err)
{
	struct gzout g;
	(void)gen_gz_open(&g, o->out, "events.csv.gz", out_buf(o, KIND_EVENTS), 9);
	gen_put_header(&g, KIND_EVENTS);
	for (int i = 0; i < ev->n; i++) {
		char date[11];
		date[calendar_format_date(date, ev->v[i].day)] = '\0';
		gen_csv_put(&g, ev->v[i].name, false);
		gen_csv_put(&g, date, false);
		gen_csv_put(&g, ev->v[i].type, false);
		gen_csv_put(&g, ev->v[i].description, false);
		gen_csv_put(&g, ev->v[i].predict ? "true" : "false", true);
	}
	return gen_gz_close(&g, err);
}

/* Shop staff; their passwords are random and thrown away: they sign in
 * after an administrator resets them. */
static enum etl_code
write_users(struct rng *r, const struct gen_opts *o, struct gen_stats *st, struct etl_error *err)
{
	static const struct {
		const char *email, *name;
		bool active;
	} staff[] = {
	        {"siti.rahma@toko-siprems.example", "Siti Rahma", true},
	        {"budi.santoso@toko-siprems.example", "Budi Santoso", true},
	        {"dewi.lestari@toko-siprems.example", "Dewi Lestari", false},
	};
	struct gzout g;
	enum etl_code rc = ETL_OK;
	(void)gen_gz_open(&g, o->out, "users.csv.gz", out_buf(o, KIND_USERS), 9);
	gen_put_header(&g, KIND_USERS);
	for (size_t i = 0; i < sizeof staff / sizeof staff[0] && rc == ETL_OK; i++) {
		static const char chars[] =
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
		char secret[25], salt[17], hash[PWHASH_LEN];
		for (int k = 0; k < 24; k++)
			secret[k] = chars[gen_rng_below(r, 62)];
		secret[24] = '\0';
		for (int k = 0; k < 16; k++)
			salt[k] = chars[gen_rng_below(r, 62)];
		salt[16] = '\0';
		rc = pwhash_make_salted(secret, 24, 0, salt, hash, err);
		gen_csv_put(&g, staff[i].email, false);
		gen_csv_put(&g, staff[i].name, false);
		gen_csv_put(&g, hash, false);
		gen_csv_put(&g, staff[i].active ? "true" : "false", true);
		st->users++;
	}
	enum etl_code rc2 = gen_gz_close(&g, err);
	return rc != ETL_OK ? rc : rc2;
}

void
generate_window(struct gen_opts *o, int32_t end, int days, int cut)
{
	int32_t first = end - days + 1;
	o->from = (int64_t)first * GEN_DAY_SECONDS;
	o->until = (int64_t)end * GEN_DAY_SECONDS + cut;
	o->first_year = year_of(first);
	o->last_year = year_of(end) + 1;
}

void
generate_default(struct gen_opts *o)
{
	*o = (struct gen_opts){.products = 40, .seed = 42};
	generate_window(o, ymd(2025, 12, 31), 731, GEN_DAY_SECONDS);
}

enum etl_code
generate(const struct gen_opts *o, struct gen_stats *st, struct etl_error *err)
{
	struct timespec t0, t1;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(st, 0, sizeof *st);
	if (o->out != NULL && mkdir(o->out, 0755) != 0 && errno != EEXIST)
		return error_set(err, ETL_ESYSTEM, o->out, 0, "cannot create the directory: %s",
		                 strerror(errno));
	bool sales = o->until > o->from;
	int32_t first = sales ? day_of(o->from) : 0, last = sales ? day_of(o->until - 1) : -1;
	int ndays = last - first + 1;
	struct product *p = calloc((size_t)o->products, sizeof *p);
	struct day *days = calloc((size_t)(ndays > 0 ? ndays : 1), sizeof *days);
	struct events ev = {0}, around = {0};
	enum etl_code rc = ETL_OK;
	if (p == NULL || days == NULL) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	struct rng rp, ru;
	rng_for(&rp, o->seed, STREAM_PRODUCTS, 0);
	rng_for(&ru, o->seed, STREAM_USERS, 0);
	make_products(&rp, o->products, p);
	/* The sales days feel the events of their years and the neighbours'. */
	if (!make_events(o->seed, o->first_year, o->last_year, &ev) ||
	    (sales && !make_events(o->seed, year_of(first) - 1, year_of(last) + 1, &around))) {
		rc = error_oom(err, NULL, 0);
		goto out;
	}
	if (sales)
		make_days(&around, first, ndays, days);
	st->events = (uint64_t)ev.n;
	if (!o->history_only) {
		st->products = (uint64_t)o->products;
		rc = write_products(o, p, err);
		if (rc == ETL_OK)
			rc = write_users(&ru, o, st, err);
	}
	if (rc == ETL_OK)
		rc = write_events(o, &ev, err);
	if (rc == ETL_OK)
		rc = write_sales(o, p, days, st, err);
out:
	free(p);
	free(days);
	free(ev.v);
	free(around.v);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
