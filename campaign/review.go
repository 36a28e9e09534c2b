package campaign

import "time"

// Review states of a filing the street office reviews (候选人初审, 批复备案).
const (
	ReviewNone     = ""         // nothing filed yet
	ReviewPending  = "pending"  // filed, not reviewed since
	ReviewApproved = "approved" // 初审通过 / 批复
	ReviewReturned = "returned" // 退回, with a reason
)

// Review is the item that records the office's review of i, or "" when i is not reviewed.
func (i Item) Review() Item {
	switch i {
	case ItemCandidates:
		return ReviewCandidates
	case ItemElection:
		return ReviewElection
	}
	return ""
}

// Stamp identifies one version of a filing; a review records the stamp it saw in
// Fields["of"], so re-filing makes the item pending again.
func Stamp(f Filing) string { return f.At.UTC().Format(time.RFC3339Nano) }

// ReviewStatus tells whether the current filing of item was approved, returned or awaits
// review, with the review record when there is one for exactly that version.
func ReviewStatus(cur map[Item]Filing, item Item) (string, *Filing) {
	f, ok := cur[item]
	if !ok {
		return ReviewNone, nil
	}
	rv, ok := cur[item.Review()]
	if !ok || rv.Fields["of"] != Stamp(f) {
		return ReviewPending, nil
	}
	switch rv.Fields["status"] {
	case ReviewApproved, ReviewReturned:
		return rv.Fields["status"], &rv
	}
	return ReviewPending, nil
}
