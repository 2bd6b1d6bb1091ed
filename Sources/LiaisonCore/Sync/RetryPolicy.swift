/// When to try a failed delivery again: exponential backoff with jitter, never sooner
/// than the remote side asked (Retry-After), and a dead letter after `maxAttempts`.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration

    public init(maxAttempts: Int, base: Duration, cap: Duration) {
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
    }

    public init(_ settings: DeliverySettings) {
        self.init(
            maxAttempts: settings.maxAttempts, base: .milliseconds(settings.baseBackoffMilliseconds),
            cap: .milliseconds(settings.maxBackoffMilliseconds)
        )
    }

    /// The wait before the next attempt, or nil when `attempts` used up the budget.
    /// - Parameters:
    ///   - attempts: attempts made so far, including the one that just failed.
    ///   - retryAfter: the remote side's own hint; honoured even above the cap, up to a day
    ///     (`longestHonouredWait`): a hint of years is a fault, not a plan.
    public func delay(
        afterAttempts attempts: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator
    ) -> Duration? {
        guard attempts < maxAttempts else { return nil }
        let exponent = min(max(attempts - 1, 0), 30)
        let ceiling = min(base * (1 << exponent), cap)
        // "Equal" jitter: a random wait between half and all of the step spreads the retries
        // of deliveries that failed together, and never retries at once.
        let ceilingMilliseconds = max(Int64(ceiling / .milliseconds(1)), 1)
        let jittered = Duration.milliseconds(
            Int64.random(in: (ceilingMilliseconds / 2)...ceilingMilliseconds, using: &random))
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, Self.longestHonouredWait))
    }

    /// The longest `Retry-After` followed as given.
    public static let longestHonouredWait = Duration.seconds(86_400)
}
