#!/usr/bin/env bash
# The one test command: formatting, vet, all tests, the race detector on the
# packages that run goroutines, and a cgo-free build. .ci/run calls exactly this.
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
