import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardAuth
import SwitchboardCore
import SwitchboardHTTP

/// Keeps a ``TokenVerifier``'s keys from `security.jwks`: a JWK Set file, read at start (a bad one stops
/// the start, like any configuration error) and again on SIGHUP; or the URL of an identity provider's
/// set, fetched at start and every `security.jwks_refresh` seconds. A failed fetch keeps the keys there
/// are and is retried every 10 seconds, so a provider's outage does not log everyone out.
final class JWKSLoader: Sendable {
    enum Source: Sendable {
        case file(String)
        case url(HTTPURL)
    }

    let source: Source
    private let verifier: TokenVerifier
    private let client: HTTPClient
    private let refresh: TimeAmount
    private let logger: Logger
    static let retryDelay = TimeAmount.seconds(10)

    init(source text: String, verifier: TokenVerifier, client: HTTPClient, refreshSeconds: Double, logger: Logger) {
        if text.hasPrefix("http://") || text.hasPrefix("https://"), let url = HTTPURL(text) {
            self.source = .url(url)
        } else {
            self.source = .file(text)
        }
        self.verifier = verifier
        self.client = client
        self.refresh = .milliseconds(Int64(refreshSeconds * 1000))
        self.logger = logger
    }

    /// Reads the file now (throws what is wrong with it), or starts fetching the URL.
    func start(on eventLoop: any EventLoop) throws {
        switch source {
        case .file(let path):
            try readFile(path)
        case .url:
            fetch(on: eventLoop)
        }
    }

    /// SIGHUP: the file is read again (a bad one is logged, and the keys there are stay); a URL now.
    func reload(on eventLoop: any EventLoop) {
        switch source {
        case .file(let path):
            do {
                try readFile(path)
            } catch {
                logger.error("security.jwks: \(error); the keys already loaded stay in use")
            }
        case .url:
            fetch(on: eventLoop, reschedule: false)
        }
    }

    private func readFile(_ path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenError("security.jwks: cannot read \(path): \(error.localizedDescription)")
        }
        let keys: JSONWebKeySet
        do {
            keys = try JSONWebKeySet(json: data)
        } catch {
            throw TokenError("security.jwks: \(path): \(error.reason)")
        }
        install(keys, from: path)
    }

    private func install(_ keys: JSONWebKeySet, from origin: String) {
        verifier.replaceKeys(keys)
        logger.info("token keys loaded", metadata: ["from": "\(origin)", "keys": "\(keys.keys.count)"])
        for reason in keys.skipped { logger.warning("security.jwks: a key was left out: \(reason)") }
    }

    private func fetch(on eventLoop: any EventLoop, reschedule: Bool = true) {
        guard case .url(let url) = source else { return }
        client.request(.GET, url, timeout: .seconds(10), on: eventLoop).whenComplete { result in
            var next = self.refresh
            do {
                let response = try result.get()
                guard response.status == 200 else { throw TokenError("the server answered \(response.status)") }
                self.install(try JSONWebKeySet(json: Data(response.body.readableBytesView)), from: url.description)
            } catch {
                next = Self.retryDelay
                self.logger.error(
                    "security.jwks: fetching \(url) failed (\(error)); the keys already loaded stay in use, retrying in 10 s"
                )
            }
            if reschedule {
                eventLoop.scheduleTask(in: next) { self.fetch(on: eventLoop) }
            }
        }
    }
}
