import Foundation
import ProjectorCore
import Testing

@Suite struct EventLineParserTests {
    @Test func readsAFullLine() throws {
        let event = try EventLineParser.parse(
            #"{"position":9,"id":"0b5e5f3c-9a8f-4c39-8d5c-0c6d1f0f7a11","stream":"patient-42","version":3,"type":"PatientAdmitted","data":{"ward": "B", "bed":[1, 2]},"metadata":{"tenant":"north"},"time":"2026-11-27T05:40:49.123Z","expectedVersion":2}"#
        )
        #expect(event.stream == "patient-42")
        #expect(event.type == "PatientAdmitted")
        #expect(event.data == #"{"ward":"B","bed":[1,2]}"#, "whitespace outside strings is compacted")
        #expect(event.metadata == #"{"tenant":"north"}"#)
        #expect(event.id == UUID(uuidString: "0b5e5f3c-9a8f-4c39-8d5c-0c6d1f0f7a11"))
        #expect(event.expectedVersion == .exactly(2))
        #expect(event.time == "2026-11-27T05:40:49.123Z")
    }

    @Test func keepsSpacesInsideStrings() throws {
        let event = try EventLineParser.parse(#"{"stream":"s","type":"t","data":{"text":"a  b\t\"c\" \u00e9"}}"#)
        #expect(event.data == #"{"text":"a  b\t\"c\" \u00e9"}"#)
    }

    @Test(arguments: [
        (#"{"stream":"s","type":"t","data":{"a":1}"#, "unterminated"),
        (#"{"stream":"s","type":"t","data":[1,2]}"#, "data must be a JSON object, found array"),
        (#"{"stream":"s","type":"t","data":"text"}"#, "data must be a JSON object, found string"),
        (#"{"stream":"s","data":{}}"#, "missing type"),
        (#"{"type":"t","data":{}}"#, "missing stream"),
        (#"{"stream":"s","type":"t"}"#, "missing data"),
        (#"{"stream":7,"type":"t","data":{}}"#, "stream must be a string, found number"),
        (#"{"stream":"s","type":"t","data":{},"id":"nope"}"#, "id must be a UUID"),
        (#"{"stream":"s","type":"t","data":{},"expectedVersion":"soon"}"#, "expectedVersion must be"),
        (#"[1,2,3]"#, "expected a JSON object, found array"),
        (#"{"stream":"s","type":"t","data":{}} trailing"#, "unexpected text after the object"),
        (#"{"stream":"s","type":"t","data":{"a":tru}}"#, "invalid literal"),
        (#"{"stream":"s","type":"t","data":{"a":01}}"#, "expected ',' or '}'"),
        (#"{"stream":"s","type":"t","data":{"a":"\x"}}"#, "invalid escape"),
    ])
    func rejectsBadLinesNamingTheProblem(line: String, message: String) {
        #expect {
            _ = try EventLineParser.parse(line)
        } throws: { error in
            (error as? ProjectorError)?.message.contains(message) == true
        }
    }

    @Test func expectedVersionForms() throws {
        #expect(
            try EventLineParser.parse(#"{"stream":"s","type":"t","data":{},"expectedVersion":"no-stream"}"#)
                .expectedVersion == .noStream)
        #expect(
            try EventLineParser.parse(#"{"stream":"s","type":"t","data":{},"expectedVersion":0}"#)
                .expectedVersion == .noStream)
        #expect(try EventLineParser.parse(#"{"stream":"s","type":"t","data":{}}"#).expectedVersion == .any)
    }

    @Test func deepNestingIsRejectedNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: ProjectorError.self) {
            _ = try EventLineParser.parse(#"{"stream":"s","type":"t","data":{"x":\#(deep)}}"#)
        }
    }

    @Test func unicodeEscapesDecodeInKeysAndValues() throws {
        let event = try EventLineParser.parse(#"{"stream":"caf\u00e9-\ud83d\ude00","type":"t","data":{}}"#)
        #expect(event.stream == "café-😀")
    }
}

@Suite struct LogDoorTests {
    @Test(arguments: [
        (#"{"stream":"s","type":"t","data":{"amount":1,"amount":1000}}"#, #"duplicate key "amount""#),
        (#"{"stream":"s","type":"t","data":{"order":{"x":1,"y":2,"x":3}}}"#, #"duplicate key "x""#),
        (#"{"stream":"s","type":"t","data":{"a":1,"\u0061":2}}"#, #"duplicate key "a""#),
        (#"{"stream":"s","stream":"t","type":"t","data":{}}"#, #"duplicate key "stream""#),
        (#"{"stream":"s","type":"t","data":{},"metadata":{"tenant":"a","tenant":"b"}}"#, #"duplicate key "tenant""#),
    ])
    func duplicateKeysAreRefusedNamingTheKey(line: String, message: String) {
        #expect {
            _ = try EventLineParser.parse(line)
        } throws: { error in
            (error as? ProjectorError)?.message.hasPrefix(message) == true
        }
    }

    @Test func aDuplicateAmongManyKeysIsFoundAndSiblingObjectsMayShareKeys() throws {
        let many = (0..<500).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        #expect(throws: ProjectorError.self) {
            _ = try EventLineParser.parse(#"{"stream":"s","type":"t","data":{\#(many),"k250":0}}"#)
        }
        let event = try EventLineParser.parse(#"{"stream":"s","type":"t","data":{\#(many),"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}}"#)
        #expect(event.data.hasSuffix(#""c":[{"x":1},{"x":2}]}"#))
    }

    @Test func anAppendOfDataWithADuplicateKeyIsRefusedByEveryPath() {
        let event = ProposedEvent(stream: "s", type: "t", data: #"{"amount":1, "amount":1000}"#)
        #expect {
            _ = try event.storedFields()
        } throws: { error in
            (error as? ProjectorError)?.message.hasPrefix(#"data must be a JSON object: duplicate key "amount""#) == true
        }
    }

    @Test(arguments: ["http-1\u{0}evil", "a\nb", "tab\there", "del\u{7F}", "c1\u{85}"])
    func namesWithControlCharactersAreRefused(name: String) {
        for event in [ProposedEvent(stream: name, type: "T", data: "{}"), ProposedEvent(stream: "s", type: name, data: "{}")] {
            #expect {
                _ = try event.storedFields()
            } throws: { error in
                (error as? ProjectorError)?.message.contains("must not contain control characters (U+") == true
            }
        }
    }

    @Test func ordinaryUnicodeNamesAreKept() throws {
        _ = try ProposedEvent(stream: "café-☕-流", type: "Typé", data: "{}").storedFields()
    }
}
