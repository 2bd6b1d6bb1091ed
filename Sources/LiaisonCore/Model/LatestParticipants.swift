/// What a batch of events last said about each participant: said again, it is nothing
/// new; said differently (even back to an earlier word), the new word is what counts.
///
/// The values sit in an array found by reference and are compared where they lie: reading
/// a dictionary's value to compare would copy it out, every string of it retained.
public struct LatestParticipants {
    private var said: [Participant] = []
    private var index: [SystemRef: Int] = [:]

    public init() {}

    /// Records `participant`; false if it is what was last said about them.
    public mutating func update(_ participant: Participant) -> Bool {
        guard let position = index[participant.ref] else {
            index[participant.ref] = said.count
            said.append(participant)
            return true
        }
        guard said[position] != participant else { return false }
        said[position] = participant
        return true
    }

    /// The role last said for `ref`, if anything was.
    public func role(of ref: SystemRef) -> ParticipantRole? { index[ref].map { said[$0].role } }
}
