#!/bin/sh
# Builds balances.wasm with Debian's clang and lld (apt: clang lld), no libc.
set -eu
cd "$(dirname "$0")"
/usr/bin/clang --target=wasm32-unknown-unknown -O2 -mbulk-memory -ffreestanding -fno-builtin -nostdlib -I ../../c \
    -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all -fuse-ld=lld -o balances.wasm balances.c
