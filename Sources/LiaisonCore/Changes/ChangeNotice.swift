/// A change rendered for people in an IM room: a plain body and an HTML body
/// (Matrix `org.matrix.custom.html`), in English or Simplified Chinese.
public struct ChangeNotice: Sendable, Codable, Equatable {
    public var body: String
    public var html: String

    public init(body: String, html: String) {
        self.body = body
        self.html = html
    }
}

/// The languages notices are written in.
public enum NoticeLanguage: String, Sendable, CaseIterable, Codable {
    case en
    case zhCN = "zh-CN"
}

extension ChangeNotice {
    /// - Parameter link: the record's page in the CRM, if known.
    public static func render(_ change: RecordChange, language: NoticeLanguage, link: String?) -> ChangeNotice {
        let words = Words(language)
        let headline = words.headline(change.kind, change.ref.kind)
        var lines = ["\(headline): \(change.name)"]
        var items: [String] = []
        for text in change.changes.compactMap(words.describe) {
            lines.append("• " + text)
            items.append("<li>\(escape(text))</li>")
        }
        let by = change.changedBy.map(words.changedBy)
        if let by { lines.append(by) }
        if let link { lines.append(link) }
        var html = "<p><strong>\(escape(headline))</strong>: \(escape(change.name))</p>"
        if !items.isEmpty { html += "<ul>\(items.joined())</ul>" }
        if let by { html += "<p>\(escape(by))</p>" }
        if let link { html += "<p><a href=\"\(escape(link))\">\(escape(words.open))</a></p>" }
        return ChangeNotice(body: lines.joined(separator: "\n"), html: html)
    }

    /// One line for a digest: `Customer updated: Li Na (email: a@x → b@x)`.
    public static func summary(_ change: RecordChange, language: NoticeLanguage) -> String {
        let words = Words(language)
        let details = change.changes.compactMap(words.describe)
        let head = "\(words.headline(change.kind, change.ref.kind)): \(change.name)"
        let all = details + (change.changedBy.map { [words.changedBy($0)] } ?? [])
        return all.isEmpty ? head : "\(head) (\(all.joined(separator: "; ")))"
    }

    /// Several changes gathered into one notice.
    public static func digest(_ lines: [String], language: NoticeLanguage) -> ChangeNotice {
        let title = language == .en ? "CRM changes (\(lines.count))" : "CRM 变更（\(lines.count) 条）"
        let body = ([title] + lines.map { "• " + $0 }).joined(separator: "\n")
        let html =
            "<p><strong>\(escape(title))</strong></p><ul>" + lines.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
        return ChangeNotice(body: body, html: html)
    }

    /// Escapes text for HTML.
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The words of one language.
private struct Words {
    let language: NoticeLanguage

    init(_ language: NoticeLanguage) { self.language = language }

    var none: String { language == .en ? "(none)" : "（无）" }

    /// `status: assigned → in process`; nil when neither side has a value.
    func describe(_ item: FieldChange) -> String? {
        let name = field(item.field)
        // A value is shown up to 500 characters: a notice is read in a chat, and must fit one
        // Matrix event (64 KiB) however long a description field grows.
        func shown(_ value: String) -> String { value.count > 500 ? value.prefix(500) + "…" : value }
        switch (item.old, item.new) {
        case let (old?, new?): return "\(name): \(shown(old)) → \(shown(new))"
        case let (nil, new?): return "\(name): \(shown(new))"
        case let (old?, nil): return "\(name): \(shown(old)) → \(none)"
        case (nil, nil): return nil
        }
    }
    var open: String { language == .en ? "Open in the CRM" : "在 CRM 中打开" }

    func changedBy(_ user: String) -> String { language == .en ? "by \(user)" : "修改人：\(user)" }

    func headline(_ kind: ChangeKind, _ record: String) -> String {
        let thing = self.record(record)
        switch (language, kind) {
        case (.en, .created): return "New \(thing)"
        case (.en, .deleted): return "\(thing.capitalizedFirst) deleted"
        case (.en, .stage): return "\(thing.capitalizedFirst) moved"
        case (.en, .owner): return "\(thing.capitalizedFirst) has a new owner"
        case (.en, .keyField): return "\(thing.capitalizedFirst) updated"
        case (.zhCN, .created): return "新\(thing)"
        case (.zhCN, .deleted): return "\(thing)已删除"
        case (.zhCN, .stage): return "\(thing)阶段变更"
        case (.zhCN, .owner): return "\(thing)负责人变更"
        case (.zhCN, .keyField): return "\(thing)信息更新"
        }
    }

    func record(_ kind: String) -> String {
        switch (language, kind) {
        case (.en, "lead"): "lead"
        case (.en, "contact"), (.en, "party"): "customer"
        case (.en, _): kind
        case (.zhCN, "lead"): "线索"
        case (.zhCN, "contact"), (.zhCN, "party"): "客户"
        case (.zhCN, _): kind
        }
    }

    func field(_ name: String) -> String {
        guard language == .zhCN else { return name.replacingUnderscores }
        return [
            "name": "姓名", "email": "邮箱", "phone": "电话", "company": "公司", "status": "状态", "stage": "阶段",
            "owner": "负责人", "amount": "金额", "close_date": "预计成交日期",
        ][name] ?? name
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
    fileprivate var replacingUnderscores: String { split(separator: "_").joined(separator: " ") }
}
