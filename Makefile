# vfiod — one non-recursive Makefile. Objects go to $(BUILD), never beside the sources.
#   make                 daemon, CLI, client library
#   make check           unit tests, the same under ASan+UBSan, unit verification, real-kernel rig
#   make install         honours PREFIX and DESTDIR
#   make bench           print the daemon's figures (policy verdicts, calls/s, fairness, memory per
#                        connection) and the real kernel's in the rig (attach/detach in both modes,
#                        latency under load)
#   make SANITIZE=1      build with AddressSanitizer and UndefinedBehaviorSanitizer

BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION := 0.1

CC ?= cc
AR ?= ar
AWK ?= awk
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
SANITIZE ?=

PKGS := libsystemd json-c libcap-ng
# Asked of pkg-config when a recipe first needs them, not when make reads this file: on a
# fresh machine `make deps check` installs pkg-config and the libraries before that.
# (Each is computed once: the first use replaces the variable with its value.)
DEP_CFLAGS = $(eval DEP_CFLAGS := $$(shell $$(PKG_CONFIG) --cflags $$(PKGS)))$(DEP_CFLAGS)
DEP_LIBS = $(eval DEP_LIBS := $$(shell $$(PKG_CONFIG) --libs $$(PKGS)))$(DEP_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $$(shell $$(PKG_CONFIG) --libs cmocka))$(CMOCKA_LIBS)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wno-missing-field-initializers
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -DVFIOD_VERSION='"$(VERSION)"' -fPIC \
	-Iprotocol -I$(BUILD)/protocol -Iuapi $(addprefix -I,$(DAEMON_DIRS)) -Iclient $(DEP_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS)
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=address,undefined
endif
# libFuzzer builds (clang): every object instrumented, the harness linked with the fuzzer.
ifeq ($(SANITIZE),fuzzer)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=address,undefined
endif

# The wire layer, linked into daemon, client and tests.
PROTOCOL_SRCS := protocol/wire.c protocol/message.c protocol/interface.c protocol/idl.c protocol/reply.c \
	protocol/pci.c
# Everything of the daemon but main(), so unit tests link the real modules. Its folders are its
# architecture: loop/ (the event loop, connections, the method table, workers), methods/ (the
# handlers), state/ (the state model and how a change is committed), kernel/ (every kernel
# interface but the socket's), policy/ (authorization and the audit trail).
DAEMON_DIRS := daemon daemon/loop daemon/methods daemon/state daemon/kernel daemon/policy
DAEMON_SRCS := daemon/log.c \
	daemon/loop/manager.c daemon/loop/connection.c daemon/loop/runqueue.c daemon/loop/dispatch.c \
	daemon/loop/worker.c \
	daemon/methods/common.c daemon/methods/info.c daemon/methods/attach.c daemon/methods/driver.c \
	daemon/state/state.c daemon/state/lifecycle.c daemon/state/monitor.c daemon/state/persist.c \
	daemon/state/json.c daemon/state/ids.c \
	daemon/kernel/vfio.c daemon/kernel/sysfs.c daemon/kernel/process.c daemon/kernel/caps.c \
	daemon/policy/policy.c daemon/policy/audit.c
CLIENT_LIB_SRCS := client/libvfiod.c
# vfioctl's own modules; the pure ones are unit-tested too.
VFIOCTL_SRCS := client/vfioctl.c client/launch.c
UNIT_TESTS := test-pci test-state test-worker test-async test-wire test-message test-interface test-idl \
	test-sysfs test-dispatch test-persist test-policy test-limits test-manager test-launch test-cdev test-ids

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBPROTOCOL := $(BUILD)/libprotocol.a
LIBDAEMON := $(BUILD)/libvfiod-daemon.a
LIBVFIOD_A := $(BUILD)/libvfiod.a
LIBVFIOD_SO := $(BUILD)/libvfiod.so.0
VFIOD := $(BUILD)/vfiod
VFIOCTL := $(BUILD)/vfioctl
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
VM_PROGRAMS := $(BUILD)/vm/vmm-test $(BUILD)/vm/runas $(BUILD)/vm/hostile $(BUILD)/vm/qmp $(BUILD)/vm/group-status

EXAMPLE_VMM := $(BUILD)/vfiod-example-vmm

all: $(VFIOD) $(VFIOCTL) $(LIBVFIOD_A) $(LIBVFIOD_SO) $(BUILD)/libvfiod.pc $(EXAMPLE_VMM)

# The interfaces are declared once, in protocol/NAME.varlink, and the build makes the rest from
# each: a C string literal of the text (backslash, double quote and ? escaped, every line ending
# in \n) that interface.c serves, and through protocol/idl.awk (POSIX awk) X-macro lists of
# every method's and type's fields (NAME.idl.h, for IDL_PARAMS: the daemon's decode tables and
# the client's reply decoding) and the tables protocol/idl.c holds (NAME.idl-tables.h). Every
# object waits for them; its -MD file then names those it includes.
INTERFACES := io.vfiod org.varlink.service
GENERATED := $(foreach i,$(INTERFACES),$(addprefix $(BUILD)/protocol/$(i),.varlink.h .idl.h .idl-tables.h))
$(BUILD)/%.o: %.c | $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MD -MP -c -o $@ $<
$(BUILD)/protocol/%.varlink.h: protocol/%.varlink
	@mkdir -p $(dir $@)
	sed -e 's/[\\"?]/\\&/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp && mv $@.tmp $@
$(BUILD)/protocol/%.idl.h $(BUILD)/protocol/%.idl-tables.h: protocol/%.varlink protocol/idl.awk
	@mkdir -p $(dir $@)
	$(AWK) -v header=$(BUILD)/protocol/$*.idl.h.tmp -v tables=$(BUILD)/protocol/$*.idl-tables.h.tmp \
		-f protocol/idl.awk $<
	mv $(BUILD)/protocol/$*.idl.h.tmp $(BUILD)/protocol/$*.idl.h
	mv $(BUILD)/protocol/$*.idl-tables.h.tmp $(BUILD)/protocol/$*.idl-tables.h

# Archives are made anew, and again when this file (their member lists) changes: `ar rcs`
# alone would keep the members of files that moved or went.
$(LIBPROTOCOL): $(call obj,$(PROTOCOL_SRCS)) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(LIBDAEMON): $(call obj,$(DAEMON_SRCS)) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
# The client library carries the protocol objects so that VMMs link one library.
$(LIBVFIOD_A): $(call obj,$(CLIENT_LIB_SRCS) $(PROTOCOL_SRCS)) Makefile
	rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)
$(LIBVFIOD_SO): $(call obj,$(CLIENT_LIB_SRCS) $(PROTOCOL_SRCS)) client/libvfiod.sym
	$(CC) -shared -Wl,-soname,libvfiod.so.0 -Wl,--version-script=client/libvfiod.sym \
		$(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(DEP_LIBS)
# Files that embed install paths are remade when the paths change.
PATHS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(SBINDIR)
$(BUILD)/paths.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PATHS)' | cmp -s - $@ || echo '$(PATHS)' >$@
FORCE:

$(BUILD)/libvfiod.pc: client/libvfiod.pc.in Makefile $(BUILD)/paths.stamp
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< >$@

$(VFIOD): $(call obj,daemon/main.c) $(LIBDAEMON) $(LIBPROTOCOL)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)
# vfioctl links no daemon code: check-policy runs the daemon's own parser, `vfiod
# --check-policy`, found at its install path (or $$VFIOD_BINARY, or on PATH).
$(VFIOCTL): $(call obj,$(VFIOCTL_SRCS)) $(LIBVFIOD_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)
$(BUILD)/client/vfioctl.o: ALL_CFLAGS += -DVFIOD_BINARY_PATH='"$(SBINDIR)/vfiod"'
$(BUILD)/client/vfioctl.o: $(BUILD)/paths.stamp
$(EXAMPLE_VMM): $(call obj,examples/vmm.c) $(LIBVFIOD_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/util.o $(BUILD)/tests/fakes/fake-sysfs.o \
	$(BUILD)/tests/fakes/fake-vfio.o $(LIBDAEMON) $(LIBVFIOD_A) $(LIBPROTOCOL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(CMOCKA_LIBS)
# test-persist fails allocations on purpose: the daemon code's calls to the allocators and to
# json-c's constructors go through the test's wrappers.
PERSIST_TEST_WRAPPED := malloc calloc realloc reallocarray strdup json_object_new_object \
	json_object_new_array json_object_new_int json_object_new_int64 json_object_new_string \
	json_object_new_boolean json_object_object_add json_object_array_add \
	json_object_to_json_string_length
# It also answers the cdev mode's kernel checks of a restore itself (memfds stand in for
# /dev/iommu and the cdevs), so that a cdev attachment's whole round trip runs without them,
# and the group's, so that a group entry a restore must refuse passes its check.
PERSIST_TEST_WRAPPED += vfio_iommufd_check vfio_device_cdev_check vfio_group_check vm_fd_is_kvm \
	vfio_container_check
$(BUILD)/tests/test-persist: ALL_LDFLAGS += $(PERSIST_TEST_WRAPPED:%=-Wl,--wrap=%)
# test-launch runs vfioctl exec's placeholder expansion.
$(BUILD)/tests/test-launch: $(BUILD)/client/launch.o

# Programs that run inside the real-kernel rig.
$(BUILD)/vm/%: $(BUILD)/tests/vm/%.o $(LIBVFIOD_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

# Benchmarks: figures printed by `make bench`, never asserted.
BENCH := $(BUILD)/bench/bench-daemon
$(BENCH): $(BUILD)/bench/bench-daemon.o $(BUILD)/tests/fakes/fake-sysfs.o $(LIBDAEMON) $(LIBPROTOCOL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)
# The real kernel's figures, from inside the rig: built into $(BUILD)/vm, which run.sh copies in.
BENCH_RIG := $(BUILD)/vm/bench-rig
$(BENCH_RIG): $(BUILD)/bench/bench-rig.o $(LIBVFIOD_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS)

# The libFuzzer harnesses. fuzz-persist answers the fd store's kernel checks itself (--wrap),
# so that a restore reaches the state model without /dev/vfio or /dev/iommu.
FUZZ_UTIL := $(BUILD)/tests/fuzz/fuzz-util.o
$(BUILD)/fuzz-dispatch: $(BUILD)/tests/fuzz/fuzz-dispatch.o $(FUZZ_UTIL) $(BUILD)/tests/fakes/fake-sysfs.o $(LIBDAEMON) $(LIBPROTOCOL)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEP_LIBS)
$(BUILD)/fuzz-policy: $(BUILD)/tests/fuzz/fuzz-policy.o $(FUZZ_UTIL) $(LIBDAEMON) $(LIBPROTOCOL)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEP_LIBS)
$(BUILD)/fuzz-persist: $(BUILD)/tests/fuzz/fuzz-persist.o $(FUZZ_UTIL) $(LIBDAEMON) $(LIBPROTOCOL)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer \
		-Wl,--wrap=vm_fd_is_kvm,--wrap=vfio_container_check,--wrap=vfio_group_check \
		-Wl,--wrap=vfio_iommufd_check,--wrap=vfio_device_cdev_check -o $@ $^ $(DEP_LIBS)

units: $(BUILD)/systemd/vfiod.service $(BUILD)/systemd/vfiod.socket
$(BUILD)/systemd/%: systemd/%.in Makefile $(BUILD)/paths.stamp
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' $< >$@

# ---- tests ----
.PHONY: FORCE all bench bench-rig check check-fresh check-unit check-asan check-units check-rig check-rig-asan check-install check-fuzz fuzz fuzz-build demo install clean deps units

deps:
	tests/deps.sh

# The benchmarks are built with the unit tests so that they keep compiling; `make bench` runs them.
# The command-line tools' offline parts (check-policy, and exec against a stand-in daemon) run
# from the build tree.
check-unit: $(UNIT_BINS) $(BENCH) $(BENCH_RIG) $(VFIOD) $(VFIOCTL)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; VFIOD_SRCDIR=$(CURDIR) $$t; done
	@echo "== tests/cli/check-policy.sh"; SBINDIR=$(SBINDIR) tests/cli/check-policy.sh $(BUILD)
	@echo "== tests/cli/exec.sh"; tests/cli/exec.sh $(BUILD)
	@echo "== tests/structure/boundaries.sh"; tests/structure/boundaries.sh

check-asan:
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=1 check-unit

# systemd-analyze verify needs ExecStart to exist: verify copies pointing into the build.
check-units: $(VFIOD)
	@mkdir -p $(BUILD)/verify
	sed -e 's|@SBINDIR@|$(abspath $(BUILD))|g' systemd/vfiod.service.in >$(BUILD)/verify/vfiod.service
	sed -e 's|@SBINDIR@|$(abspath $(BUILD))|g' systemd/vfiod.socket.in >$(BUILD)/verify/vfiod.socket
	systemd-analyze verify --man=no $(BUILD)/verify/vfiod.socket $(BUILD)/verify/vfiod.service
	@echo "systemd-analyze verify: units OK"
	systemd-analyze security --offline=yes --threshold=20 $(BUILD)/verify/vfiod.service >$(BUILD)/verify/security.txt
	@tail -n 1 $(BUILD)/verify/security.txt

check-rig: all $(VM_PROGRAMS)
	BUILD=$(BUILD) tests/vm/run.sh

# The rig again with vfiod and the tools built with ASan+UBSan: the daemon's kernel-facing
# paths under the sanitizers, and LeakSanitizer's verdict when vfiod exits on SIGTERM.
check-rig-asan:
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=1 all $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(VM_PROGRAMS))
	BUILD=$(BUILD)/asan VFIOD_RIG_CACHE=$(BUILD)/rig-cache tests/vm/run.sh

# What a packager gets: a staged install, and a VMM built against it through pkg-config.
check-install:
	rm -rf $(BUILD)/stage
	$(MAKE) install DESTDIR=$(abspath $(BUILD))/stage PREFIX=/usr
	PKG_CONFIG_SYSROOT_DIR=$(abspath $(BUILD))/stage PKG_CONFIG_LIBDIR=$(abspath $(BUILD))/stage/usr/lib/pkgconfig:$$($(PKG_CONFIG) --variable pc_path pkg-config) \
		sh -c '$(CC) -Wall -Werror -o $(BUILD)/stage/example-vmm examples/vmm.c $$($(PKG_CONFIG) --cflags --libs libvfiod)'
	LD_LIBRARY_PATH=$(BUILD)/stage/usr/lib $(BUILD)/stage/example-vmm 2>&1 | grep -q Usage
	test -f $(BUILD)/stage/usr/share/man/man3/libvfiod.3
	test -f $(BUILD)/stage/usr/share/man/man5/vfiod.conf.5
	test -f $(BUILD)/stage/usr/lib/systemd/system/vfiod.socket
	grep -q '^ExecStart=/usr/sbin/vfiod$$' $(BUILD)/stage/usr/lib/systemd/system/vfiod.service
	grep -qa '/usr/sbin/vfiod' $(BUILD)/stage/usr/bin/vfioctl  # where check-policy looks for vfiod
	@echo "check-install: staged install OK"

# The libFuzzer harnesses, each with its corpus in tests/fuzz: the wire reader, parser and
# dispatcher (fuzz-dispatch, corpus), vfiod.conf (fuzz-policy, corpus-policy) and the fd
# store's description at restore (fuzz-persist, corpus-persist). make check runs each for a
# bounded time, about a minute in all (new inputs go to a scratch corpus); `make fuzz` runs them
# long (FUZZ_TIME seconds each) and keeps new inputs in the repo's corpora.
FUZZ_SECONDS ?= 30
FUZZ_SECONDS_SMALL ?= 15
FUZZ_NAMES := dispatch policy persist
fuzz_corpus = tests/fuzz/corpus$(if $(filter-out dispatch,$(1)),-$(1))
fuzz_max_len = $(if $(filter dispatch,$(1)),70000,$(if $(filter policy,$(1)),8192,16384))
fuzz_seconds = $(if $(filter dispatch,$(1)),$(FUZZ_SECONDS),$(FUZZ_SECONDS_SMALL))
# One input that runs this long is a finding (a hang), reported as a failure instead of
# holding the run past -max_total_time, which libFuzzer checks only between inputs.
FUZZ_INPUT_TIMEOUT ?= 60
FUZZERS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz-%)
fuzz-build:
	$(MAKE) BUILD=$(BUILD)/fuzz CC=clang SANITIZE=fuzzer $(FUZZERS)
# One harness's bounded run, a shell fragment: its log is shown when it finds something.
fuzz_check = echo "== fuzz-$(1) ($(call fuzz_seconds,$(1)) s)"; rm -rf $(BUILD)/fuzz-scratch/$(1); \
	mkdir -p $(BUILD)/fuzz-scratch/$(1); \
	$(BUILD)/fuzz/fuzz-$(1) -max_total_time=$(call fuzz_seconds,$(1)) -max_len=$(call fuzz_max_len,$(1)) \
		-timeout=$(FUZZ_INPUT_TIMEOUT) -print_final_stats=1 $(BUILD)/fuzz-scratch/$(1) $(call fuzz_corpus,$(1)) \
		>$(BUILD)/fuzz-$(1).log 2>&1 || { tail -n 60 $(BUILD)/fuzz-$(1).log; exit 1; }; \
	grep -E '^(Done|stat::new_units_added)' $(BUILD)/fuzz-$(1).log
check-fuzz: fuzz-build
	@set -e; $(foreach name,$(FUZZ_NAMES),$(call fuzz_check,$(name));)
# bench-daemon first, then the rig's two boots (tests/vm/run.sh --bench, Debian's kernel for the
# group mode's figures, the cdev kernel for the cdev mode's; under two minutes together), one
# after the other so that neither disturbs the other's figures.
BENCH_RIG_RUN = BUILD=$(BUILD) tests/vm/run.sh --bench
bench: $(BENCH) all $(VM_PROGRAMS) $(BENCH_RIG)
	$(BENCH)
	$(BENCH_RIG_RUN)
bench-rig: all $(VM_PROGRAMS) $(BENCH_RIG)
	$(BENCH_RIG_RUN)

fuzz: fuzz-build
	$(foreach name,$(FUZZ_NAMES),$(BUILD)/fuzz/fuzz-$(name) -max_total_time=$${FUZZ_TIME:-600} \
		-max_len=$(call fuzz_max_len,$(name)) $(call fuzz_corpus,$(name)) &&) true

check: check-unit check-asan check-units check-install check-fuzz check-rig check-rig-asan

# The README's commands in a fresh Debian 12 chroot from a clean clone (root; not in check).
check-fresh:
	tests/fresh-machine.sh $(FRESH_ARGS)

demo: all $(VM_PROGRAMS)
	BUILD=$(BUILD) tests/vm/run.sh --demo

# ---- install ----
install: all units
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/libvfiod $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(VFIOD) $(DESTDIR)$(SBINDIR)/vfiod
	install -m 0755 $(VFIOCTL) $(DESTDIR)$(BINDIR)/vfioctl
	install -m 0755 $(EXAMPLE_VMM) $(DESTDIR)$(BINDIR)/vfiod-example-vmm
	install -m 0644 $(LIBVFIOD_A) $(DESTDIR)$(LIBDIR)/libvfiod.a
	install -m 0755 $(LIBVFIOD_SO) $(DESTDIR)$(LIBDIR)/libvfiod.so.0
	ln -sf libvfiod.so.0 $(DESTDIR)$(LIBDIR)/libvfiod.so
	install -m 0644 client/libvfiod.h $(DESTDIR)$(INCLUDEDIR)/libvfiod.h
	install -m 0644 uapi/vfio-cdev.h $(DESTDIR)$(INCLUDEDIR)/libvfiod/vfio-cdev.h
	install -m 0644 $(BUILD)/libvfiod.pc $(DESTDIR)$(PKGCONFIGDIR)/libvfiod.pc
	install -m 0644 $(BUILD)/systemd/vfiod.service $(BUILD)/systemd/vfiod.socket \
		$(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 man/vfioctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/libvfiod.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 man/vfiod.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/vfiod.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf $(BUILD)

# Every object this Makefile builds: their dependency files, and none deleted as intermediate
# (the unit tests' and the rig programs' objects are reached through pattern rules only, as are
# the generated headers).
ALL_OBJS := $(call obj,$(PROTOCOL_SRCS) $(DAEMON_SRCS) $(CLIENT_LIB_SRCS) daemon/main.c \
	$(VFIOCTL_SRCS) examples/vmm.c tests/unit/util.c tests/fakes/fake-sysfs.c tests/fakes/fake-vfio.c bench/bench-daemon.c \
	$(FUZZ_NAMES:%=tests/fuzz/fuzz-%.c) tests/fuzz/fuzz-util.c $(UNIT_TESTS:%=tests/unit/%.c) $(VM_PROGRAMS:$(BUILD)/vm/%=tests/vm/%.c))
.SECONDARY: $(ALL_OBJS) $(GENERATED)
-include $(wildcard $(ALL_OBJS:.o=.d))
