public import Foundation
import ProjectorCore

/// Which file holds each generation of a projection's store, kept in `NAME.generations.json`
/// beside the stores: the `live` one queries read and the host keeps current, the `next` one a
/// rebuild is building in the background, and the `previous` one kept for `projector rollback`.
///
/// The pointer file is replaced with an atomic rename, so a swap is one step for every process
/// reading it, and a crash leaves either the old pointer or the new one. Generation files are
/// `NAME.sqlite` (the first) then `NAME.2.sqlite`, `NAME.3.sqlite`…: a file is never renamed
/// while open (SQLite's WAL and shared-memory files are found by name).
public struct StoreGenerations: Codable, Sendable, Equatable {
    public var live: String
    public var next: String?
    public var previous: String?

    public init(live: String, next: String? = nil, previous: String? = nil) {
        self.live = live
        self.next = next
        self.previous = previous
    }

    /// Reads and writes one projection's pointer.
    public struct Pointer: Sendable {
        public let folder: String
        public let name: String

        public init(folder: String, name: String) {
            self.folder = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
            self.name = name
        }

        public var file: String { "\(folder)/\(name).generations.json" }

        /// The pointer as it stands; a projection never rebuilt has only its first file.
        public func read() -> StoreGenerations {
            guard let data = FileManager.default.contents(atPath: file),
                let generations = try? JSONDecoder().decode(StoreGenerations.self, from: data)
            else { return StoreGenerations(live: "\(name).sqlite") }
            return generations
        }

        /// Replaces the pointer atomically (write a temporary file, fsync, rename).
        public func write(_ generations: StoreGenerations) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(generations)
            let temporary = "\(file).\(getpid()).tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw ProjectorError(.unavailable, "cannot write \(temporary)")
            }
            let handle = open(temporary, O_RDONLY)
            if handle >= 0 {
                fsync(handle)
                close(handle)
            }
            guard rename(temporary, file) == 0 else {
                throw ProjectorError(.unavailable, "cannot replace \(file): \(String(cString: strerror(errno)))")
            }
        }

        public func path(_ file: String) -> String { "\(folder)/\(file)" }

        /// The modification time of the pointer file, to notice another process's swap cheaply.
        public func stamp() -> Date? {
            (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date
        }

        /// A file name for a new generation: one past the highest in use.
        public func newGenerationFile() -> String {
            let prefix = name + "."
            let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap { file -> Int? in
                guard file.hasPrefix(prefix), file.hasSuffix(".sqlite") else { return nil }
                return Int(file.dropFirst(prefix.count).dropLast(".sqlite".count))
            }
            return "\(name).\(max(1, numbers.max() ?? 1) + 1).sqlite"
        }

        /// Deletes a generation's files (the database and its WAL and shared memory).
        public func remove(_ file: String) {
            for suffix in ["", "-wal", "-shm", ProjectionStore.runningSuffix] {
                try? FileManager.default.removeItem(atPath: path(file) + suffix)
            }
        }
    }
}
