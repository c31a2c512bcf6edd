import Hummingbird

/// Why a credential was refused: 401 when it is missing or does not hold (malformed, expired,
/// tampered, unknown, revoked), 403 when it holds but lacks the right. Never echoes the secret.
package enum AccessError: Error {
    case missing(String)
    case malformed(String)
    case invalid(String)
    case forbidden(String)

    var apiError: APIError {
        switch self {
        case .missing(let message): APIError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer"])
        case .malformed(let problem): APIError(.unauthorized, "malformed token: \(problem)", headers: [.wwwAuthenticate: "Bearer"])
        case .invalid(let message):
            APIError(.unauthorized, message, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        case .forbidden(let message): APIError(.forbidden, message)
        }
    }
}
