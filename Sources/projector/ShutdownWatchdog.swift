import Dispatch
import Foundation

/// Ends the process a while after the first SIGTERM or SIGINT, whatever is still running: the
/// service group asks for a graceful stop, then cancels; this is the last resort for work that
/// ignores both. Stores are crash-safe (the checkpoint commits with the writes), so nothing is lost.
enum ShutdownWatchdog {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    static func arm(after limit: Duration) {
        guard sources.isEmpty else { return }
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                DispatchQueue.global().asyncAfter(deadline: .now() + limit / .seconds(1)) {
                    FileHandle.standardError.write(Data("projector: still stopping \(limit) after the signal; exiting now\n".utf8))
                    _exit(1)
                }
                for source in sources { source.cancel() }
            }
            source.resume()
            sources.append(source)
        }
    }
}
