import NIOCore
import NIOHTTP1

extension HTTPService {
    /// Installs the HTTP front end on a newly accepted connection. Call on the channel's event loop.
    ///
    /// ```
    /// bytes ─▶ HTTPRequestDecoder ─▶ HTTPResponseEncoder ─▶ HTTPServerPipelineHandler ─▶ HTTPHandler
    /// ```
    /// The decoder's header limit bounds memory before ``HTTPHandler`` applies the configured limits
    /// (414 / 431) precisely.
    public func installHandlers(on channel: any Channel) throws {
        connectionOpened(channel)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderSize + configuration.maxRequestLine
        limits.maxHeaderFieldSize = configuration.maxHeaderSize + configuration.maxRequestLine
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: limits))
        )
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(HTTPServerPipelineHandler())
        try pipeline.addHandler(HTTPHandler(service: self))
    }
}
