import Foundation

/// A CRM record as a change event carries it, in canonical fields:
/// `name`, `email`, `phone`, `company`, `title`, `status`, `stage`, `amount`, `owner`,
/// `close_date`. Absent or empty values are left out.
/// The canonical field a connector sets to the user who made the change; it is shown,
/// never compared.
public let changedByField = "changed_by"

public struct CRMRecord: Sendable, Hashable {
    public var ref: SystemRef
    public var fields: [String: String]
    public var deleted: Bool
    /// When the CRM says the record was in this state (its event's time), if it says: a
    /// redelivery that comes late carries an older state, which is history, not news.
    public var observedAt: Date?

    public init(ref: SystemRef, fields: [String: String], deleted: Bool = false, observedAt: Date? = nil) {
        self.ref = ref
        self.fields = fields.filter { !$0.value.isEmpty }
        self.deleted = deleted
        self.observedAt = observedAt
    }

    /// How people call the record in a notice.
    public var displayName: String {
        fields["name"] ?? fields["company"] ?? fields["email"] ?? "\(ref.kind) \(ref.id)"
    }
}

/// What kind of change a notice is about, in the order that decides a notice's headline.
public enum ChangeKind: String, Sendable, Codable, CaseIterable, Comparable {
    case created
    case deleted
    case stage
    case owner
    case keyField = "key_field"

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: ChangeKind, rhs: ChangeKind) -> Bool { lhs.rank < rhs.rank }
}

/// One field's old and new value.
public struct FieldChange: Sendable, Codable, Hashable {
    public var field: String
    public var old: String?
    public var new: String?

    public init(field: String, old: String?, new: String?) {
        self.field = field
        self.old = old
        self.new = new
    }
}

/// A change worth telling people about: its kind, the fields that moved, the record.
public struct RecordChange: Sendable, Codable, Hashable {
    public var ref: SystemRef
    public var kind: ChangeKind
    public var name: String
    public var changes: [FieldChange]
    /// The record's owner field as it is now (who is told about it).
    public var owners: [String]
    /// Who made the change, when the CRM says (Tryton's `write_uid`; BottleCRM's webhooks
    /// do not name the user).
    public var changedBy: String?

    /// Every kind the change is: a stage move that also hands the record over is a stage
    /// and an owner change (`kind` is the first of them).
    public var kinds: Set<ChangeKind> {
        guard kind != .created && kind != .deleted else { return [kind] }
        return Set(changes.compactMap { ChangeDetector.kind(of: $0.field) }).union([kind])
    }

    public init(
        ref: SystemRef, kind: ChangeKind, name: String, changes: [FieldChange], owners: [String] = [],
        changedBy: String? = nil
    ) {
        self.ref = ref
        self.kind = kind
        self.name = name
        self.changes = changes
        self.owners = owners
        self.changedBy = changedBy
    }
}
