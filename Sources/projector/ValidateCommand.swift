import ArgumentParser
import Foundation
import ProjectorHost
import ProjectorSpecs

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the configuration and every spec file without running anything.",
        discussion: """
            Each file is checked against its JSON Schema (Schemas/ in the source tree), then for \
            meaning: SQL handlers must prepare against the setup's tables in a guarded sandbox, \
            JSON paths must parse, names must be unique. An event type the log has never seen is \
            a warning. Exits 1 when there is an error.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let findings = await ProjectValidator.validate(
            explicitPath: global.config, kinds: GlobalOptions.kinds, builtIn: GlobalOptions.builtIn
        ) {
            try EventLogFactory.open($0, readOnly: true)
        }
        for finding in findings {
            let label = finding.level.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let separator = finding.level == .ok ? "  " : ": "
            print("\(label)\(finding.file)\(separator)\(finding.message)")
        }
        let errors = findings.filter { $0.level == .error }.count
        let warnings = findings.filter { $0.level == .warning }.count
        let files = Set(findings.map(\.file)).count
        print(
            "\(files) file\(files == 1 ? "" : "s") checked: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        )
        if errors > 0 { throw ExitCode(1) }
    }
}
