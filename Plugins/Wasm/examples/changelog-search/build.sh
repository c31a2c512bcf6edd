#!/bin/sh
# Builds changelog.wasm with Debian's rustc (apt: rustc libstd-rust-dev-wasm32); no cargo needed.
set -eu
cd "$(dirname "$0")"
rustc=/usr/bin/rustc
out=$(mktemp -d)
$rustc --edition 2021 --crate-type rlib --crate-name projector_plugin --target wasm32-unknown-unknown -O -C target-feature=+bulk-memory \
    -C panic=abort -o "$out/libprojector_plugin.rlib" ../../rust/projector-plugin/src/lib.rs
$rustc --edition 2021 --crate-type cdylib --crate-name changelog_search --target wasm32-unknown-unknown -O -C target-feature=+bulk-memory \
    -C panic=abort -C link-arg=--strip-all --extern projector_plugin="$out/libprojector_plugin.rlib" -o changelog.wasm src/lib.rs
rm -rf "$out"
