import Foundation
import Hummingbird
import Logging
import NIOCore
import ProjectorCore

/// An error answered as `{"error": "…"}` with a 4xx/5xx status; the message names the problem.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONBody.response(status: status, json: "{\"error\":\(JSONString.quote(message))}", headers: headers)
    }

    /// The status a ProjectorError deserves.
    static func from(_ error: ProjectorError) -> APIError {
        switch error.code {
        case .wrongExpectedVersion: APIError(.conflict, error.message)
        case .notFound: APIError(.notFound, error.message)
        case .invalidEvent, .invalidLine, .invalidQuery, .invalidSpec: APIError(.badRequest, error.message)
        case .unavailable, .budgetExceeded: APIError(.serviceUnavailable, error.message)
        default: APIError(.internalServerError, error.message)
        }
    }
}

/// Every error leaves as JSON: ProjectorErrors get their status, anything unexpected is a 500
/// that still names it (and is logged).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as ProjectorError {
            throw APIError.from(error)
        } catch let error as AccessError {
            throw error.apiError
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = Self.allowedMethods(for: request.uri.path), !allowed.isEmpty {
                throw APIError(
                    .methodNotAllowed,
                    "\(request.method) is not allowed on \(request.uri.path) (allowed: \(allowed.joined(separator: ", ")))",
                    headers: [.allow: allowed.joined(separator: ", ")])
            }
            throw APIError(error.status, error.body ?? error.status.reasonPhrase)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "body: larger than \(Routes.maxBody >> 20) MB")
        } catch {
            context.logger.error("request \(request.method) \(request.uri) failed: \(error)")
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }
}

extension ErrorMiddleware {
    /// The methods served on `path`, from the route table (nil: no such path).
    static func allowedMethods(for path: String) -> [String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let methods = ProjectorServer.routes.compactMap { route -> String? in
            let pieces = route.split(separator: " ")
            let pattern = pieces[1].split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == parts.count else { return nil }
            for (expected, actual) in zip(pattern, parts) where !(expected.hasPrefix("{") && !actual.isEmpty) && expected != actual {
                return nil
            }
            return String(pieces[0])
        }
        return methods.isEmpty ? nil : methods
    }
}

/// JSON bodies written by hand (the shapes are fixed and small).
enum JSONBody {
    static func response(status: HTTPResponse.Status = .ok, json: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func encode<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return response(status: status, json: String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
