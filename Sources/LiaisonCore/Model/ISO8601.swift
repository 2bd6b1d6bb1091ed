import Foundation

/// RFC 3339 timestamps, parsed and printed without ICU: `ISO8601DateFormatter` builds
/// ICU calendars behind a global lock, which costs more than the rest of an ingest.
public enum ISO8601 {
    /// Parses `2026-11-24T10:00:00Z`, with optional fractional seconds and a `±HH:MM`
    /// offset (a space may stand for `T`). Nil for anything else.
    public static func parse(_ text: String) -> Date? {
        // Read in place: every webhook's timestamp passes here, twice (admission, pipeline).
        var text = text
        return text.withUTF8(parse(utf8:))
    }

    private static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard b.count >= 20 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<(start + length) {
                guard index < b.count, (48...57).contains(b[index]) else { return nil }
                value = value * 10 + Int(b[index] - 48)
            }
            return value
        }
        guard let year = number(0, 4), b[4] == 45, let month = number(5, 2), b[7] == 45, let day = number(8, 2),
            b[10] == 84 || b[10] == 116 || b[10] == 32, let hour = number(11, 2), b[13] == 58,
            let minute = number(14, 2), b[16] == 58, let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, (48...57).contains(b[index]) {
                fraction += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offset = 0
        switch b[index] {
        case 90, 122:  // Z
            index += 1
        case 43, 45:  // + -
            guard let h = number(index + 1, 2), b.count > index + 3, b[index + 3] == 58, let m = number(index + 4, 2)
            else {
                return nil
            }
            offset = (h * 3600 + m * 60) * (b[index] == 43 ? 1 : -1)
            index += 6
        default:
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        guard day <= daysIn(month: month, year: year) else { return nil }
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// The times RFC 3339 can write: years 0001 to 9999 (Unix seconds).
    public static let writable: ClosedRange<Double> = -62_135_596_800...253_402_300_799.999

    /// The nearest time RFC 3339 can write to `unix` seconds.
    public static func writableDate(_ unix: Double) -> Date {
        Date(timeIntervalSince1970: min(max(unix, writable.lowerBound), writable.upperBound))
    }

    /// `2026-11-24T10:00:00.123Z`. A time outside `writable` (a remote clock's nonsense) is
    /// written as the nearest one inside it.
    public static func format(_ date: Date) -> String {
        let unix = writableDate(date.timeIntervalSince1970).timeIntervalSince1970
        let totalMillis = Int((unix * 1000).rounded())
        let millis = ((totalMillis % 1000) + 1000) % 1000
        var seconds = (totalMillis - millis) / 1000
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        seconds -= days * 86_400
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(width - text.count, 0)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):"
            + "\(pad(seconds % 60, 2)).\(pad(millis, 3))Z"
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil-calendar algorithms (public domain), proleptic Gregorian.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
