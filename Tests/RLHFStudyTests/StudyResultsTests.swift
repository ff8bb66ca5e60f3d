import Foundation
import Testing
@testable import RLHFStudy

@Suite struct StudyResultsTests {
    @Test func rowsRoundTripThroughJSON() throws {
        let row = ResultRow(run: "r", variant: "zpg", algorithm: "zpg", env: "classic", link: "bradley-terry",
                            feedback: "default", seed: 3, budget: 10, queries: 10, envSteps: 5, value: 0.5,
                            valueStandardError: nil, normalizedValue: 0.7, wallSeconds: 0.1, isFinal: true)
        let data = try JSONEncoder().encode(row)
        #expect(try JSONDecoder().decode(ResultRow.self, from: data) == row)
    }
}
