import Foundation

/// An advisory lock on a file (`flock`), held until released or until the process dies: so
/// after a crash (even SIGKILL) the next process can take over at once.
package final class FileLock: @unchecked Sendable {
    private let descriptor: Int32

    /// Takes the lock without waiting; nil when another process (or open file) holds it in a
    /// conflicting way. Shared locks conflict only with exclusive ones.
    public init?(path: String, shared: Bool = false) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    /// Whether some open file holds a lock on `path` (a missing file holds none).
    public static func isHeld(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(descriptor, LOCK_UN)
        return false
    }

    deinit { close(descriptor) }
}
