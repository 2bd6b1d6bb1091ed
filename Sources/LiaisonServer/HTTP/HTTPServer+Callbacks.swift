import CMicroHTTPD
import Foundation
import LiaisonConnectors
import Synchronization

// libmicrohttpd's callbacks. They live here, as plain global functions, and are the
// only place that touches MHD connections: the narrow bridge between MHD's threads and
// the Swift handlers.

/// Per-request state, kept in MHD's `con_cls` from the first call of the access handler to
/// the completion notification.
///
/// The request is assembled in place by the connection's own MHD thread, the only one that
/// touches it, and moved out whole to the handler; only the answer, which may come from
/// any thread, is handed over under the lock.
final class ConnectionContext: @unchecked Sendable {
    /// Read by the connection's MHD thread only.
    var request: HTTPRequest
    var handled = false

    private struct Answer {
        var response: HTTPResponse?
        var suspended = false
    }
    private let answer = Mutex(Answer())
    /// MHD's connection, used only to resume it.
    let connection: OpaquePointer
    /// Not retained for each request (a shared count both HTTP threads and the committer
    /// would write). Safe because the server outlives what reaches it: `HTTPServer.stop`
    /// returns only once every parked request has its answer, and `respond` touches the
    /// server only for the first answer.
    unowned(unsafe) let server: HTTPServer

    init(connection: OpaquePointer, server: HTTPServer, request: HTTPRequest) {
        self.connection = connection
        self.server = server
        self.request = request
    }

    /// Sets the answer if none is set yet, and wakes the connection if it is parked.
    /// The first answer wins: a handler answering after shutdown forced a 503 is ignored.
    @discardableResult
    func respond(_ response: HTTPResponse) -> Bool {
        let (won, resume) = answer.withLock { answer -> (Bool, Bool) in
            guard answer.response == nil else { return (false, false) }
            answer.response = response
            return (true, answer.suspended)
        }
        guard won else { return false }
        server.inFlight.subtract(1, ordering: .relaxed)
        if resume { MHD_resume_connection(connection) }
        return true
    }

    /// The answer, if it has come.
    var response: HTTPResponse? { answer.withLock { $0.response } }

    /// Parks the connection unless the answer came meanwhile; then returns it. Under the
    /// lock, so that a responder racing us resumes only after the suspension.
    func parkUnlessAnswered() -> HTTPResponse? {
        answer.withLock { answer -> HTTPResponse? in
            if let response = answer.response { return response }
            answer.suspended = true
            server.parked(self, true)
            MHD_suspend_connection(connection)
            return nil
        }
    }
}

func accessHandler(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?,
    version: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>?,
    conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

    // First call: headers only. Answering now would make MHD close the connection.
    guard let existing = conCls.pointee else {
        var request = HTTPRequest(
            method: method.map { String(cString: $0) } ?? "GET", path: url.map { String(cString: $0) } ?? "/")
        request.headers.reserve(512)
        withUnsafeMutablePointer(to: &request.headers) { pointer in
            _ = MHD_get_connection_values(connection, .HEADER_KIND, collectValue, pointer)
        }
        withUnsafeMutablePointer(to: &request.query) { pointer in
            _ = MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectValueKeepingCase, pointer)
        }
        if let length = request.headers["content-length"].flatMap(Int.init) {
            if length > server.maxBodyBytes {
                request.bodyTooLarge = true
            } else {
                request.body.reserveCapacity(length)
            }
        }
        let context = ConnectionContext(connection: connection, server: server, request: request)
        conCls.pointee = Unmanaged.passRetained(context).toOpaque()
        return .YES
    }
    let context = Unmanaged<ConnectionContext>.fromOpaque(existing).takeUnretainedValue()

    // Body chunks.
    if uploadDataSize.pointee > 0 {
        let count = uploadDataSize.pointee
        if !context.request.bodyTooLarge {
            if context.request.body.count + count > server.maxBodyBytes {
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
    if let ready = context.response {
        server.parked(context, false)
        return queue(ready, on: connection)
    }
    guard !context.handled else { return .YES }
    context.handled = true

    server.inFlight.add(1, ordering: .relaxed)
    // Moved out, not copied: the context keeps nothing of the request it handed over.
    var request = HTTPRequest(method: "", path: "")
    swap(&request, &context.request)
    // The responder may run on this thread (inside the handler) or later on another one.
    server.handler(request) { response in context.respond(response) }
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
    // Explicitly: passing a String where C wants a pointer copies a short one to the heap.
    for (name, value) in response.headers {
        name.withCString { name in value.withCString { value in _ = MHD_add_response_header(mhdResponse, name, value) }
        }
    }
    return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
}

func requestCompleted(
    cls: UnsafeMutableRawPointer?, connection: OpaquePointer?, conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    reason: MHD_RequestTerminationCode
) {
    guard let conCls, let existing = conCls.pointee else { return }
    Unmanaged<ConnectionContext>.fromOpaque(existing).release()
    conCls.pointee = nil
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
    let values = cls.assumingMemoryBound(to: [String: String].self)
    values.pointee[String(cString: key)] = value.map { String(cString: $0) } ?? ""
    return .YES
}
