# snbridge - one non-recursive Makefile for every part.
#
#   make            build the codec library and every program
#   make test       build and run every test (unit, then system)
#   make check      the same tests under -fsanitize=address,undefined
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#   make demo       the main job, end to end, on 127.0.0.1
#   make bench      measure the figures README quotes
#   make install    PREFIX (default /usr/local) and DESTDIR honoured
#   make deps       install missing Debian packages (as root) or say which
#
# Source layout decides what is built, so adding a file needs no edit here:
#   codec/*.c                   -> $(BUILD)/libsncodec.a
#   bridge/*.c but main.c       -> $(BUILD)/libsngw.a, bridge/main.c -> sn-bridge
#   sn-client/*.c               -> $(BUILD)/libsnc.a, sn-client/tools/X.c -> X
#   sim/*.c but main.c          -> $(BUILD)/libsnsim.a, sim/main.c -> sn-sim
#   tests/unit/test_X.c         -> $(BUILD)/tests/test_X (cmocka)
#   tests/tools/X.c             -> $(BUILD)/tests/X (helpers for system tests)
#   tests/system/X.sh           run by `make test` after the unit tests
#   tests/fuzz/fuzz_X.c         -> $(BUILD)/fuzz/fuzz_X (clang, libFuzzer)

BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include/snbridge
FUZZ_SECONDS ?= 60
CC ?= cc
FUZZ_CC ?= clang

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef \
        -Wcast-qual -Wwrite-strings
ifeq ($(CI),true)
WERROR ?= -Werror
endif
CFLAGS ?= -O2 -g
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

# Dependencies through pkg-config, which every one of them ships a .pc for.
# Evaluated lazily so that `make deps` works before they are installed.
PKGS := libmosquitto libsodium zlib
pc = $(shell pkg-config $(1) $(2) 2>/dev/null)
DEP_CFLAGS = $(call pc,--cflags,$(PKGS))
DEP_LIBS = $(call pc,--libs,$(PKGS))
CMOCKA_CFLAGS = $(call pc,--cflags,cmocka)
CMOCKA_LIBS = $(call pc,--libs,cmocka)

ALL_CPPFLAGS = -I. -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(CPPFLAGS)
ALL_CFLAGS = $(WARN) $(WERROR) $(CFLAGS) $(DEP_CFLAGS) -MMD -MP

# ---------------------------------------------------------------- sources

CODEC_SRC := $(sort $(wildcard codec/*.c))
GW_SRC := $(sort $(filter-out bridge/main.c,$(wildcard bridge/*.c)))
SNC_SRC := $(sort $(wildcard sn-client/*.c))
SIM_SRC := $(sort $(filter-out sim/main.c,$(wildcard sim/*.c)))
TOOL_SRC := $(sort $(wildcard sn-client/tools/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
TESTTOOL_SRC := $(sort $(wildcard tests/tools/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CODEC_LIB := $(BUILD)/libsncodec.a
GW_LIB := $(if $(GW_SRC),$(BUILD)/libsngw.a)
SNC_LIB := $(if $(SNC_SRC),$(BUILD)/libsnc.a)
SIM_LIB := $(if $(SIM_SRC),$(BUILD)/libsnsim.a)
# Link order: users before what they use.
LIBS := $(SIM_LIB) $(GW_LIB) $(SNC_LIB) $(CODEC_LIB)

BINS := $(strip $(if $(wildcard bridge/main.c),$(BUILD)/bin/sn-bridge) \
        $(if $(wildcard sim/main.c),$(BUILD)/bin/sn-sim) \
        $(patsubst sn-client/tools/%.c,$(BUILD)/bin/%,$(TOOL_SRC)))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TESTTOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TESTTOOL_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all build test check fuzz fuzzdeps demo bench install deps clean
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

build: $(LIBS) $(BINS) $(UNIT_BINS) $(TESTTOOL_BINS)

# ---------------------------------------------------------------- rules

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC   $<"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(CODEC_LIB): $(call obj,$(CODEC_SRC))
$(BUILD)/libsngw.a: $(call obj,$(GW_SRC))
$(BUILD)/libsnc.a: $(call obj,$(SNC_SRC))
$(BUILD)/libsnsim.a: $(call obj,$(SIM_SRC))
$(BUILD)/%.a:
	@mkdir -p $(@D)
	@echo "  AR   $@"
	@rm -f $@ && ar rcs $@ $^

LINK = @mkdir -p $(@D) && echo "  LINK $@" && $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/bin/sn-bridge: $(call obj,bridge/main.c) $(LIBS)
	$(LINK) $(DEP_LIBS) -lm -lutil
$(BUILD)/bin/sn-sim: $(call obj,sim/main.c) $(LIBS)
	$(LINK) $(DEP_LIBS) -lm -lutil
$(BUILD)/bin/%: $(call obj,sn-client/tools/%.c) $(LIBS)
	$(LINK) $(DEP_LIBS) -lm -lutil

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(LIBS)
	$(LINK) $(CMOCKA_LIBS) $(DEP_LIBS) -lm -lutil
$(BUILD)/tests/%: $(call obj,tests/tools/%.c) $(LIBS)
	$(LINK) $(DEP_LIBS) -lm -lutil

$(call obj,$(UNIT_SRC)): ALL_CFLAGS += $(CMOCKA_CFLAGS)

# libFuzzer targets compile the sources they need directly with clang, so
# that the code under test is instrumented too.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CODEC_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(DEP_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $^ $(DEP_LIBS)
# the session reader needs the gateway core around it
$(BUILD)/fuzz/fuzz_session: $(sort $(wildcard bridge/gw*.c))

# ---------------------------------------------------------------- targets

test: all
	@BUILD=$(BUILD) bash tests/run.sh

check:
	@$(MAKE) --no-print-directory BUILD=build/san CFLAGS="$(SAN_FLAGS)" test

fuzz: fuzzdeps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BINS)

fuzzdeps:
	@bash scripts/deps.sh --fuzz

demo: all
	@BUILD=$(BUILD) bash scripts/demo.sh

bench: all
	@BUILD=$(BUILD) bash scripts/bench.sh

deps:
	@bash scripts/deps.sh

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/codec
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(BINDIR),@true)
	install -m 644 $(CODEC_LIB) $(DESTDIR)$(LIBDIR)
	install -m 644 codec/*.h $(DESTDIR)$(INCDIR)/codec

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
