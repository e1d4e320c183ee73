import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP

extension Endpoints {
    /// `POST /api/call` `{"client"|"user": ..., "method": "...", "data": ..., "timeout": 5}`: calls the
    /// page(s) of a native-protocol connection or user and answers with the first page's answer —
    /// `200 {"result": ...}`, `502 call_error` when the page answered with an error, `504 call_timeout`,
    /// `404 no_such_target` when nobody is connected.
    func startCall(
        _ request: HTTPRequest,
        native: NativeFrontEnd,
        on eventLoop: any EventLoop
    ) throws -> EventLoopFuture<HTTPResponse> {
        let object = try jsonObject(request)
        guard let method = object["method"] as? String, !method.isEmpty, method.utf8.count <= 255 else {
            throw HTTPError.badRequest("invalid_request", "\"method\" (a string of 1 to 255 bytes) is required")
        }
        let timeoutSeconds = (object["timeout"] as? NSNumber)?.doubleValue ?? 5
        guard timeoutSeconds > 0, timeoutSeconds <= 60 else {
            throw HTTPError.badRequest("invalid_request", "\"timeout\" is from 0 to 60 seconds")
        }
        guard let data = JSONText.encode(object["data"] ?? NSNull()) else {
            throw HTTPError.badRequest("invalid_request", "\"data\" must be JSON")
        }
        let targets: [LoopBoundReference<NativeConnection>]
        if let client = object["client"] as? String {
            targets = native.users.connection(ofClient: client).map { [$0] } ?? []
        } else if let user = object["user"] as? String {
            targets = native.users.connections(ofUser: user)
        } else {
            throw HTTPError.badRequest("invalid_request", "\"client\" or \"user\" is required")
        }
        guard !targets.isEmpty else {
            throw HTTPError(status: .notFound, code: "no_such_target", message: "no native-protocol connection to call")
        }
        let (id, answer) = service.calls.start(on: eventLoop, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
        let call = CallRegistry.CallRequest(id: id, method: method, data: String(decoding: data, as: UTF8.self))
        for target in targets { target.execute { $0.push(call) } }
        let allocator = self.allocator
        return answer.map { answer -> HTTPResponse in
            switch answer {
            case .result(let json):
                var writer = JSONWriter(allocator: allocator)
                writer.beginObject()
                writer.raw("result", ByteBuffer(string: json))
                writer.endObject()
                return .json(.ok, writer)
            case .error(let message):
                return .error(
                    HTTPError(status: .badGateway, code: "call_error", message: message),
                    allocator: allocator
                )
            }
        }.recover { _ in
            .error(
                HTTPError(
                    status: .gatewayTimeout,
                    code: "call_timeout",
                    message: "no answer within \(timeoutSeconds) s"
                ),
                allocator: allocator
            )
        }
    }
}
