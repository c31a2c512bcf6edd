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

        static const char paths[] = "$.data.key\\0$.data.amount";

        /* Applies the current event; PJ_APPLY_EACH below calls it for each event of a transaction. */
        static int32_t apply(void) {
            uint8_t fields[600];
            pj_reader event;
            pj_value key, amount;
            if (pj_event_values(paths, sizeof paths, fields, sizeof fields, &event) < 0) { pj_fail("the event's fields are too long"); return 1; }
            pj_read(&event, &key);
            pj_read(&event, &amount);
            if (key.tag != PJ_TEXT) { pj_fail("data.key is missing"); return 1; }
            int ok = 0;
            int64_t value = amount.tag == PJ_TEXT ? pj_parse_int(amount.text, amount.len, &ok) : 0;
            if (!ok) { pj_fail("data.amount is not an integer"); return 1; }
            uint8_t bytes[620];
            pj_values args = {bytes, 0, sizeof bytes};
            pj_text_n(&args, key.text, key.len);
            pj_int(&args, value);
            return pj_exec("INSERT INTO \(snake)(key, total, count) VALUES (?1, ?2, 1) "
                           "ON CONFLICT(key) DO UPDATE SET total = total + excluded.total, count = count + 1", &args) < 0;
        }

        PJ_APPLY_EACH(apply)

        """
    }

    var cBuild: String {
        """
        #!/bin/sh
        # Builds \(snake).wasm: clang with the wasm32 target and wasm-ld (Debian: apt install clang lld).
        set -eu
        cd "$(dirname "$0")"
        ${CLANG:-clang} --target=wasm32-unknown-unknown -O2 -mbulk-memory -ffreestanding -fno-builtin -nostdlib -I . \\
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

        pj::export_apply_each!(apply);

        /// Applies the current event; `export_apply_each!` calls it for each event of a transaction.
        fn apply() -> i32 {
            let (mut fields, mut scratch) = ([0u8; 600], [0u8; 620]);
            let mut values = match pj::event_values("$.data.key\\0$.data.amount", &mut fields) {
                Some(values) => values,
                None => {
                    pj::fail("the event's fields are too long");
                    return 1;
                }
            };
            let key = match values.next_value() {
                Some(Value::Text(key)) => key,
                _ => {
                    pj::fail("data.key is missing");
                    return 1;
                }
            };
            let amount = match values.next_value() {
                Some(Value::Text(text)) => text.parse::<i64>().ok(),
                _ => None,
            };
            let amount = match amount {
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
            -C target-feature=+bulk-memory -C panic=abort -o "$out/libprojector_plugin.rlib" sdk/projector_plugin.rs
        $rustc --edition 2021 --crate-type cdylib --crate-name \(snake) --target wasm32-unknown-unknown -O \\
            -C target-feature=+bulk-memory -C panic=abort \\
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
