import Foundation
import Hummingbird
import Logging
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
        case .unavailable: APIError(.serviceUnavailable, error.message)
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
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request \(request.method) \(request.uri) failed: \(error)")
            throw APIError(.internalServerError, "internal error: \(error)")
        }
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
