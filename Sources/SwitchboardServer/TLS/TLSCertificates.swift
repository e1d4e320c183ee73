import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// The server's TLS context: the certificate chain and key of `[tls]`, read at start (a bad file stops the
/// start) and again on SIGHUP (a bad file then is logged and the certificate in use stays). New
/// connections get the context current when they are accepted. HTTP/1.1 is offered by ALPN.
final class TLSCertificates: Sendable {
    private let certificatePath: String
    private let keyPath: String
    private let current: Mutex<NIOSSLContext>

    init(certificate: String, key: String) throws {
        self.certificatePath = certificate
        self.keyPath = key
        self.current = Mutex(try Self.load(certificate: certificate, key: key))
    }

    /// The context for a connection accepted now.
    var context: NIOSSLContext { current.withLock { $0 } }

    /// Reads the files again; throws (and keeps the context in use) when they are not a valid pair.
    func reload() throws {
        let fresh = try Self.load(certificate: certificatePath, key: keyPath)
        current.withLock { $0 = fresh }
    }

    private static func load(certificate: String, key: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw TLSFileError(message: "tls.cert: cannot read a PEM certificate chain from \(certificate) (\(error))")
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw TLSFileError(message: "tls.key: cannot read a PEM private key from \(key) (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError(message: "tls.cert: \(certificate) holds no certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        configuration.applicationProtocols = ["http/1.1"]
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError(message: "tls.cert / tls.key: not a certificate and its key (\(error))")
        }
    }
}

/// A certificate or key file that cannot be used.
struct TLSFileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Closes a TLS connection whose handshake has not completed within the deadline: a client that opens a
/// connection and dribbles (or never sends) its hello must not hold it. Removes itself once the handshake
/// is done.
final class TLSHandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
