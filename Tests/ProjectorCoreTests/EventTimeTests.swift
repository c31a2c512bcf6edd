import ProjectorCore
import Testing

@Suite struct EventTimeTests {
    @Test(arguments: [
        ("2026-11-27T05:40:49.123Z", "2026-11-27T05:40:49.123Z"),
        ("2026-11-27T05:40:49Z", "2026-11-27T05:40:49.000Z"),
        ("2026-11-27 05:40:49.5Z", "2026-11-27T05:40:49.500Z"),
        ("2026-11-27T07:40:49.123456+02:00", "2026-11-27T05:40:49.123Z"),
        ("2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00.000Z"),
        ("1999-12-31T23:59:59.999Z", "1999-12-31T23:59:59.999Z"),
    ])
    func normalizesToUTCMilliseconds(input: String, expected: String) {
        #expect(EventTime.normalized(input) == expected)
    }

    @Test(arguments: [
        "", "yesterday", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-27T05:40:49",
        "2026-11-27T25:00:00Z", "2026-11-27T05:40:49.Z", "2026-11-27T05:40:49Zjunk",
    ])
    func rejectsWhatIsNotATime(input: String) {
        #expect(EventTime.normalized(input) == nil)
    }

    @Test func formatsEpochMillisecondsBothWays() {
        #expect(EventTime.format(epochMilliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(EventTime.format(epochMilliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(EventTime.epochMilliseconds("2026-11-27T05:40:49.123Z") == 1_795_758_049_123)
        #expect(EventTime.normalized(EventTime.now()) != nil)
    }
}
