import Foundation
import ProjectorCore
import ProjectorSearch
import ProjectorTesting
import Testing

@Suite struct SearchSpecTests {
    static var valid: [String: Any] {
        ["name": "docs", "kind": "search", "id": "$.stream", "fields": ["title": ["path": "$.data.title", "weight": 5]]]
    }

    func spec(_ change: (inout [String: Any]) -> Void) throws -> SearchSpec {
        var values = Self.valid
        change(&values)
        return try decodeSpec(SearchSpec.self, values, file: "projections/docs.yml")
    }

    @Test func aMinimalSpecIsValidWithDefaults() throws {
        let spec = try spec { _ in }
        #expect(spec.tokenizer == .unicode61 && spec.eventTypes == nil && spec.deleteTypes.isEmpty)
        #expect(spec.fields.map(\.name) == ["title"] && spec.fields[0].weight == 5)
    }

    @Test(arguments: [
        ("name", "Bad Name", "projections/docs.yml: name:"),
        ("kind", "graph", "projections/docs.yml: kind: must be search"),
        ("id", "stream", "projections/docs.yml: id: a path starts with $"),
        ("id", "$.dat.x", "projections/docs.yml: id: '$.dat.x' must start with an event field"),
        ("tokenizer", "icu", "projections/docs.yml: tokenizer: must be unicode61, porter or trigram"),
        ("tieBreak", "nope", "projections/docs.yml: tieBreak: must name one of the fields"),
        ("extra", "x", "projections/docs.yml: extra: unknown key"),
        ("events", "Published", "projections/docs.yml: events: must be a list of event types"),
    ])
    func mistakesNameFileAndField(key: String, value: String, message: String) {
        #expect {
            _ = try spec { $0[key] = value }
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test func fieldMistakesNameTheField() {
        #expect {
            _ = try spec { $0["fields"] = ["title": ["path": "$.data.title", "weight": -1]] }
        } throws: { error in
            "\(error)".hasPrefix("projections/docs.yml: fields.title.weight:")
        }
        #expect {
            _ = try spec { $0["fields"] = ["title": ["path": "$.data.title", "format": "pdf"]] }
        } throws: { error in
            "\(error)".hasPrefix("projections/docs.yml: fields.title.format:")
        }
        #expect {
            _ = try spec { $0["fields"] = ["section": ["path": "$.data.s", "filter": true]] }
        } throws: { error in
            "\(error)".contains("at least one field must be full-text")
        }
    }

    @Test func theJSONSchemaKnowsTheSameKeysAsTheValidator() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Schemas/search-projection.schema.json")
        let schema = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(
            Set(properties.keys) == [
                "name", "kind", "description", "events", "id", "fields", "delete", "tokenizer", "tieBreak", "onError", "tenant",
            ])
        for key in properties.keys where !["description"].contains(key) {
            var values = Self.valid
            values[key] =
                values[key]
                ?? (key == "tieBreak"
                    ? "title" : key == "tokenizer" ? "porter" : key == "onError" ? ["tries": 2] : key == "tenant" ? true : ["T"])
            #expect(throws: Never.self, "\(key)") { _ = try decodeSpec(SearchSpec.self, values, file: "x") }
        }
    }

    @Test func theFingerprintFollowsTheDefinition() throws {
        let a = SearchProjection(spec: try spec { _ in })
        let b = SearchProjection(spec: try spec { $0["tokenizer"] = "porter" })
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint == SearchProjection(spec: try spec { _ in }).fingerprint)
    }
}
