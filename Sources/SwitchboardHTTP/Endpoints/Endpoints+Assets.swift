import NIOCore
import NIOHTTP1

extension Endpoints {
    /// `GET /switchboard.js` and the other files of ``WebAssets``, with an `ETag` so browsers revalidate
    /// cheaply (`304` when `If-None-Match` matches).
    func asset(_ path: String, request: HTTPRequest) -> HTTPResponse {
        guard let asset = WebAssets.all[path] else { return .error(.notFound, allocator: allocator) }
        let etag = asset.etag
        var headers: HTTPHeaders = [
            "Content-Type": asset.contentType,
            "Cache-Control": "no-cache",
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        ]
        if path.hasSuffix(".js") || path.hasSuffix(".mjs") || path.hasSuffix(".d.ts") {
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
        }
        if request.head.headers[canonicalForm: "if-none-match"].contains(where: { $0 == etag }) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        return HTTPResponse(status: .ok, headers: headers, body: asset.body(allocator: allocator))
    }
}
