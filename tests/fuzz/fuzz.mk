# libFuzzer harnesses. Each harness tests/fuzz/fuzz_<name>.c defines
# LLVMFuzzerTestOneInput() and calls the project's real parser; its fragment adds
#   FUZZERS += <name>
#   fuzz_<name>_SRCS := <non-lib sources the harness needs>
# and seeds go in tests/fuzz/corpus/<name>/ (regressions: tests/fuzz/regress/<name>/).
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZERS_RUN="a b"]   clang -fsanitize=fuzzer,address,undefined
#   make check                                          replays every corpus and regression
#                                                       input (gcc + ASan, replay_main.c)

FUZZ_SECONDS ?= 60

define FUZZ_template
fuzz_$(1)_OBJS := $(O)/obj/tests/fuzz/fuzz_$(1).o $$(fuzz_$(1)_SRCS:%.c=$(O)/obj/%.o)
ifeq ($(FUZZ),1)
$(O)/fuzz/fuzz_$(1): $$(fuzz_$(1)_OBJS) $(LIBSS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$(fuzz_$(1)_OBJS) $(LIBSS) $$(fuzz_$(1)_LIBS) $(BASE_LIBS)
else
$(O)/fuzz/fuzz_$(1): $$(fuzz_$(1)_OBJS) $(O)/obj/tests/fuzz/replay_main.o $(LIBSS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(fuzz_$(1)_OBJS) $(O)/obj/tests/fuzz/replay_main.o $(LIBSS) $$(fuzz_$(1)_LIBS) $(BASE_LIBS)
endif
ALL_OBJS += $$(fuzz_$(1)_OBJS)
endef

# Evaluated after every fragment is read (see the top-level Makefile).
define FUZZ_RULES
$(foreach f,$(FUZZERS),$(eval $(call FUZZ_template,$(f))))
FUZZ_BINS := $(FUZZERS:%=$(O)/fuzz/fuzz_%)
TEST_BINS += $(FUZZERS:%=$(O)/fuzz/fuzz_%)
endef

.PHONY: fuzz fuzz-build
fuzz-build:
	$(MAKE) --no-print-directory FUZZ=1 CC=clang $(FUZZERS:%=build/fuzz/fuzz/fuzz_%)

fuzz: fuzz-build
	bash tests/fuzz/run-fuzzers.sh $(FUZZ_SECONDS) $(or $(FUZZERS_RUN),$(FUZZERS))
