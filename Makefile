# SmallStack-C: one GNU Makefile for everything. Each directory describes its own
# programs and tests in a <dir>.mk fragment; this file holds the shared rules.
#
#   make              build every program into build/bin/
#   make ASAN=1       the same with AddressSanitizer+UBSan into build/asan/bin/
#   make check        sanitizer build + style checks, unit, integration and e2e tests
#   make images       appliance images (build/images/)
#   make publish-images IMAGESERVER=host:port   make images, then add them to an image server
#   make fuzz         libFuzzer harnesses (clang), FUZZ_SECONDS=60 each
#   make soak         hypervisor soak under mixed RPC load, SOAK_MINUTES=30 (not in check)
#   make install      DESTDIR=, PREFIX=/usr/local
#   make fmt          clang-format every C file
#   make fmt-check / lint / shellcheck   style checks (the first group of make check)

.DEFAULT_GOAL := all
SHELL := /bin/bash

TOP := $(abspath .)
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell git -C $(TOP) describe --always --dirty 2>/dev/null || echo unknown)

ifeq ($(FUZZ),1)
  CC := clang
  O := build/fuzz
  SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(ASAN),1)
  O := build/asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  O := build
  SANFLAGS :=
endif

CC ?= gcc
OPT ?= -O2
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Werror
CPPFLAGS += -D_GNU_SOURCE -DSS_VERSION='"$(VERSION)"' -I$(TOP)/lib -I$(TOP)
# The build path stays out of the objects (debug info, __FILE__): a clone elsewhere
# builds the same bytes (tests/e2e/images_repro.sh).
REPRO_FLAGS := -ffile-prefix-map=$(TOP)=. -fdebug-prefix-map=$(TOP)=.
CFLAGS += -std=c11 $(OPT) -g $(WARN) $(SANFLAGS) $(REPRO_FLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)

PKGS_BASE := openssl jansson
pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs = $(shell pkg-config --libs $(1) 2>/dev/null)
CPPFLAGS += $(call pkg_cflags,$(PKGS_BASE) libvirt libmicrohttpd libarchive)
BASE_LIBS := $(call pkg_libs,$(PKGS_BASE)) -lpthread

# Filled in by the fragments.
LIB_SRCS :=
PROGRAMS :=
UNIT_TESTS :=
TEST_BINS :=
FUZZERS :=
INSTALL_SBIN :=
INSTALL_BIN :=

include $(sort $(wildcard */*.mk */*/*.mk */*/*/*.mk))

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
LIBSS := $(O)/lib/libsmallstack.a

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# lib/ sources built with SS_HTTP_MINI (lib/http_mini answers HTTP instead of
# libmicrohttpd), for programs that list them in <name>_MINI_SRCS: the installer, which
# is linked statically and must stay small.
$(O)/obj/mini/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DSS_HTTP_MINI $(CFLAGS) -c -o $@ $<

$(LIBSS): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# program template: $(1) = name; uses $(1)_SRCS, $(1)_MINI_SRCS and $(1)_LIBS
define PROGRAM_template
$(1)_OBJS := $$($(1)_SRCS:%.c=$(O)/obj/%.o) $$($(1)_MINI_SRCS:%.c=$(O)/obj/mini/%.o)
$(O)/bin/$(1): $$($(1)_OBJS) $(LIBSS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIBSS) $$($(1)_LIBS) $(BASE_LIBS)
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))

# unit test template: tests/unit/<name>.c (+ $(name)_SRCS extra) linked with cmocka
define UNIT_template
$(1)_OBJS := $(O)/obj/tests/unit/$(1).o $$($(1)_SRCS:%.c=$(O)/obj/%.o)
$(O)/tests/unit/$(1): $$($(1)_OBJS) $(LIBSS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIBSS) $$($(1)_LIBS) -lcmocka $(BASE_LIBS)
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_template,$(t))))

$(eval $(FUZZ_RULES))

BINS := $(PROGRAMS:%=$(O)/bin/%)
UNIT_BINS := $(UNIT_TESTS:%=$(O)/tests/unit/%)

.PHONY: all tests check deps install fmt fmt-check lint shellcheck clean memcheck soak
all: $(BINS)
tests: all $(UNIT_BINS) $(TEST_BINS)

deps:
	bash tools/deps.sh

# make check: the sanitizer build of everything, the normal build (images need
# unsanitized binaries) and the appliance images (the birth tests install them), then
# every test, the style checks first (tests/style.sh).
# Last line: "N passed, N failed, N skipped".
check:
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory images
	$(MAKE) --no-print-directory ASAN=1 tests
	bash tests/run.sh build/asan

SOAK_MINUTES ?= 30
soak: all
	SOAK_MINUTES=$(SOAK_MINUTES) bash bench/soak/run.sh

memcheck:
	$(MAKE) --no-print-directory tests
	MEMCHECK=1 bash tests/run.sh build

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	$(foreach p,$(INSTALL_SBIN),install -m 0755 $(O)/bin/$(p) $(DESTDIR)$(PREFIX)/sbin/$(p);)
	$(foreach p,$(INSTALL_BIN),install -m 0755 $(O)/bin/$(p) $(DESTDIR)$(PREFIX)/bin/$(p);)

# Style checks (tests/style.sh runs them as the first group of make check).
C_FILES = $(shell git ls-files '*.c' '*.h')
# Shell scripts: *.sh and every tracked file whose first line is a sh/bash shebang.
SH_FILES = $(shell git ls-files | while read -r f; do case "$$f" in (*.sh) echo "$$f" ;; \
	(*) [ -f "$$f" ] && head -n1 "$$f" | grep -qE '^\#!.*(/|env )(ba|da)?sh( |$$)' && echo "$$f" ;; esac; done)
fmt:
	clang-format -i $(C_FILES)
# Lists the files that differ from clang-format's output (make fmt rewrites them).
fmt-check:
	@bad=$$(for f in $(C_FILES); do [ ! -f "$$f" ] || clang-format "$$f" | cmp -s - "$$f" || echo "$$f"; done); \
	if [ -n "$$bad" ]; then echo "not clang-format clean (make fmt fixes them):"; \
	  printf '  %s\n' $$bad; exit 1; fi
# varFuncNullUB: a NULL sentinel ending variadic arguments (execl style) is fine where
# NULL is ((void *)0), as on every platform we build on (glibc, clang and gcc).
lint:
	cppcheck --quiet --enable=warning,portability --suppress=varFuncNullUB --inline-suppr \
	  --error-exitcode=1 -I lib $(C_FILES)
# .shellcheckrc: source-path=SCRIPTDIR, so -x follows "$(dirname "$0")/lib/..." sources.
shellcheck:
	shellcheck -x $(SH_FILES)

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d) $(LIB_OBJS:.o=.d)
