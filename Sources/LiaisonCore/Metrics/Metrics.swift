import Synchronization

/// A monotonically increasing count, cheap enough for the ingest hot path.
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    public init() {}
    public func increment(by amount: Int = 1) { storage.add(amount, ordering: .relaxed) }
    public var value: Int { storage.load(ordering: .relaxed) }
}

/// A distribution over fixed buckets (upper bounds, in seconds), as Prometheus histograms.
public final class Histogram: Sendable {
    public let bounds: [Double]
    private struct State {
        var counts: [Int]
        var sum: Double = 0
        var count = 0
    }
    private let state: Mutex<State>

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        state = Mutex(State(counts: Array(repeating: 0, count: bounds.count)))
    }

    /// Latency buckets from 0.5 ms to 10 s.
    public static func latency() -> Histogram {
        Histogram(bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    }

    public func observe(_ value: Double) {
        let index = bounds.firstIndex { value <= $0 }
        state.withLock { state in
            if let index { state.counts[index] += 1 }
            state.sum += value
            state.count += 1
        }
    }

    public func observe(_ duration: Duration) { observe(duration.seconds) }

    /// Cumulative counts per bound, the sum and the total count.
    public var snapshot: (cumulative: [Int], sum: Double, count: Int) {
        state.withLock { state in
            var running = 0
            let cumulative = state.counts.map { count -> Int in
                running += count
                return running
            }
            return (cumulative, state.sum, state.count)
        }
    }
}

/// Named metrics and their Prometheus text rendering. Metrics are registered once at
/// start-up; gauges read their value when scraped.
public final class MetricsRegistry: Sendable {
    private enum Metric {
        case counter(Counter)
        case gauge(@Sendable () -> Double)
        case histogram(Histogram)
    }
    private struct Family {
        var help: String
        var type: String
        var series: [(labels: String, metric: Metric)]
    }
    private let families = Mutex<[(name: String, family: Family)]>([])

    public init() {}

    /// A counter; `labels` like `reason="bad_signature"`. `counter` registers one that
    /// already counts (kept by a lower layer).
    @discardableResult
    public func counter(_ name: String, help: String, labels: String = "", _ counter: Counter = Counter()) -> Counter {
        add(name, help: help, type: "counter", labels: labels, metric: .counter(counter))
        return counter
    }

    public func histogram(_ name: String, help: String, labels: String = "", histogram: Histogram = .latency())
        -> Histogram
    {
        add(name, help: help, type: "histogram", labels: labels, metric: .histogram(histogram))
        return histogram
    }

    public func gauge(_ name: String, help: String, labels: String = "", read: @escaping @Sendable () -> Double) {
        add(name, help: help, type: "gauge", labels: labels, metric: .gauge(read))
    }

    private func add(_ name: String, help: String, type: String, labels: String, metric: Metric) {
        families.withLock { families in
            if let index = families.firstIndex(where: { $0.name == name }) {
                families[index].family.series.append((labels, metric))
            } else {
                families.append((name, Family(help: help, type: type, series: [(labels, metric)])))
            }
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for (name, family) in snapshot {
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type)\n"
            for (labels, metric) in family.series {
                let braced = labels.isEmpty ? "" : "{\(labels)}"
                switch metric {
                case .counter(let counter):
                    out += "\(name)\(braced) \(counter.value)\n"
                case .gauge(let read):
                    out += "\(name)\(braced) \(Self.number(read()))\n"
                case .histogram(let histogram):
                    let (cumulative, sum, count) = histogram.snapshot
                    let prefix = labels.isEmpty ? "" : "\(labels),"
                    for (bound, running) in zip(histogram.bounds, cumulative) {
                        out += "\(name)_bucket{\(prefix)le=\"\(Self.number(bound))\"} \(running)\n"
                    }
                    out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(count)\n"
                    out += "\(name)_sum\(braced) \(Self.number(sum))\n\(name)_count\(braced) \(count)\n"
                }
            }
        }
        return out
    }

    /// As the exposition format spells numbers: `NaN`, `+Inf` and `-Inf` where Swift writes `nan` and `inf`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    /// One call of `components` (a 128-bit division), not two: the ingest path observes a
    /// duration per request.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
