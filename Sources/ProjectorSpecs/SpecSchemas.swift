/// The JSON Schemas of `Schemas/`, embedded by the build-tool plugin, for kinds defined in other modules.
package enum SpecSchemas {
    /// The schema file `name`'s text (e.g. `wasm-projection.schema.json`); empty when missing.
    package static func text(_ name: String) -> String { GeneratedSchemas.byFile[name] ?? "" }
}
