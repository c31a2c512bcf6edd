import Foundation
import ProjectorCore
@_spi(Fuzzing) import WasmKit
import WasmParser

/// A plugin's module, read from its file, checked against ABI version 1 and parsed once.
final class WasmPlugin: @unchecked Sendable {
    static let abiVersion = 1
    static let maxModuleBytes = 64 << 20
    /// The host functions of ABI 1 (module "projector"): parameter count, and whether they return an i32.
    static let hostFunctions: [String: (parameters: Int, returns: Bool)] = [
        "event": (4, true), "next": (0, true), "event_values": (4, true), "sql_exec": (4, true), "sql_query": (6, true),
        "search_upsert": (2, true),
        "search_delete": (2, true), "log": (3, false), "last_error": (2, true), "fail": (2, false),
    ]
    /// The one WASI function a plugin may import: writes to stdout or stderr become log lines.
    static let wasiLog = (module: "wasi_snapshot_preview1", name: "fd_write")

    let bytes: [UInt8]
    /// The module's content hash, part of the projection's fingerprint.
    let hash: String
    let module: Module
    let engine: Engine
    let limits: WasmSpec.Limits
    /// Whether the module imports the WASI logging stub.
    let importsWASILog: Bool

    /// Reads and checks the module; errors are one line starting with `label`.
    init(path: String, limits: WasmSpec.Limits, meteringFuel: Bool = true, label: String) throws {
        func fail(_ message: String) -> ProjectorError { ProjectorError(.invalidSpec, "\(label): \(message)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read \(path)") }
        guard data.count <= Self.maxModuleBytes else { throw fail("\(path) is larger than 64 MiB") }
        bytes = [UInt8](data)
        hash = Fingerprint.of(bytes: bytes)
        self.limits = limits
        do {
            module = try parseWasm(bytes: bytes)
        } catch {
            throw fail("not a WebAssembly module: \(Self.oneLine(error))")
        }
        var wasi = false
        for item in module.imports {
            guard case .function = item.descriptor else {
                throw fail("imports \(item.module).\(item.name), which is not a function: plugins import only projector.* functions")
            }
            if item.module == "projector", Self.hostFunctions[item.name] != nil { continue }
            if item.module == Self.wasiLog.module, item.name == Self.wasiLog.name {
                wasi = true
                continue
            }
            throw fail(
                "imports \(item.module).\(item.name): a plugin may import only projector.\(Self.hostFunctions.keys.sorted().joined(separator: "|")) "
                    + "(and wasi_snapshot_preview1.fd_write, for logging): no files, clock, random, network or environment")
        }
        importsWASILog = wasi
        let exported = Set(module.exports.map(\.name))
        for name in ["memory", "projector_abi_version"] where !exported.contains(name) {
            throw fail(
                "does not export \(name) (ABI \(Self.abiVersion): memory, projector_abi_version, projector_apply or projector_apply_batch)")
        }
        guard exported.contains("projector_apply") || exported.contains("projector_apply_batch") else {
            throw fail("exports neither projector_apply nor projector_apply_batch (ABI \(Self.abiVersion): one of them applies events)")
        }
        var configuration = EngineConfiguration(stackSize: limits.stackKB << 10, fuelMetering: meteringFuel)
        configuration.memoryBoundsChecking = .software
        engine = Engine(configuration: configuration)
    }

    /// Instantiates the module with `host` as its imports, checks its exports' types and ABI
    /// version; `label` starts every error.
    func instantiate(_ host: WasmSession, label: String) throws -> (Store, Instance, WasmKit.Memory, Entry) {
        let store = Store(engine: engine)
        store.resourceLimiter = host.memoryCap
        store.fuel = Fuel(remaining: limits.fuel)
        let instance: Instance
        do {
            instance = try module.instantiate(store: store, imports: host.imports(store: store, wasi: importsWASILog))
        } catch {
            throw ProjectorError(.invalidSpec, "\(label): cannot be instantiated: \(Self.oneLine(error))")
        }
        guard let memory = instance.exports[memory: "memory"] else { throw ProjectorError(.invalidSpec, "\(label): exports no memory") }
        guard memory.byteCount <= limits.memoryMB << 20 else {
            throw ProjectorError(
                .invalidSpec, "\(label): starts with \(memory.byteCount >> 20) MiB of memory, over limits.memoryMB \(limits.memoryMB)")
        }
        guard let version = instance.exports[function: "projector_abi_version"], version.type.parameters.isEmpty,
            version.type.results == [.i32]
        else { throw ProjectorError(.invalidSpec, "\(label): projector_abi_version must take nothing and return an i32") }
        let entry: Entry
        if let batch = instance.exports[function: "projector_apply_batch"] {
            guard batch.type.parameters.isEmpty, batch.type.results == [.i32] else {
                throw ProjectorError(.invalidSpec, "\(label): projector_apply_batch must take nothing and return an i32")
            }
            entry = .batch(batch)
        } else if let apply = instance.exports[function: "projector_apply"] {
            guard apply.type.parameters.isEmpty, apply.type.results == [.i32] else {
                throw ProjectorError(.invalidSpec, "\(label): projector_apply must take nothing and return an i32")
            }
            entry = .each(apply)
        } else {
            throw ProjectorError(.invalidSpec, "\(label): exports neither projector_apply nor projector_apply_batch as functions")
        }
        let answer: [Value]
        do {
            answer = try version()
        } catch {
            throw ProjectorError(.invalidSpec, "\(label): projector_abi_version trapped: \(Self.oneLine(error))")
        }
        guard answer == [.i32(UInt32(Self.abiVersion))] else {
            throw ProjectorError(
                .invalidSpec, "\(label): ABI version \(answer.first.map { "\($0)" } ?? "?"), this host speaks \(Self.abiVersion)")
        }
        return (store, instance, memory, entry)
    }

    /// How a module takes events: one call per event, or one per transaction that takes each
    /// event with `next`.
    enum Entry {
        case each(Function)
        case batch(Function)

        /// The export's name.
        var name: String {
            switch self {
            case .each: "projector_apply"
            case .batch: "projector_apply_batch"
            }
        }

        var function: Function {
            switch self {
            case .each(let function), .batch(let function): function
            }
        }
    }

    /// An error (a trap's backtrace included) as its first line.
    static func oneLine(_ error: any Error) -> String {
        let text = String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
        return text.hasPrefix("Trap: ") ? String(text.dropFirst(6)) : text
    }
}

/// Refuses memory growth past the plugin's cap (`memory.grow` then returns -1 to the plugin).
final class MemoryCap: ResourceLimiter, @unchecked Sendable {
    let bytes: Int
    /// The largest growth refused, to name it when the plugin then fails.
    var refused: Int?
    init(bytes: Int) { self.bytes = bytes }
    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= bytes else {
            refused = max(refused ?? 0, desired)
            return false
        }
        return true
    }
    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 100_000 }
}
