import Foundation

/// Output helpers: buffered stdout for data, stderr for messages and progress.
enum Terminal {
    static let stderrIsTerminal = isatty(2) == 1
    static let stdoutIsTerminal = isatty(1) == 1

    static func error(_ message: String) {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data(("error: " + line + "\n").utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Rewrites the current stderr line (progress); does nothing when stderr is not a terminal.
    static func status(_ message: String) {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + message).utf8))
    }

    static func clearStatus() {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// Collects stdout writes into large chunks: an export of a million lines must not make a
/// million write calls.
final class OutputBuffer {
    private var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 20) }

    func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(0x0A)
        if bytes.count >= 1 << 20 { flush() }
    }

    func flush() {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(1, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 {
                    if errno == EINTR { continue }
                    // The reader went away (e.g. `| head`): stop quietly.
                    Foundation.exit(0)
                }
                offset += written
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// A one-line progress bar with rate and ETA, redrawn at most ten times a second.
struct ProgressBar {
    let label: String
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)

    init(label: String) {
        self.label = label
    }

    var elapsed: Double { (ContinuousClock.now - started) / .seconds(1) }

    mutating func update(done: Double, total: Double?, unit: String, count: Int) {
        guard Terminal.stderrIsTerminal, ContinuousClock.now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = ContinuousClock.now
        let rate = Double(count) / max(elapsed, 0.001)
        var text = "\(label) \(count) \(unit) (\(Format.rate(rate))/s)"
        if let total, total > 0 {
            let fraction = min(1, done / total)
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let eta = fraction > 0 ? elapsed / fraction - elapsed : 0
            text = "\(label) [\(bar)] \(Int(fraction * 100))% \(count) \(unit) (\(Format.rate(rate))/s), ETA \(Format.duration(eta))"
        }
        Terminal.status(text)
    }
}

enum Format {
    static func rate(_ value: Double) -> String {
        if value >= 10_000 { return String(format: "%.0fk", value / 1000) }
        if value >= 1000 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.0f", value)
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.2f s", seconds) }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let total = Int(seconds.rounded())
        return total < 3600
            ? "\(total / 60)m\(String(format: "%02d", total % 60))s" : "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
    }
}
