import Foundation
import PackagePlugin

/// Generates Swift from the JSON Schemas in the package's `Schemas/` folder: a `TypedEvent`
/// struct per event schema and `GeneratedSchemas.byFile` (see projector-schema-gen).
///
/// One command for the whole folder, with the folder itself as an input, so adding or removing
/// a schema file is noticed even though `Schemas/` belongs to no target.
@main
struct ProjectorSchemaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let generator = try context.tool(named: "projector-schema-gen")
        let schemas = context.package.directoryURL.appending(path: "Schemas")
        let files = ((try? FileManager.default.contentsOfDirectory(at: schemas, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "GeneratedSchemas.swift")
        return [
            .buildCommand(
                displayName: "Generating Swift from \(schemas.path())",
                executable: generator.url,
                arguments: [schemas.path(), output.path()],
                inputFiles: [schemas] + files,
                outputFiles: [output])
        ]
    }
}
