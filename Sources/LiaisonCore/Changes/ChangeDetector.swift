/// Compares a record with its last known snapshot and says what changed that people
/// care about. Pure: the pipeline gives it both sides.
///
///     ChangeDetector.detect(previous: ["status": "new"], record: lead)  // stage: new → in process
public enum ChangeDetector {
    /// Fields whose change moves a record along the funnel.
    public static let stageFields: Set<String> = ["status", "stage"]
    public static let ownerFields: Set<String> = ["owner"]
    /// Fields that identify or value the customer.
    public static let keyFields: Set<String> = ["name", "email", "phone", "company", "amount", "close_date"]

    /// The kind of change a watched field's change is; nil for fields nobody watches.
    public static func kind(of field: String) -> ChangeKind? {
        if stageFields.contains(field) { return .stage }
        if ownerFields.contains(field) { return .owner }
        return keyFields.contains(field) ? .keyField : nil
    }

    /// - Parameters:
    ///   - previous: the last snapshot's fields, or nil when the record was never seen.
    ///   - created: the CRM says the record is new (a `*.created` event).
    /// - Returns: nil when nothing that matters changed, when an update is the first
    ///   sight of a record (there is nothing to compare with: it becomes the baseline), or
    ///   when a deletion is of a record the hub never knew alive (a first poll reading
    ///   archived records, a deletion seen again): nobody was told it existed.
    public static func detect(previous: [String: String]?, created: Bool, record: CRMRecord) -> RecordChange? {
        var change = classify(previous: previous, created: created, record: record)
        change?.owners = [record.fields["owner"] ?? previous?["owner"]].compactMap { $0 }
        change?.changedBy = record.fields[changedByField]
        return change
    }

    private static func classify(previous: [String: String]?, created: Bool, record: CRMRecord) -> RecordChange? {
        if record.deleted {
            guard let previous else { return nil }
            // A deletion often carries nothing but the id: the name is the last one known.
            return RecordChange(
                ref: record.ref, kind: .deleted,
                name: record.fields.isEmpty
                    ? CRMRecord(ref: record.ref, fields: previous).displayName : record.displayName,
                changes: [])
        }
        guard let previous else {
            guard created else { return nil }
            let shown = record.fields.keys.filter {
                stageFields.contains($0) || ownerFields.contains($0) || keyFields.contains($0)
            }
            return RecordChange(
                ref: record.ref, kind: .created, name: record.displayName,
                changes: shown.sorted().map { FieldChange(field: $0, old: nil, new: record.fields[$0]) }
            )
        }
        let watched = stageFields.union(ownerFields).union(keyFields)
        let changes = watched.sorted().compactMap { field -> FieldChange? in
            let old = previous[field]
            let new = record.fields[field]
            return old == new ? nil : FieldChange(field: field, old: old, new: new)
        }
        // The first kind among the fields that changed (a stage move before a hand-over).
        guard let kind = changes.compactMap({ Self.kind(of: $0.field) }).min() else { return nil }
        return RecordChange(ref: record.ref, kind: kind, name: record.displayName, changes: changes)
    }
}
