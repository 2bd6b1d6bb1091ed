import LiaisonCore
import Testing

@Suite("Metrics")
struct MetricsTests {
    @Test("renders counters, gauges and cumulative histograms in Prometheus text format, NaN and infinities spelled its way")
    func render() {
        let registry = MetricsRegistry()
        let ok = registry.counter("x_total", help: "Things.", labels: "outcome=\"ok\"")
        _ = registry.counter("x_total", help: "Things.", labels: "outcome=\"bad\"")
        registry.gauge("depth", help: "Depth.") { 7 }
        registry.gauge("unknown", help: "A read that failed.") { .nan }
        registry.gauge("ratio", help: "Unbounded.", labels: "side=\"high\"") { .infinity }
        registry.gauge("ratio", help: "Unbounded.", labels: "side=\"low\"") { -.infinity }
        let histogram = registry.histogram("lat_seconds", help: "Latency.", histogram: Histogram(bounds: [0.1, 1]))
        ok.increment(by: 3)
        histogram.observe(0.05)
        histogram.observe(0.5)
        histogram.observe(5)
        #expect(
            registry.render() == """
                # HELP x_total Things.
                # TYPE x_total counter
                x_total{outcome="ok"} 3
                x_total{outcome="bad"} 0
                # HELP depth Depth.
                # TYPE depth gauge
                depth 7
                # HELP unknown A read that failed.
                # TYPE unknown gauge
                unknown NaN
                # HELP ratio Unbounded.
                # TYPE ratio gauge
                ratio{side="high"} +Inf
                ratio{side="low"} -Inf
                # HELP lat_seconds Latency.
                # TYPE lat_seconds histogram
                lat_seconds_bucket{le="0.1"} 1
                lat_seconds_bucket{le="1"} 2
                lat_seconds_bucket{le="+Inf"} 3
                lat_seconds_sum 5.55
                lat_seconds_count 3

                """)
    }
}
