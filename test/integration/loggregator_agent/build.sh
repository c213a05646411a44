#!/usr/bin/env bash
# Builds the Loggregator agent stand-in into OUT (the build tree): grpc-go and go-loggregator's
# generated ingress types at the versions pinned by go.sum. GOMODCACHE and GOCACHE point into
# OUT (set by the caller), so only the first build of a tree downloads modules (through the Go
# module proxy), and later ones are offline.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$out/src
rm -rf "$src"
mkdir -p "$src"
cp "$here/go.mod" "$here/go.sum" "$here/main.go" "$src/"
cd "$src"
go build -o "$out/agent" .
