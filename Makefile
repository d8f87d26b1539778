# siprems-etl — plain Makefile.
#
#   make                      build build/siprems-etl
#   make SANITIZE=address,undefined   sanitizer build (in build-san/)
#   make CC=clang             any C11 compiler
#   make test                 install what is missing, build, run every test
#                             (integration files side by side: JOBS=N lanes,
#                             default the cores)
#   make test-big             the large-data tier: the files with sized cases
#                             at their large sizes (5M-row loads: scripts/bench.sh)
#   make SANITIZE=thread BUILD=build-tsan   ThreadSanitizer build
#   make fuzz FUZZ_SECONDS=60 libFuzzer on the intake, the gzip input and the
#                             fingerprint's two tokenizers (clang)
#   make coverage             the whole suite under gcov: lines and branches per file
#   make valgrind             one full load under valgrind against a local server
#   make seed                 install what is missing, build, seed a database
#   make install PREFIX=/usr/local DESTDIR=
#   make format-check         the C sources against .clang-format (make format fixes)
#   make check-wall           libpq-fe.h cannot be reached from lib/, intake/, valid/
#   make clean

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS := -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow \
	-Wmissing-prototypes -Wformat=2 -Werror
PKGS := libpq zlib libcrypto

ifeq ($(FUZZ),1)
# libFuzzer targets (make fuzz): clang, the library instrumented for coverage.
BUILD := build-fuzz
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
else ifeq ($(COVERAGE),1)
# make coverage: gcov's counters, no optimisation.
BUILD := build-cov
SANFLAGS := --coverage -O0
else ifneq ($(SANITIZE),)
BUILD ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif

# libpq's flags reach only the folders that talk to the database: the
# intake, the validation and the bottom library compile without them, so an
# include of libpq-fe.h there fails the build (and the check below catches
# one spelled with its directory).
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null)
PKG_CFLAGS := $(shell pkg-config --cflags zlib libcrypto 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -Iinclude -I$(BUILD) -D_GNU_SOURCE -DETL_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
NOPQ_DIRS := lib intake valid
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) $(SANFLAGS) -pthread -MMD -MP
LDLIBS += $(PKG_LIBS) -lcsv -lm -pthread
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# Quiet by default, like Redis: "CC file"; V=1 shows whole commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

BIN := $(BUILD)/siprems-etl
# src/<folder>/<file>.c, one folder per stage of the pipeline
# (docs/internals.md); objects keep the folder under $(BUILD).
LIB_SRCS := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/schema_sql.o
NOPQ_OBJS := $(filter $(NOPQ_DIRS:%=$(BUILD)/%/%),$(LIB_OBJS))
SCHEMA_SQL := $(sort $(wildcard schema/*.sql))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Each fuzz target also builds without libFuzzer, as a replayer of its seed
# corpus and kept crashers that `make test` runs.
FUZZ_TARGETS := fuzz_intake fuzz_input fuzz_fingerprint
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all clean install test test-big unit integration seed deps fuzz fuzz-bins valgrind unit-bins \
	coverage format format-check check-wall
all: $(BIN)

$(BIN): $(BUILD)/cli/main.o $(BUILD)/libetl.a
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libetl.a: $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# $(call no_libpq,SOURCE): fails when SOURCE reaches libpq-fe.h however
# it is spelled.
no_libpq = if $(CC) $(CPPFLAGS) -M $(1) | grep -q 'libpq-fe\.h'; then \
	echo "$(1): includes libpq-fe.h, which the intake and validation never see" >&2; \
	exit 1; fi

$(NOPQ_OBJS): $(BUILD)/%.o: src/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<
	$(Q)$(call no_libpq,$<) || { rm -f $@; exit 1; }

# The wall itself, tried (scripts/test.sh): libpq-fe.h does not compile
# with the wall's flags, and reached through its directory it is caught.
check-wall: | $(BUILD)
	$(Q)printf '#include <libpq-fe.h>\n' >$(BUILD)/wall_probe.c
	$(Q)if $(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fsyntax-only -MF $(BUILD)/wall_probe.d $(BUILD)/wall_probe.c 2>/dev/null; \
	then echo "check-wall: libpq-fe.h compiles without libpq's flags" >&2; exit 1; fi
	$(Q)printf '#include <postgresql/libpq-fe.h>\n' >$(BUILD)/wall_probe.c
	$(Q)if ( $(call no_libpq,$(BUILD)/wall_probe.c) ) 2>/dev/null; \
	then echo "check-wall: <postgresql/libpq-fe.h> passes the check" >&2; exit 1; fi
	$(Q)rm -f $(BUILD)/wall_probe.c $(BUILD)/wall_probe.d
	@echo "check-wall: lib/, intake/ and valid/ cannot reach libpq-fe.h"

$(BUILD)/%.o: src/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/schema_sql.c: $(SCHEMA_SQL) scripts/embed-sql.sh | $(BUILD)
	$(call say,EMBED,$@)
	$(Q)sh scripts/embed-sql.sh $@ $(SCHEMA_SQL)

$(BUILD)/schema_sql.o: $(BUILD)/schema_sql.c
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libetl.a | $(BUILD)/tests
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libetl.a \
		$(LDLIBS) -lcmocka

$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libetl.a | $(BUILD)/tests
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ tests/fuzz/$*.c tests/fuzz/replay.c \
		$(BUILD)/libetl.a $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libetl.a | $(BUILD)/fuzz
	$(call say,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(PQ_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(BUILD)/libetl.a $(LDLIBS)

$(BUILD) $(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

# The builds that the two commands (and the other targets that install
# first) start: one compiler per core.
NPROC := $(shell nproc 2>/dev/null || echo 2)

# The two commands of the README.  Each first installs what is missing,
# then re-enters make so that pkg-config sees the new packages.
deps:
	bash scripts/install-deps.sh

# PG=MAJOR runs the integration tests on that PostgreSQL (14 to 18); JOBS=N
# runs them in N lanes (each its own server), default one per core.
test: deps
	$(MAKE) --no-print-directory -j$(NPROC) all unit-bins
	PG=$(PG) TEST_JOBS=$(JOBS) bash scripts/test.sh

# The large-data tier, kept out of `make test`: every integration file that
# sizes its cases with scale (tests/lib.sh), at the large size.
BIG_TESTS = $(patsubst tests/integration/test_%.sh,%,$(shell grep -lE 'scale [0-9]' tests/integration/*.sh))
test-big: deps
	$(MAKE) --no-print-directory -j$(NPROC) all unit-bins
	ETL_TEST_BIG=1 PG=$(PG) TEST_JOBS=$(JOBS) bash scripts/test.sh --integration-only $(BIG_TESTS)

seed: deps
	$(MAKE) --no-print-directory -j$(NPROC) all
	BUILD=$(BUILD) bash scripts/seed.sh $(SEED_ARGS)

unit-bins: $(UNIT_BINS) $(REPLAY_BINS)

fuzz-bins: $(FUZZ_BINS)

# libFuzzer needs clang and its runtime: install-deps.sh --extra.
fuzz:
	bash scripts/install-deps.sh --extra
	$(MAKE) --no-print-directory -j$(NPROC) FUZZ=1 fuzz-bins
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

coverage: deps
	$(MAKE) --no-print-directory -j$(NPROC) COVERAGE=1 all unit-bins
	bash scripts/coverage.sh build-cov

valgrind: deps
	bash scripts/install-deps.sh --extra
	$(MAKE) --no-print-directory -j$(NPROC) all
	BUILD=$(BUILD) bash scripts/valgrind.sh

unit: $(BIN) $(UNIT_BINS)
	bash scripts/test.sh --unit-only

integration: $(BIN)
	bash scripts/test.sh --integration-only

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/siprems-etl
	install -m 0644 docs/siprems-etl.1 $(DESTDIR)$(PREFIX)/share/man/man1/siprems-etl.1
	install -m 0644 scripts/siprems-etl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/siprems-etl
	install -d $(DESTDIR)$(PREFIX)/share/siprems-etl
	install -m 0755 scripts/deploy/siprems-etl-nightly $(DESTDIR)$(PREFIX)/bin/siprems-etl-nightly
	install -m 0644 scripts/deploy/siprems-etl-nightly.service \
		scripts/deploy/siprems-etl-nightly.timer scripts/deploy/siprems-etl.cron \
		$(DESTDIR)$(PREFIX)/share/siprems-etl/

FORMAT_FILES = $(wildcard src/*/*.c include/*.h tests/unit/*.c tests/fuzz/*.c)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

format:
	clang-format -i $(FORMAT_FILES)

clean:
	rm -rf build build-san build-tsan build-fuzz build-cov

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/tests/*.d $(BUILD)/fuzz/*.d)
