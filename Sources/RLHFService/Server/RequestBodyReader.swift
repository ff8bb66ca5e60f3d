import Foundation
import Hummingbird
import NIOCore

/// Reads a request body under a size limit and decodes it strictly: unknown fields, missing
/// fields and wrong types are 400s whose message names the field (`comparisons[2].key`).
enum RequestBodyReader {
    /// The body's bytes, refusing more than `limit` while reading (413): a `Content-Length`
    /// above the limit is refused before anything is read.
    static func bytes(of request: Request, limit: Int) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength], let length = Int(declared), length > limit {
            throw ServiceError.tooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServiceError.tooLarge(limit: limit)
        }
    }

    /// The body decoded as `T` (see the type's comment for the rules).
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer = try await bytes(of: request, limit: limit)
        return try decode(type, from: Data(buffer.readableBytesView))
    }

    /// `data` decoded as `T`, with decoding errors turned into 400s naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw ServiceError.badRequest("the body is empty; this route takes a JSON object")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw ServiceError.badRequest(message(for: error))
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError.badRequest("the body is not valid JSON")
        }
    }

    /// A client-facing description of a decoding error.
    static func message(for error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field `\(path(context.codingPath + [key]))`"
        case .valueNotFound(let type, let context):
            return "field `\(path(context.codingPath))` is null; expected \(describe(type))"
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty { return "the body must be a JSON object" }
            return "field `\(path(context.codingPath))` has the wrong type; expected \(describe(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return context.underlyingError == nil && !context.debugDescription.isEmpty
                    && !context.debugDescription.contains("JSON")
                    ? context.debugDescription : "the body is not valid JSON"
            }
            return "field `\(path(context.codingPath))`: \(context.debugDescription)"
        @unknown default:
            return "the body is not the JSON this route takes"
        }
    }

    /// `a.b[3].c` for a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                let name = key.stringValue.count > 64 ? String(key.stringValue.prefix(64)) + "…" : key.stringValue
                text += text.isEmpty ? name : "." + name
            }
        }
        return text.isEmpty ? "(body)" : text
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

/// A coding key for any name, to list the keys a JSON object has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws a `dataCorrupted` error naming the first key of this object that is not in `known`
    /// (strict decoding: a misspelt field is an error, not silently ignored).
    func rejectUnknownKeys<Key: CodingKey & CaseIterable>(_ keys: Key.Type) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let known = Set(Key.allCases.map(\.stringValue))
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [unknown],
                debugDescription: "unknown field (this route takes \(Key.allCases.map(\.stringValue).joined(separator: ", ")))"
            ))
        }
    }
}
