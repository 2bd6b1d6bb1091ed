import LiaisonCore
import Testing

@Suite("Change detection")
struct ChangeDetectorTests {
    static let ref = SystemRef(system: "bottlecrm", kind: "lead", id: "l-1")
    static let before = [
        "name": "Li Na", "status": "assigned", "owner": "u-1", "email": "li.na@example.com", "title": "CTO",
    ]

    func record(_ changes: [String: String?], deleted: Bool = false) -> CRMRecord {
        var fields = Self.before
        for (key, value) in changes { fields[key] = value }
        return CRMRecord(ref: Self.ref, fields: fields, deleted: deleted)
    }

    @Test(
        "classifies what moved, stage before owner before key fields",
        arguments: [
            (["status": "in process"], ChangeKind.stage, ["status"]),
            (["owner": "u-2"], .owner, ["owner"]),
            (["owner": "u-2", "status": "converted"], .stage, ["owner", "status"]),
            (["email": "na.li@example.com"], .keyField, ["email"]),
            (["phone": "+8613800138000"], .keyField, ["phone"]),
        ] as [([String: String?], ChangeKind, [String])])
    func classify(changes: [String: String?], kind: ChangeKind, fields: [String]) throws {
        let change = try #require(ChangeDetector.detect(previous: Self.before, created: false, record: record(changes)))
        #expect(change.kind == kind)
        #expect(change.changes.map(\.field) == fields)
        #expect(change.name == "Li Na")
    }

    @Test("an edit that changes nothing watched produces nothing")
    func nothing() {
        #expect(ChangeDetector.detect(previous: Self.before, created: false, record: record([:])) == nil)
        #expect(ChangeDetector.detect(previous: Self.before, created: false, record: record(["title": "CEO"])) == nil)
    }

    @Test("old and new values are kept; a cleared field has no new value")
    func values() throws {
        let change = try #require(
            ChangeDetector.detect(previous: Self.before, created: false, record: record(["email": nil])))
        #expect(change.changes == [FieldChange(field: "email", old: "li.na@example.com", new: nil)])
    }

    @Test("a new record is announced with its watched fields; a first sight of an update is only a baseline")
    func created() throws {
        let change = try #require(ChangeDetector.detect(previous: nil, created: true, record: record([:])))
        #expect(change.kind == .created)
        #expect(change.changes.map(\.field) == ["email", "name", "owner", "status"])
        #expect(ChangeDetector.detect(previous: nil, created: false, record: record(["status": "x"])) == nil)
    }

    @Test("a deletion of a record known alive is announced; of one never seen alive, not")
    func deleted() {
        #expect(
            ChangeDetector.detect(previous: Self.before, created: false, record: record([:], deleted: true))?.kind
                == .deleted)
        // A first poll reading archived records, or a deletion seen again after the first.
        #expect(ChangeDetector.detect(previous: nil, created: false, record: record([:], deleted: true)) == nil)
    }

    @Test("a long value is shown up to 500 characters, so that a notice fits a Matrix event")
    func longValue() throws {
        let change = try #require(
            ChangeDetector.detect(
                previous: Self.before, created: false, record: record(["status": String(repeating: "x", count: 70_000)])))
        let notice = ChangeNotice.render(change, language: .en, link: nil)
        #expect(notice.body.hasSuffix(String(repeating: "x", count: 500) + "…"))
        #expect(notice.body.utf8.count + notice.html.utf8.count < 2_000)
    }

    @Test("notices render in English and Chinese, plain and HTML, with the change and a link")
    func render() throws {
        let change = try #require(
            ChangeDetector.detect(previous: Self.before, created: false, record: record(["status": "in <process>"])))
        let en = ChangeNotice.render(change, language: .en, link: "https://crm/leads/l-1")
        #expect(en.body == "Lead moved: Li Na\n• status: assigned → in <process>\nhttps://crm/leads/l-1")
        #expect(
            en.html
                == #"<p><strong>Lead moved</strong>: Li Na</p><ul><li>status: assigned → in &lt;process&gt;</li></ul><p><a href="https://crm/leads/l-1">Open in the CRM</a></p>"#
        )
        let zh = ChangeNotice.render(change, language: .zhCN, link: nil)
        #expect(zh.body == "线索阶段变更: Li Na\n• 状态: assigned → in <process>")
    }

    @Test("a deletion that carries only the id is named by the last known name")
    func deletionNamed() throws {
        let ref = SystemRef(system: "tryton", kind: "party", id: "8")
        let change = try #require(
            ChangeDetector.detect(
                previous: ["name": "Bob Jr"], created: false, record: CRMRecord(ref: ref, fields: [:], deleted: true)))
        #expect(change.kind == .deleted)
        #expect(change.name == "Bob Jr")
    }

    @Test("who made the change is shown when the CRM says, and never compared")
    func changedBy() throws {
        let ref = SystemRef(system: "tryton", kind: "party", id: "3")
        let record = CRMRecord(ref: ref, fields: ["name": "Bob", "email": "b@x.io", changedByField: "admin"])
        let change = try #require(
            ChangeDetector.detect(
                previous: ["name": "Bob", "email": "a@x.io", changedByField: "alice"], created: false, record: record))
        #expect(change.changedBy == "admin")
        #expect(change.changes.map(\.field) == ["email"])  // the writer alone is no change
        #expect(
            ChangeDetector.detect(
                previous: ["name": "Bob", changedByField: "alice"], created: false,
                record: CRMRecord(ref: ref, fields: ["name": "Bob", changedByField: "admin"])) == nil)
        let en = ChangeNotice.render(change, language: .en, link: nil)
        #expect(en.body.contains("\nby admin"), "\(en.body)")
        #expect(en.html.contains("<p>by admin</p>"))
        #expect(ChangeNotice.render(change, language: .zhCN, link: nil).body.contains("修改人：admin"))
        #expect(ChangeNotice.summary(change, language: .en).hasSuffix("; by admin)"))
    }
}
