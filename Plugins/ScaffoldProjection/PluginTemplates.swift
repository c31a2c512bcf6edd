/// The files of a new WebAssembly plugin: totals of `amount` per `key` from `NameRecorded` events.
struct PluginTemplates {
    let name: String
    let module: String

    /// `InvoiceLines` → `invoice_lines`: the folder, module and table.
    var snake: String { Templates(name: name, module: module).snake }

    var projectionName: String { snake.replacingOccurrences(of: "_", with: "-") }

    var spec: String {
        """
        # \(name)Recorded events into totals per key, by a WebAssembly plugin (build.sh builds \(snake).wasm).
        name: \(projectionName)
        kind: wasm
        module: \(snake).wasm
        events: [\(name)Recorded]
        setup: CREATE TABLE \(snake)(key TEXT PRIMARY KEY, total INTEGER NOT NULL, count INTEGER NOT NULL);
        onError: { tries: 3, then: skip }

        """
    }

    var cSource: String {
        """
        /* Totals of data.amount per data.key from \(name)Recorded events. State lives in the table. */
        #include "projector.h"

        PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return PROJECTOR_ABI_VERSION; }

        PJ_EXPORT("projector_apply") int32_t apply(void) {
            char key[256], amount[32];
            if (pj_event("$.data.key", key, sizeof key) < 0) { pj_fail("data.key is missing"); return 1; }
            int ok = 0;
            int32_t n = pj_event("$.data.amount", amount, sizeof amount);
            int64_t value = n < 0 ? 0 : pj_parse_int(amount, n, &ok);
            if (!ok) { pj_fail("data.amount is not an integer"); return 1; }
            uint8_t bytes[300];
            pj_values args = {bytes, 0, sizeof bytes};
            pj_text(&args, key);
            pj_int(&args, value);
            return pj_exec("INSERT INTO \(snake)(key, total, count) VALUES (?1, ?2, 1) "
                           "ON CONFLICT(key) DO UPDATE SET total = total + excluded.total, count = count + 1", &args) < 0;
        }

        """
    }

    var cBuild: String {
        """
        #!/bin/sh
        # Builds \(snake).wasm: clang with the wasm32 target and wasm-ld (Debian: apt install clang lld).
        set -eu
        cd "$(dirname "$0")"
        ${CLANG:-clang} --target=wasm32-unknown-unknown -O2 -ffreestanding -fno-builtin -nostdlib -I . \\
            -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all -o \(snake).wasm \(snake).c

        """
    }

    var rustSource: String {
        """
        //! Totals of data.amount per data.key from \(name)Recorded events. State lives in the table.
        #![no_std]

        use projector_plugin::{self as pj, Value};

        pj::export_abi_version!();

        #[panic_handler]
        fn panic(_: &core::panic::PanicInfo) -> ! {
            core::arch::wasm32::unreachable()
        }

        #[no_mangle]
        pub extern "C" fn projector_apply() -> i32 {
            let (mut key, mut amount, mut scratch) = ([0u8; 256], [0u8; 32], [0u8; 512]);
            let key = match pj::event("$.data.key", &mut key) {
                Some(key) => key,
                None => {
                    pj::fail("data.key is missing");
                    return 1;
                }
            };
            let amount = match pj::event("$.data.amount", &mut amount).and_then(|text| text.parse::<i64>().ok()) {
                Some(amount) => amount,
                None => {
                    pj::fail("data.amount is not an integer");
                    return 1;
                }
            };
            let upsert = "INSERT INTO \(snake)(key, total, count) VALUES (?1, ?2, 1) \\
                ON CONFLICT(key) DO UPDATE SET total = total + excluded.total, count = count + 1";
            match pj::exec(upsert, &[Value::Text(key), Value::Int(amount)], &mut scratch) {
                Ok(_) => 0,
                Err(()) => 1,
            }
        }

        """
    }

    var rustBuild: String {
        """
        #!/bin/sh
        # Builds \(snake).wasm with Debian's rustc (apt install rustc libstd-rust-dev-wasm32); no cargo needed.
        set -eu
        cd "$(dirname "$0")"
        rustc=${RUSTC:-/usr/bin/rustc}
        out=$(mktemp -d)
        $rustc --edition 2021 --crate-type rlib --crate-name projector_plugin --target wasm32-unknown-unknown -O \\
            -C panic=abort -o "$out/libprojector_plugin.rlib" sdk/projector_plugin.rs
        $rustc --edition 2021 --crate-type cdylib --crate-name \(snake) --target wasm32-unknown-unknown -O -C panic=abort \\
            -C link-arg=--strip-all --extern projector_plugin="$out/libprojector_plugin.rlib" -o \(snake).wasm src/lib.rs
        rm -rf "$out"

        """
    }

    func test(language: String) -> String {
        let gate =
            language == "rust"
            ? "(.enabled(if: FileManager.default.fileExists(atPath: \"/usr/lib/rustlib/wasm32-unknown-unknown\"), \"needs rustc's wasm32 std\"))"
            : ""
        return """
            import Foundation
            import GRDB
            import ProjectorCore
            import ProjectorHost
            import ProjectorSQLite
            import ProjectorSpecs
            import ProjectorTesting
            import ProjectorWasm
            import Testing

            @Suite struct \(name)PluginTests {
                let folder = TemporaryFolder()
                static let plugin = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().appendingPathComponent("Projections/\(snake)")

                /// Builds the plugin from source and runs it in a real host.
                @Test\(gate) func totalsPerKeyInARealHost() async throws {
                    let build = Process()
                    build.executableURL = Self.plugin.appendingPathComponent("build.sh")
                    try build.run()
                    build.waitUntilExit()
                    #expect(build.terminationStatus == 0)
                    let log = try SQLiteEventLog(path: folder.file("events.sqlite"))
                    _ = try await log.append([
                        ProposedEvent(stream: "s-1", type: "\(name)Recorded", data: #"{"key":"a","amount":2}"#),
                        ProposedEvent(stream: "s-1", type: "\(name)Recorded", data: #"{"key":"b","amount":5}"#),
                        ProposedEvent(stream: "s-2", type: "\(name)Recorded", data: #"{"key":"a","amount":3}"#),
                    ])
                    let kinds = ProjectionKinds.standard.adding(WasmKind())
                    let projection = try ProjectionCatalog.spec(at: Self.plugin.appendingPathComponent("\(snake).yml").path, kinds: kinds)
                    let host = try ProjectorHost(log: log, projections: [projection], storesFolder: folder.file("stores"))
                    try await host.catchUp()
                    let runner = try #require(host.runner(named: "\(projectionName)"))
                    let rows = try await runner.store.pool.read { db in
                        try Row.fetchAll(db, sql: "SELECT key, total, count FROM \(snake) ORDER BY key")
                    }
                    #expect(rows == [["key": "a", "total": 5, "count": 2], ["key": "b", "total": 5, "count": 1]])
                    #expect(try await runner.store.checkpoint()?.position == 3)
                }
            }

            """
    }
}
