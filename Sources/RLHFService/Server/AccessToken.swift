import Crypto
import Foundation

/// Bearer tokens and session tokens: 32 random bytes written in base64url, stored only as
/// the SHA-256 hex of their text.
public enum AccessToken {
    /// A new token: 32 bytes from the system's cryptographic generator, base64url without
    /// padding (43 characters).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The SHA-256 of the token's UTF-8 text, as 64 lowercase hex digits: what the store keeps.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Whether `text` could be a token at all (printable ASCII, at most 256 characters): other
    /// text is refused before any lookup.
    static func isPlausible(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 256 && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
