import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Responses with a JSON body (`application/json; charset=utf-8`), sorted keys, dates as ISO 8601
/// UTC seconds (`2026-12-07T01:02:03Z`). The body types spell their snake_case keys in their
/// `CodingKeys` (a key strategy would also rewrite the keys inside stored trajectories).
enum JSONResponse {
    /// The encoder of every JSON body.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// `date` as `2026-12-07T01:02:03Z` (UTC, whole seconds).
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
    }

    /// The JSON text of `value`, for JSON Lines.
    static func line<T: Encodable>(_ value: T) throws -> Data {
        try encoder.encode(value)
    }

    /// A response with `value` as its JSON body.
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": message}` with the error's status and headers.
    static func error(_ error: ServiceError) -> Response {
        let data = (try? encoder.encode(["error": error.message])) ?? Data(#"{"error":"error"}"#.utf8)
        var headers = error.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
