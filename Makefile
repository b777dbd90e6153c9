# GoDocker: build, test, run, image, bench, install.
# `make run` and `make test` are the two commands of the README.

GO        ?= go
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
IMAGE     ?= godocker/base:latest
COMMANDS  := godockerd gsub gstat gdel gctl gtop
STATICCHECK_VERSION ?= v0.8.2
# Build tags. urfave_cli_no_docs leaves out urfave/cli's man and markdown
# generators and their markdown parser, which the commands never use: a
# smaller binary that starts faster (gsub runs once per job in scripts).
# Add nokube to build godockerd without the kube executor.
TAGS      ?= urfave_cli_no_docs

.PHONY: all build deps image run test lint bench install clean

all: build

build:
	@mkdir -p bin
	$(GO) build -tags '$(TAGS)' -o bin/ $(addprefix ./cmd/,$(COMMANDS))

deps:
	@scripts/deps.sh

image: deps
	@images/base/build.sh $(IMAGE)

# godockerd in the foreground with the embedded default (sqlite in
# /var/lib/godocker, the local Docker engine). Needs root.
run: deps image build
	@echo "godockerd: socket $${GODOCKER_SOCKET:-/run/godocker/godockerd.sock} (Ctrl-C stops it)"
	bin/godockerd

test: deps image
	$(GO) test -race -timeout 20m ./...
	@[ -n "$$GODOCKER_TEST_MONGO_URL" ] || echo "NOTE: GODOCKER_TEST_MONGO_URL is not set: store/mongo's conformance suite against a real MongoDB did not run (its mapping, queries, indexes and retries were tested without a server)"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The Go benchmarks of the hot paths, then the whole system (bench/sysbench:
# real godockerd, users and Docker; about 15 minutes). See BENCHMARKS.md.
bench: deps image
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...
	$(GO) run ./bench/sysbench $(SYSBENCH_FLAGS)

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(addprefix bin/,$(COMMANDS)) $(DESTDIR)$(BINDIR)/
	ln -sf gsub $(DESTDIR)$(BINDIR)/qsub
	ln -sf gstat $(DESTDIR)$(BINDIR)/qstat
	ln -sf gdel $(DESTDIR)$(BINDIR)/qdel
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf bin
