import Foundation

/// An exclusive advisory lock on a file (`flock`), held until released or until the process
/// dies: so after a crash (even SIGKILL) the next process can take over at once.
public final class FileLock: @unchecked Sendable {
    private let descriptor: Int32

    /// Takes the lock without waiting; nil when another process (or open file) holds it.
    public init?(path: String) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
