import ProjectorCore
import Testing

@Suite struct ExpectedVersionTests {
    @Test func acceptsOnlyWhatItPromises() {
        #expect(ExpectedVersion.any.accepts(0) && ExpectedVersion.any.accepts(7))
        #expect(ExpectedVersion.noStream.accepts(0) && !ExpectedVersion.noStream.accepts(1))
        #expect(ExpectedVersion.exactly(3).accepts(3) && !ExpectedVersion.exactly(3).accepts(2))
    }

    @Test func parsesTheCLIForms() {
        #expect(ExpectedVersion(parsing: "any") == .any)
        #expect(ExpectedVersion(parsing: "no-stream") == .noStream)
        #expect(ExpectedVersion(parsing: "4") == .exactly(4))
        #expect(ExpectedVersion(parsing: "-1") == nil)
        #expect(ExpectedVersion(parsing: "later") == nil)
    }

    @Test func conflictErrorNamesStreamAndBothVersions() {
        let error = ProjectorError.wrongExpectedVersion(stream: "account-7", expected: .exactly(3), actual: 5)
        #expect(error.code == .wrongExpectedVersion)
        #expect(error.message.contains("account-7") && error.message.contains("3") && error.message.contains("5"))
    }
}
