package events

// Processing statuses of a userProcessingResult (Graph's lifecycleWorkflowProcessingStatus).
// The enum is evolvable: Graph may send members this list does not have yet, and the
// members after StatusUnknownFutureValue reach only requests that ask for them (Prefer:
// include-unknown-enum-members). Keep and compare statuses as the strings Graph sent.
const (
	StatusQueued              = "queued"
	StatusInProgress          = "inProgress"
	StatusCompleted           = "completed"
	StatusCompletedWithErrors = "completedWithErrors"
	StatusCanceled            = "canceled"
	StatusFailed              = "failed"
	StatusUnknownFutureValue  = "unknownFutureValue"
	StatusCanceling           = "canceling"
	StatusQuarantined         = "quarantined"
)

// Statuses lists every processing status Graph documents, in its order.
var Statuses = []string{
	StatusQueued, StatusInProgress, StatusCompleted, StatusCompletedWithErrors, StatusCanceled,
	StatusFailed, StatusUnknownFutureValue, StatusCanceling, StatusQuarantined,
}

// FinalStatuses are the processing statuses after which a result no longer changes.
var FinalStatuses = []string{StatusCompleted, StatusCompletedWithErrors, StatusFailed, StatusCanceled}

// IsFinal reports whether status is one of FinalStatuses. Unknown values are not final:
// a result in a status nobody knows yet keeps being watched.
func IsFinal(status string) bool {
	switch status {
	case StatusCompleted, StatusCompletedWithErrors, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// IsFailure reports whether status says that something went wrong for the user: the
// result failed, or completed with some of its tasks failed.
func IsFailure(status string) bool {
	return status == StatusFailed || status == StatusCompletedWithErrors
}

// IsSuccess reports whether status says that every task of the result completed.
func IsSuccess(status string) bool { return status == StatusCompleted }
