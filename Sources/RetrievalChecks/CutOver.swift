/// When a new model version becomes current: only if its top-3 on the checks is not worse than
/// the current version's by more than `margin` checks (default 0: not worse at all). Without
/// checks, or without a way to score the current version here, it becomes current as before.
package struct CutOverGate: Sendable, Equatable {
    package var margin: Int
    package init(margin: Int = 0) { self.margin = margin }
}

/// What the gate decided for a new model version, with both scores: `sync` prints it, the log,
/// the page and `status` say it.
package struct CutOverDecision: Sendable, Codable, Equatable {
    /// The new version's id in the store (`faqsync versions set ID --force`).
    package var candidateVersionID: Int64?
    package var candidateModel: String
    package var currentModel: String
    package var candidateScore: CheckReport.Score?
    package var currentScore: CheckReport.Score?
    package var margin: Int
    package var madeCurrent: Bool
    package var reason: String

    package init(candidateVersionID: Int64? = nil, candidateModel: String, currentModel: String, candidateScore: CheckReport.Score? = nil, currentScore: CheckReport.Score? = nil,
                 margin: Int, madeCurrent: Bool, reason: String) {
        self.candidateVersionID = candidateVersionID
        self.candidateModel = candidateModel
        self.currentModel = currentModel
        self.candidateScore = candidateScore
        self.currentScore = currentScore
        self.margin = margin
        self.madeCurrent = madeCurrent
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case candidateVersionID = "candidate_version_id", candidateModel = "candidate_model", currentModel = "current_model", candidateScore = "candidate_score"
        case currentScore = "current_score", margin, madeCurrent = "made_current", reason
    }
}
