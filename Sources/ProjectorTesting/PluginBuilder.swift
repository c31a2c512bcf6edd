public import Foundation

/// Builds C plugin sources into `.wasm` modules with the toolchain's clang (Swift toolchains
/// ship clang and wasm-ld with the wasm32 target), against `Plugins/Wasm/c/projector.h`.
public enum PluginBuilder {
    /// This repository's root.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let header = repository.appendingPathComponent("Plugins/Wasm/c").path

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Compiles `source` (C, including "projector.h") to `output`.
    public static func build(_ source: String, to output: String) throws {
        let file = output + ".c"
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        try compile(file, to: output)
    }

    public static func compile(_ file: String, to output: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "clang", "--target=wasm32-unknown-unknown", "-O2", "-ffreestanding", "-fno-builtin", "-nostdlib", "-I", header,
            "-Wl,--no-entry", "-Wl,--export-dynamic", "-o", output, file,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "clang failed on \(file): \(message)")
        }
    }

    /// A plugin applying each event with `body` (C statements returning an int32_t), called as
    /// `projector_apply` or, with `batch`, from `projector_apply_batch` (PJ_APPLY_EACH).
    public static func plugin(_ body: String, prelude: String = "", batch: Bool = false) -> String {
        """
        #include "projector.h"
        \(prelude)
        PJ_EXPORT("projector_abi_version") int32_t abi_version(void) { return PROJECTOR_ABI_VERSION; }
        \(batch ? "static" : "PJ_EXPORT(\"projector_apply\")") int32_t apply(void) {
        \(body)
        }
        \(batch ? "PJ_APPLY_EACH(apply)" : "")
        """
    }
}
