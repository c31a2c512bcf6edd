package import Foundation
import Hummingbird
import ProjectorCore

/// Who sent a request and what it may do. Every credential is `Authorization: Bearer …`: the
/// admin token, an API key (`prj_…`) or a tenant token (a JWT signed with a key).
///
/// Until the first key is made, search and status are open as before (bind to loopback);
/// from then on they need a credential. Admin routes always do.
package struct AccessControl: Sendable {
    package enum Credential {
        case none
        case admin
        case key(APIKey)
        case token(TenantToken, APIKey)
    }

    let adminToken: String?
    let keys: KeyStore?

    package init(adminToken: String?, keys: KeyStore?) {
        self.adminToken = adminToken
        self.keys = keys
    }

    /// The request's credential, checked: a bad one is refused whatever the route.
    func credential(_ request: Request, now: Date = Date()) throws(AccessError) -> Credential {
        guard let header = request.headers[.authorization] else { return .none }
        // The scheme is case-insensitive (RFC 9110).
        guard header.prefix(7).lowercased() == "bearer " else { throw .missing("send Authorization: Bearer <key or token>") }
        let sent = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if let adminToken, KeyStore.constantTimeEqual(sent, adminToken) { return .admin }
        if TenantToken.looksLikeToken(sent) { return try verifiedToken(sent, now: now) }
        guard let keys, APIKey.id(ofSecret: sent) != nil else { throw .invalid("the bearer credential is not a known key or token") }
        let found: (key: APIKey, matches: Bool)?
        do { found = try keys.lookUp(secret: sent) } catch { throw .invalid("the key store cannot be read: \(error)") }
        guard let found, found.matches else { throw .invalid("the bearer credential is not a known key or token") }
        guard found.key.revokedAt == nil else { throw .invalid("key \(found.key.id) was revoked") }
        return .key(found.key)
    }

    package func verifiedToken(_ text: String, now: Date) throws(AccessError) -> Credential {
        let (token, input, signature) = try TenantToken.claims(of: text)
        let record: (key: APIKey, secret: String)?
        do { record = try keys?.keyWithSecret(token.keyID) } catch { throw .invalid("the token cannot be verified: \(error)") }
        guard let record else { throw .invalid("the token's key \(token.keyID) is not known") }
        guard TenantToken.isSigned(input, signature: signature, secret: record.secret) else {
            throw .invalid("the token's signature does not verify")
        }
        guard token.expires > now else { throw .invalid("the token expired") }
        guard record.key.revokedAt == nil else { throw .invalid("the token's key \(record.key.id) was revoked") }
        guard record.key.allows(.search) else { throw .forbidden("the token's key \(record.key.id) may not search") }
        return .token(token, record.key)
    }

    /// Whether search and status still need no credential (no key was ever made).
    var isOpen: Bool {
        // A key store that cannot be read keeps them closed.
        guard let keys, let made = try? keys.hasKeys() else { return false }
        return !made
    }

    /// Checks a search of `index`; returns the tenant the answer must keep to (a token's
    /// tenant, else the one asked for).
    func searchTenant(_ credential: Credential, index: String, asked: String?) throws(AccessError) -> String? {
        switch credential {
        case .admin: return asked
        case .key(let key):
            guard key.allows(.search) else { throw .forbidden("key \(key.id) may not search") }
            guard key.covers(index: index) else { throw .forbidden("key \(key.id) may not search index '\(index)'") }
            return asked
        case .token(let token, let key):
            guard key.covers(index: index), token.indexes.contains(where: { APIKey.matches($0, index) }) else {
                throw .forbidden("the token may not search index '\(index)'")
            }
            guard let tenant = token.tenant else { return asked }
            if let asked, asked != tenant { throw .forbidden("the token is for another tenant") }
            return tenant
        case .none:
            guard isOpen else { throw .missing("search needs a key or a tenant token: send Authorization: Bearer <key or token>") }
            return asked
        }
    }

    /// Whether the credential may see an index in the list of indexes.
    func mayList(_ credential: Credential, index: String) -> Bool {
        do {
            _ = try searchTenant(credential, index: index, asked: nil)
            return true
        } catch {
            return false
        }
    }

    /// Checks a route that needs `action` (status, append or admin).
    func authorize(_ credential: Credential, _ action: APIKey.Action) throws(AccessError) {
        switch credential {
        case .admin: return
        case .key(let key):
            guard key.allows(action) else { throw .forbidden("key \(key.id) may not \(action.rawValue)") }
        case .token: throw .forbidden("a tenant token may only search")
        case .none:
            if action == .status {
                if isOpen { return }
                throw .missing("status needs a key that may read it: send Authorization: Bearer <key>")
            }
            try refuseIfClosed(action)
            throw .missing(
                "this route needs the admin token or a key that may \(action.rawValue): send Authorization: Bearer <token or key>")
        }
    }

    /// Refuses `append` and `admin` on a server that has neither an admin token nor keys:
    /// whatever credential is sent, nothing could grant them.
    func refuseIfClosed(_ action: APIKey.Action) throws(AccessError) {
        guard action != .search, action != .status, adminToken == nil, isOpen else { return }
        throw .forbidden(
            "admin routes are closed: start the server with PROJECTOR_ADMIN_TOKEN set, or make a key with `projector keys create`")
    }

    /// Whether the credential sees errors (file names, paths, streams) in status answers.
    func isAdmin(_ credential: Credential) -> Bool {
        switch credential {
        case .admin: true
        case .key(let key): key.allows(.admin)
        default: false
        }
    }
}
