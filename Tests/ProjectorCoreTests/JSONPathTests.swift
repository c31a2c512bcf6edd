import Foundation
import ProjectorCore
import Testing

@Suite struct JSONPathTests {
    static let event = RecordedEvent(
        position: 7, id: UUID(uuidString: "0195B2A4-8A7C-7000-8000-000000000007")!, stream: "doc-1", version: 3,
        type: "DocumentRevised",
        data:
            #"{"title":"Caf\u00e9 \"menus\"","n":42,"ok":true,"none":null,"tags":["a",2,"b"],"nested":{"deep":{"x":"y"}},"title":"last wins","odd key":"spaced"}"#,
        metadata: #"{"tenant":"acme","user":{"name":"Ana"}}"#, time: "2026-11-27T05:40:49.123Z", tenant: "acme")

    static let paths = [
        "$.data.title", "$.data.n", "$.data.ok", "$.data.none", "$.data.missing", "$.data.tags", "$.data.tags[1]",
        "$.data.tags[9]", "$.data.nested", "$.data.nested.deep.x", "$.data[\"odd key\"]", "$.data", "$.metadata.user.name",
        "$.metadata.tenant", "$.type", "$.position", "$.id", "$.stream", "$.version", "$.time", "$.tenant",
    ]

    @Test func evaluatesEveryKindOfValue() throws {
        let values = try Self.paths.map { try JSONPath($0).value(in: Self.event) }
        #expect(values[0] == "last wins")
        #expect(values[1] == "42")
        #expect(values[2] == "true")
        #expect(values[3] == nil)
        #expect(values[4] == nil)
        #expect(values[5] == "a 2 b")
        #expect(values[6] == "2")
        #expect(values[7] == nil)
        #expect(values[9] == "y")
        #expect(values[10] == "spaced")
        #expect(values[12] == "Ana")
        #expect(values[16] == "0195B2A4-8A7C-7000-8000-000000000007".lowercased())
    }

    /// The one-scan evaluation a search document uses gives exactly what each path gives alone,
    /// for objects, for payloads that are not objects and for broken ones.
    @Test(arguments: [
        Self.event.data, #"["not","an","object"]"#, #"{"title":"cut off"#, "", #"{"title":"Tab\there"}"#,
        #"{"ti\u0074le":"escaped key","title":null}"#, #"{"title":"first","title":"last"}"#, #"{"title":{"a":[1,"x"]}}"#,
    ])
    func evaluatingManyPathsAtOnceMatchesEachAlone(data: String) throws {
        var event = Self.event
        event.data = data
        let paths = try Self.paths.map(JSONPath.init)
        #expect(JSONPathList(paths).values(in: event) == paths.map { $0.value(in: event) })
        let reversed = Array(paths.reversed())
        #expect(JSONPathList(reversed).values(in: event) == reversed.map { $0.value(in: event) })
    }
}
