public import Crypto
public import Foundation

/// A tenant token: a JWT (HS256) an application's backend signs with one of its search keys,
/// so a browser can search the indexes it names within one tenant until it expires.
///
/// Claims: `keyId` (the signing key's id), `indexes` (names or patterns), `tenant`, `exp`
/// (Unix seconds). The server checks the signature, the expiry and that the key still exists,
/// is not revoked and may search.
public struct TenantToken: Sendable, Equatable {
    public var keyID: String
    public var indexes: [String]
    public var tenant: String?
    public var expires: Date

    /// Longest token accepted, in bytes: a token is a few hundred.
    static let maxLength = 4096

    public init(keyID: String, indexes: [String], tenant: String?, expires: Date) {
        self.keyID = keyID
        self.indexes = indexes
        self.tenant = tenant
        self.expires = expires
    }

    /// The token signed with a key's secret.
    public func signed(with secret: String) -> String {
        var claims: [String: Any] = ["keyId": keyID, "indexes": indexes, "exp": Int(expires.timeIntervalSince1970)]
        if let tenant { claims["tenant"] = tenant }
        let header = Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8).base64URLEncoded
        let payload = (try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])).base64URLEncoded
        let input = header + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + Data(mac).base64URLEncoded
    }

    /// Whether a bearer credential has a JWT's shape (an API key never has dots).
    static func looksLikeToken(_ text: String) -> Bool { text.utf8.filter { $0 == UInt8(ascii: ".") }.count == 2 }

    /// The claims of a token, unverified; the error names what is malformed.
    static func claims(of token: String) throws(AccessError) -> (token: TenantToken, input: Substring, signature: Data) {
        guard token.utf8.count <= maxLength else { throw .malformed("longer than \(maxLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Data(base64URLEncoded: parts[0]), let payloadData = Data(base64URLEncoded: parts[1]),
            let signature = Data(base64URLEncoded: parts[2])
        else { throw .malformed("not three base64url parts") }
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw .malformed("the header is not a JSON object")
        }
        guard header["alg"] as? String == "HS256" else { throw .malformed("alg must be HS256") }
        guard let payload = (try? JSONSerialization.jsonObject(with: payloadData)) as? [String: Any] else {
            throw .malformed("the payload is not a JSON object")
        }
        guard let keyID = payload["keyId"] as? String else { throw .malformed("keyId: required, the signing key's id") }
        guard let indexes = payload["indexes"] as? [String], !indexes.isEmpty else {
            throw .malformed("indexes: required, a list of index names or patterns")
        }
        guard let exp = payload["exp"] as? NSNumber, exp.doubleValue.isFinite else {
            throw .malformed("exp: required, the expiry in Unix seconds")
        }
        var tenant: String?
        if let value = payload["tenant"] {
            guard let text = value as? String, !text.isEmpty else { throw .malformed("tenant: must be a non-empty string") }
            tenant = text
        }
        let claims = TenantToken(keyID: keyID, indexes: indexes, tenant: tenant, expires: Date(timeIntervalSince1970: exp.doubleValue))
        let input = token[..<token.lastIndex(of: ".")!]
        return (claims, input, signature)
    }

    /// Whether `signature` is the HMAC of `input` under the key's secret (constant time).
    static func isSigned(_ input: Substring, signature: Data, secret: String) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    }
}
