#!/usr/bin/env bash
# The one test command: formatting, vet, all tests, the race detector on the
# packages that run goroutines, a cgo-free build, and the AVX-512 kernel (under
# emulation on CPUs without it). .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")"

# Packages whose code starts goroutines; they also run under -race.
RACE_PKGS="./tensor/... ./model/... ./train/... ./prefs/... ./target/... ./store/... ./audit/... ./serve/... ./ckpt/..."

# The module's own package directories (go list skips dot- and underscore-
# directories and testdata, where scratch checkouts may live).
unformatted=$(gofmt -l $(go list -f '{{.Dir}}' ./...))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
CGO_ENABLED=0 go build ./...
go test -count=1 ./...
go test -count=1 -race $RACE_PKGS
# The AVX-512 kernel: natively where the CPU has it (above), else under
# emulation (Bochs booting Linux on a Skylake-X model, about seven minutes).
if [ "$(uname -sm)" = "Linux x86_64" ] && ! grep -qw avx512f /proc/cpuinfo; then
  .ci/avx512
fi
