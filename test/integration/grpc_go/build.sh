#!/usr/bin/env bash
# Builds the grpc-go forwarder stand-in into OUT (the build tree): protoc-gen-go from the
# module versions pinned by go.sum, the messages generated from the original .proto files, then
# the binary. GOMODCACHE and GOCACHE point into OUT (set by the caller), so only the first
# build of a tree downloads modules (through the Go module proxy), and later ones are offline.
set -euo pipefail
out=$1
proto_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$out/src
rm -rf "$src"
mkdir -p "$src/definitions"
cp "$here/go.mod" "$here/go.sum" "$here/main.go" "$src/"
cd "$src"
go build -o "$out/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
package=metrics-gateway/test/forwarder/definitions
protoc -I "$proto_dir" --plugin=protoc-gen-go="$out/protoc-gen-go" --go_out=definitions \
    --go_opt=paths=source_relative --go_opt=Mevents.proto=$package \
    --go_opt=Mserver.proto=$package events.proto server.proto
go build -o "$out/forwarder" .
