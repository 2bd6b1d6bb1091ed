import CMicroHTTPD
import Foundation
import LiaisonConnectors
import Synchronization

// libmicrohttpd's callbacks. They live here, as plain global functions, and are the
// only place that touches MHD connections: the narrow bridge between MHD's threads and
// the Swift handlers.
//
// The server and the connection's context are reached at +0 (`_withUnsafeGuaranteedRef`;
// `takeUnretainedValue()` would retain them), and what shutdown needs to know lives in
// each connection's context, not in a table that every request would lock.

/// One per TCP connection, from libmicrohttpd's notice that the connection opened to the
/// one that it closed, reused by each request the connection carries.
///
/// The request is assembled in place by the connection's own MHD thread, the only one that
/// touches it, and moved out whole to the handler; only the answer, which may come from
/// any thread, is handed over under the lock.
final class ConnectionContext: @unchecked Sendable {
    /// Read and written by the connection's MHD thread only.
    var request = HTTPRequest(method: "", path: "")
    /// The largest body the current request may have (it depends on its path).
    var bodyLimit = 0
    var handled = false

    private struct Answer {
        /// Which of the connection's requests is current. An answer names the request it is
        /// for: one for an earlier request (which shutdown already answered) is dropped.
        var request: UInt64 = 0
        /// With the handler, not answered yet.
        var awaited = false
        var response: HTTPResponse?
        /// Suspended until the answer comes. MHD refuses to stop while any connection is.
        var parked = false
    }
    private let answer = Mutex(Answer())
    /// MHD's connection, used only to resume it.
    let connection: OpaquePointer

    init(connection: OpaquePointer) { self.connection = connection }

    /// The request goes to the handler: returns what its answer must name.
    func awaitAnswer() -> UInt64 {
        answer.withLock { answer in
            answer.awaited = true
            return answer.request
        }
    }

    /// Sets the answer to request `ticket` if that is still the current request and has none
    /// yet, and wakes the connection if it is parked. The first answer wins: a handler
    /// answering after shutdown forced a 503 is ignored.
    @discardableResult
    func respond(_ response: HTTPResponse, to ticket: UInt64) -> Bool {
        let (won, resume) = answer.withLock { answer -> (Bool, Bool) in
            guard answer.request == ticket, answer.awaited else { return (false, false) }
            answer.awaited = false
            answer.response = response
            return (true, answer.parked)
        }
        if resume { MHD_resume_connection(connection) }
        return won
    }

    /// Answers the current request if the handler still owes it an answer (shutdown).
    func respondIfAwaited(_ response: HTTPResponse) {
        guard let ticket = answer.withLock({ $0.awaited ? $0.request : nil }) else { return }
        respond(response, to: ticket)
    }

    var isAwaited: Bool { answer.withLock { $0.awaited } }
    /// Parked, or answered but not yet sent whole: libmicrohttpd reports the request complete
    /// (`finish`) only once the answer is out, and stopping the daemon before that would reset
    /// the connection under it.
    var owesDelivery: Bool { answer.withLock { $0.parked || $0.response != nil } }

    /// The answer, once it has come (the connection is then no longer parked).
    func takeResponse() -> HTTPResponse? {
        answer.withLock { answer -> HTTPResponse? in
            guard let response = answer.response else { return nil }
            answer.parked = false
            return response
        }
    }

    /// Parks the connection unless the answer came meanwhile; then returns it. Under the
    /// lock, so that a responder racing us resumes only after the suspension.
    func parkUnlessAnswered() -> HTTPResponse? {
        answer.withLock { answer -> HTTPResponse? in
            if let response = answer.response { return response }
            answer.parked = true
            MHD_suspend_connection(connection)
            return nil
        }
    }

    /// The request is over (answered, or abandoned by the client): ready for the next one.
    func finish() {
        request = HTTPRequest(method: "", path: "")
        handled = false
        answer.withLock { answer in
            answer.request &+= 1
            answer.awaited = false
            answer.response = nil
            answer.parked = false
        }
    }
}

/// A connection opened or closed: its context is made, or let go.
func connectionNotified(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?,
    socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, code: MHD_ConnectionNotificationCode
) {
    guard let cls, let connection, let socketContext else { return }
    Unmanaged<HTTPServer>.fromOpaque(cls)._withUnsafeGuaranteedRef { server in
        switch code {
        case .CONNECTION_NOTIFY_STARTED:
            let context = ConnectionContext(connection: connection)
            server.opened(context)
            socketContext.pointee = Unmanaged.passRetained(context).toOpaque()
        case .CONNECTION_NOTIFY_CLOSED:
            guard let opaque = socketContext.pointee else { return }
            socketContext.pointee = nil
            server.closed(Unmanaged<ConnectionContext>.fromOpaque(opaque).takeRetainedValue())
        default:
            break
        }
    }
}

func accessHandler(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?,
    version: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>?,
    conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let conCls, let uploadDataSize,
        let opaque = conCls.pointee ?? cmhd_socket_context(connection)
    else { return .NO }
    return Unmanaged<HTTPServer>.fromOpaque(cls)._withUnsafeGuaranteedRef { server in
        Unmanaged<ConnectionContext>.fromOpaque(opaque)._withUnsafeGuaranteedRef { context in
            guard conCls.pointee != nil else {
                // First call: headers only. Answering now would make MHD close the connection.
                conCls.pointee = opaque
                context.request = headers(of: connection, method: method, url: url)
                context.bodyLimit = server.bodyLimit(for: context.request)
                if let length = context.request.headers["content-length"].flatMap(Int.init) {
                    if length > context.bodyLimit {
                        context.request.bodyTooLarge = true
                        // A client that waits for "100 Continue" before sending the body is told
                        // now: otherwise it would be asked for the whole body, to be thrown away.
                        if context.request.headers["expect"]?.lowercased() == "100-continue" {
                            context.handled = true
                            server.refused(413)
                            var refusal = HTTPResponse.error(
                                413, code: "too_large", message: "request body is over the configured limit")
                            refusal.headers["Connection"] = "close"
                            return queue(refusal, on: connection)
                        }
                    } else {
                        // Room for what is announced, up to 64 KiB: a sender that announces a body it
                        // does not send holds no more than that of memory per connection.
                        context.request.body.reserveCapacity(min(length, 64 << 10))
                    }
                }
                return .YES
            }
            return handle(
                connection, context: context, server: server, uploadData: uploadData, uploadDataSize: uploadDataSize)
        }
    }
}

/// A new request with its method, path, headers and query, and room for its body.
private func headers(of connection: OpaquePointer, method: UnsafePointer<CChar>?, url: UnsafePointer<CChar>?)
    -> HTTPRequest
{
    var request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET", path: url.map { String(cString: $0) } ?? "/")
    request.headers.reserve(512)
    withUnsafeMutablePointer(to: &request.headers) { pointer in
        _ = MHD_get_connection_values(connection, .HEADER_KIND, collectValue, pointer)
    }
    withUnsafeMutablePointer(to: &request.query) { pointer in
        _ = MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectValueKeepingCase, pointer)
    }
    return request
}

/// The calls after the first: body chunks, then the end of the request (or the call after
/// a resume), when the request goes to the handler or its answer to the client.
private func handle(
    _ connection: OpaquePointer, context: ConnectionContext, server: HTTPServer, uploadData: UnsafePointer<CChar>?,
    uploadDataSize: UnsafeMutablePointer<Int>
) -> MHD_Result {
    if uploadDataSize.pointee > 0 {
        let count = uploadDataSize.pointee
        if !context.request.bodyTooLarge {
            if context.request.body.count + count > context.bodyLimit {
                context.request.bodyTooLarge = true
                context.request.body = []
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                    context.request.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    // Last call, or the call after a resume: answer if the answer is there.
    if let ready = context.takeResponse() { return queue(ready, on: connection) }
    guard !context.handled else { return .YES }
    context.handled = true
    // Shutting down: the handler would park the connection until an answer that may come
    // after the daemon stops.
    if server.isStopping { return queue(HTTPServer.shuttingDown, on: connection) }

    let ticket = context.awaitAnswer()
    // Moved out, not copied: the context keeps nothing of the request it handed over.
    var request = HTTPRequest(method: "", path: "")
    swap(&request, &context.request)
    // The responder may run on this thread (inside the handler) or later on another one.
    server.handler(request) { response in context.respond(response, to: ticket) }
    // If the answer came synchronously, send it; otherwise park the connection.
    if let response = context.parkUnlessAnswered() { return queue(response, on: connection) }
    return .YES
}

private func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(
            bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    defer { MHD_destroy_response(mhdResponse) }
    if let contentType = response.contentType {
        _ = contentType.withCString { MHD_add_response_header(mhdResponse, "Content-Type", $0) }
    }
    // Explicitly: passing a String where C wants a pointer copies a short one to the heap.
    for (name, value) in response.headers {
        name.withCString { name in value.withCString { value in _ = MHD_add_response_header(mhdResponse, name, value) }
        }
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

/// libmicrohttpd answered a request with `status` by itself (`cmhd_log`).
func refusedByLibrary(cls: UnsafeMutableRawPointer?, status: UInt32) {
    guard let cls else { return }
    Unmanaged<HTTPServer>.fromOpaque(cls)._withUnsafeGuaranteedRef { $0.refused(Int(status)) }
}

func requestCompleted(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    reason: MHD_RequestTerminationCode
) {
    guard let conCls, let opaque = conCls.pointee else { return }
    conCls.pointee = nil
    Unmanaged<ConnectionContext>.fromOpaque(opaque)._withUnsafeGuaranteedRef { $0.finish() }
}

private func collectValue(
    cls: UnsafeMutableRawPointer?, kind: MHD_ValueKind, key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let headers = cls.assumingMemoryBound(to: HTTPHeaders.self)
    let (nameCount, valueCount) = (strlen(key), value.map { strlen($0) } ?? 0)
    key.withMemoryRebound(to: UInt8.self, capacity: nameCount) { name in
        let name = UnsafeBufferPointer(start: name, count: nameCount)
        guard let value else {
            return headers.pointee.add(name: name, value: UnsafeBufferPointer(start: nil, count: 0))
        }
        value.withMemoryRebound(to: UInt8.self, capacity: valueCount) { value in
            headers.pointee.add(name: name, value: UnsafeBufferPointer(start: value, count: valueCount))
        }
    }
    return .YES
}

private func collectValueKeepingCase(
    cls: UnsafeMutableRawPointer?, kind: MHD_ValueKind, key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
) -> MHD_Result {
    guard let cls, let key else { return .YES }
    // libmicrohttpd has turned '+' into ' ' and left the %HH escapes (`cmhd_keep_escapes`).
    func decoded(_ text: UnsafePointer<CChar>) -> String {
        let raw = String(cString: text)
        return raw.contains("%") ? raw.removingPercentEncoding ?? raw : raw
    }
    let values = cls.assumingMemoryBound(to: [String: String].self)
    values.pointee[decoded(key)] = value.map(decoded) ?? ""
    return .YES
}
