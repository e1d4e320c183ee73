import Foundation
package import NIOCore
package import SwitchboardCore

/// A hook call to the application's back end: a JSON object POSTed, a JSON object expected back. Shared
/// by the native protocol's hooks and Socket.IO's.
package enum BackendHook {
    /// What the hook answered (or why it could not answer).
    package enum Answer: Sendable {
        case answered(Object)
        case failed(String)
    }

    /// A JSON object from the back end (Foundation values, read on one loop only).
    package struct Object: @unchecked Sendable {
        package let value: [String: Any]

        package init(value: [String: Any]) {
            self.value = value
        }
    }

    /// POSTs `body` to `url` and completes on `eventLoop` with the answer; `event` names the hook in errors.
    package static func ask(
        _ backend: any BackendCaller,
        url: HTTPURL,
        event: String,
        body: [String: Any],
        timeoutSeconds: Double,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<Answer> {
        let data = JSONText.encodeContainer(body) ?? Data()
        let timeout = TimeAmount.milliseconds(Int64(timeoutSeconds * 1000))
        return backend.post(url, body: ByteBuffer(bytes: data), timeout: timeout, on: eventLoop).map { response in
            if response.status == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                    as? [String: Any]
            {
                return .answered(Object(value: object))
            }
            return .failed("the back end's \(event) hook answered \(response.status) without a JSON object")
        }.recover { error in
            if case BackendError.timeout = error {
                return .failed("the back end's \(event) hook did not answer within \(timeoutSeconds) s")
            }
            return .failed("the back end's \(event) hook could not be reached: \(error)")
        }
    }
}
