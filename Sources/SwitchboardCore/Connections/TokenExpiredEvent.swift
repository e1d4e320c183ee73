/// Fired into the pipeline of a connection a signed token opened (a `/sub` subscription, a bridged
/// socket) when that token expires: the transport says goodbye its own way (an SSE notice, close code
/// 4005) and ends; the connection is cut off after the goodbye timeout in any case.
package struct TokenExpiredEvent: Sendable {
    package init() {}
}
