import CMicroHTTPD
import Foundation
import LiaisonConnectors
import Synchronization

// libmicrohttpd's callbacks. They live here, as plain global functions, and are the
// only place that touches MHD connections: the narrow bridge between MHD's threads and
// the Swift handlers.

/// Per-connection request state, kept in MHD's `con_cls` from the first call of the
/// access handler to the completion notification.
final class ConnectionContext: Sendable {
    struct State {
        var method: String
        var path: String
        var headers: HTTPHeaders
        var query: [String: String] = [:]
        var body: [UInt8] = []
        var tooLarge = false
        var handled = false
        var suspended = false
        var response: HTTPResponse?
    }

    let state: Mutex<State>
    /// MHD's connection, used only to resume it.
    nonisolated(unsafe) let connection: OpaquePointer

    init(connection: OpaquePointer, state: State) {
        self.connection = connection
        self.state = Mutex(state)
    }

    /// Sets the answer if none is set yet, and wakes the connection if it is parked.
    /// The first answer wins: a handler answering after shutdown forced a 503 is ignored.
    @discardableResult
    func respond(_ response: HTTPResponse, server: HTTPServer) -> Bool {
        let (won, resume) = state.withLock { state -> (Bool, Bool) in
            guard state.response == nil else { return (false, false) }
            state.response = response
            return (true, state.suspended)
        }
        guard won else { return false }
        server.inFlight.subtract(1, ordering: .relaxed)
        if resume { MHD_resume_connection(connection) }
        return true
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
        var headers = HTTPHeaders()
        headers.reserve(512)
        withUnsafeMutablePointer(to: &headers) { pointer in
            _ = MHD_get_connection_values(connection, .HEADER_KIND, collectValue, pointer)
        }
        var query: [String: String] = [:]
        withUnsafeMutablePointer(to: &query) { pointer in
            _ = MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectValueKeepingCase, pointer)
        }
        var state = ConnectionContext.State(
            method: method.map { String(cString: $0) } ?? "GET", path: url.map { String(cString: $0) } ?? "/",
            headers: headers, query: query
        )
        if let length = headers["content-length"].flatMap(Int.init) {
            if length > server.maxBodyBytes {
                state.tooLarge = true
            } else {
                state.body.reserveCapacity(length)
            }
        }
        let context = ConnectionContext(connection: connection, state: state)
        conCls.pointee = Unmanaged.passRetained(context).toOpaque()
        return .YES
    }
    let context = Unmanaged<ConnectionContext>.fromOpaque(existing).takeUnretainedValue()

    // Body chunks.
    if uploadDataSize.pointee > 0 {
        let count = uploadDataSize.pointee
        context.state.withLock { state in
            guard !state.tooLarge else { return }
            if state.body.count + count > server.maxBodyBytes {
                state.tooLarge = true
                state.body = []
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                    state.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    // Last call, or the call after a resume: answer if the answer is there.
    let (request, ready) = context.state.withLock { state -> (HTTPRequest?, HTTPResponse?) in
        if let response = state.response { return (nil, response) }
        guard !state.handled else { return (nil, nil) }
        state.handled = true
        return (
            HTTPRequest(
                method: state.method, path: state.path, query: state.query, headers: state.headers, body: state.body,
                bodyTooLarge: state.tooLarge
            ), nil
        )
    }
    if let ready {
        server.parked(context, false)
        return queue(ready, on: connection)
    }
    guard let request else { return .YES }

    server.inFlight.add(1, ordering: .relaxed)
    // The responder may run on this thread (inside the handler) or later on another one.
    server.handler(request) { response in context.respond(response, server: server) }
    // If the answer came synchronously, send it; otherwise park the connection. The
    // suspend happens under the lock, so a responder racing us resumes only after it.
    return context.state.withLock { state -> MHD_Result in
        if let response = state.response { return queue(response, on: connection) }
        state.suspended = true
        server.parked(context, true)
        MHD_suspend_connection(connection)
        return .YES
    }
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
    key.withMemoryRebound(to: UInt8.self, capacity: 1) { name in
        let name = UnsafeBufferPointer(start: name, count: strlen(key))
        guard let value else {
            return headers.pointee.add(name: name, value: UnsafeBufferPointer(start: nil, count: 0))
        }
        value.withMemoryRebound(to: UInt8.self, capacity: 1) { value in
            headers.pointee.add(name: name, value: UnsafeBufferPointer(start: value, count: strlen(value)))
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
