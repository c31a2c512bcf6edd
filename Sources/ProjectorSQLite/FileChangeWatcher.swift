import Dispatch
import Foundation

/// Calls back when a file of a folder is written, by any process: how an embedded log hears of
/// appends from other processes without polling (an idle host sleeps). Linux inotify on the
/// folder, so a file deleted and made again (SQLite's WAL) is still seen; elsewhere it reports
/// that it cannot watch and callers keep polling.
package final class FileChangeWatcher: @unchecked Sendable {
    private let source: (any DispatchSourceRead)?

    /// Watches `folder` for writes to the files named `names`; nil when this platform or file
    /// system cannot (callers poll instead).
    public init?(folder: String, names: Set<String>, onChange: @escaping @Sendable () -> Void) {
        #if os(Linux)
            let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard descriptor >= 0 else { return nil }
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
            guard inotify_add_watch(descriptor, folder, mask) >= 0 else {
                close(descriptor)
                return nil
            }
            let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: .global())
            let wanted = Set(names.map { Array($0.utf8) })
            source.setEventHandler {
                if Self.drain(descriptor, wanted: wanted) { onChange() }
            }
            source.setCancelHandler { close(descriptor) }
            source.resume()
            self.source = source
        #else
            return nil
        #endif
    }

    deinit { source?.cancel() }

    #if os(Linux)
        /// Reads every pending event; true when one names a wanted file.
        private static func drain(_ descriptor: Int32, wanted: Set<[UInt8]>) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var seen = false
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { return seen }
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= count {
                    let mask = buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 4, as: UInt32.self) }
                    let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 { seen = true }  // events were lost: assume a write
                    let name = buffer[(offset + header)..<min(count, offset + header + length)].prefix { $0 != 0 }
                    if wanted.contains(Array(name)) { seen = true }
                    offset += header + length
                }
            }
        }
    #endif
}
