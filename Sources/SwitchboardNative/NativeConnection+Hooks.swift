import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// Back-end hooks (`native.hook_url`): the back end is asked before a `connect`, `subscribe` or
/// `publish` takes effect — it may refuse it, set the user, or rewrite the message — and told of every
/// disconnect. The body is `{"event", "client", "user", ...}`; the answer a JSON object.
extension NativeConnection {
    /// The hook event and its fields for `action`, when the configuration asks the hook about it.
    func hookQuestion(for action: NativeSession.Action) -> (String, [String: Any])? {
        let configuration = service.configuration
        guard configuration.hookURL != nil else { return nil }
        switch action {
        case .connected(_, let user, let info, _) where configuration.hookEvents.contains("connect"):
            var fields: [String: Any] = ["user": user ?? NSNull()]
            if let info, let object = try? JSONSerialization.jsonObject(with: Data(info.utf8)) {
                fields["info"] = object
            }
            return ("connect", fields)
        case .subscribe(_, let channel, _) where configuration.hookEvents.contains("subscribe"):
            return ("subscribe", ["channel": channel.rawValue])
        case .publish(_, let channel, let request) where configuration.hookEvents.contains("publish"):
            var fields: [String: Any] = ["channel": channel.rawValue]
            if let value = try? JSONSerialization.jsonObject(
                with: Data(request.payload.readableBytesView),
                options: [.fragmentsAllowed]
            ), request.contentType?.hasPrefix("application/json") == true {
                fields["data"] = value
            } else {
                fields["data"] = String(buffer: request.payload)
            }
            return ("publish", fields)
        default:
            return nil
        }
    }

    /// POSTs the hook and calls `done` on the connection's loop with the answer.
    func askHook(
        event: String,
        fields: [String: Any],
        done: @escaping (NativeConnection, BackendHook.Answer) -> Void
    ) {
        guard let url = service.configuration.hookURL, let backend = service.backend else { return }
        var body = fields
        body["event"] = event
        body["client"] = clientID
        if body["user"] == nil { body["user"] = user ?? NSNull() }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let finish = NIOLoopBound(done, eventLoop: eventLoop)
        callsInFlight += 1
        BackendHook.ask(
            backend,
            url: url,
            event: event,
            body: body,
            timeoutSeconds: service.configuration.backendTimeout,
            on: eventLoop
        ).whenSuccess { answer in
            handler.value.callsInFlight -= 1
            finish.value(handler.value, answer)
        }
    }

    /// Carries out (or refuses) `action` as the hook answered, then runs the commands that waited.
    func hookAnswered(_ answer: BackendHook.Answer, for action: NativeSession.Action) {
        guard !closing else { return }
        switch hookDecision(answer, for: action) {
        case .success(let decided):
            run(decided)
        case .failure(let error):
            refuse(action, error)
        }
        releaseHeld()
    }

    /// `action` does not take effect: the session forgets what it recorded for it, the client gets `error`.
    func refuse(_ action: NativeSession.Action, _ error: NativeError) {
        switch action {
        case .connected: session.connectRefused()
        case .subscribe(_, let channel, _): session.channelEnded(channel)
        default: break
        }
        writeError(error)
    }

    private func hookDecision(
        _ answer: BackendHook.Answer,
        for action: NativeSession.Action
    )
        -> Result<NativeSession.Action, NativeError>
    {
        let id = actionID(action)
        switch answer {
        case .failed(let reason):
            return .failure(NativeError(.hookFailed, reason, id: id))
        case .answered(let answer):
            let object = answer.value
            if object["allow"] as? Bool == false {
                let reason = object["reason"] as? String ?? "refused by the back end"
                return .failure(NativeError(.permissionDenied, reason, id: id))
            }
            switch action {
            case .connected(let id, let user, let info, let expiresAt):
                var newInfo = info
                if let value = object["info"], let data = JSONText.encodeContainer(value) {
                    newInfo = String(decoding: data, as: UTF8.self)
                }
                return .success(
                    .connected(id: id, user: object["user"] as? String ?? user, info: newInfo, expiresAt: expiresAt)
                )
            case .publish(let id, let channel, var request):
                if let value = object["data"], let data = JSONText.encode(value) {
                    // Rewritten by the back end.
                    request.payload = ByteBuffer(bytes: data)
                    request.contentType = "application/json"
                }
                return .success(.publish(id: id, channel: channel, request: request))
            default:
                return .success(action)
            }
        }
    }

    private func actionID(_ action: NativeSession.Action) -> Int? {
        switch action {
        case .connected(let id, _, _, _), .refreshed(let id, _, _), .subscribe(let id, _, _), .publish(let id, _, _),
            .unsubscribe(let id, _),
            .history(let id, _, _, _), .pong(let id), .answer(let id, _, _), .rpc(let id, _, _), .presence(let id, _):
            return id
        case .error(let error):
            return error.id
        }
    }
}
