package campaign

import (
	"testing"
	"time"
)

func TestReviewStatus(t *testing.T) {
	filed := time.Date(2021, 7, 3, 10, 0, 0, 123, Shanghai)
	list := Filing{Item: ItemCandidates, At: filed}
	refiled := Filing{Item: ItemCandidates, At: filed.Add(time.Hour)}
	review := func(of Filing, status string) Filing {
		return Filing{Item: ReviewCandidates, Fields: map[string]string{"of": Stamp(of), "status": status}}
	}
	for _, tc := range []struct {
		name string
		cur  map[Item]Filing
		want string
	}{
		{"nothing filed", map[Item]Filing{}, ReviewNone},
		{"filed, not reviewed", map[Item]Filing{ItemCandidates: list}, ReviewPending},
		{"approved", map[Item]Filing{ItemCandidates: list, ReviewCandidates: review(list, ReviewApproved)}, ReviewApproved},
		{"returned", map[Item]Filing{ItemCandidates: list, ReviewCandidates: review(list, ReviewReturned)}, ReviewReturned},
		{"re-filed after approval", map[Item]Filing{ItemCandidates: refiled, ReviewCandidates: review(list, ReviewApproved)}, ReviewPending},
		{"unknown status", map[Item]Filing{ItemCandidates: list, ReviewCandidates: review(list, "maybe")}, ReviewPending},
	} {
		got, rv := ReviewStatus(tc.cur, ItemCandidates)
		if got != tc.want || (rv != nil) != (got == ReviewApproved || got == ReviewReturned) {
			t.Errorf("%s: %q %v, want %q", tc.name, got, rv, tc.want)
		}
	}
	if ItemElection.Review() != ReviewElection || ItemMembers.Review() != "" {
		t.Error("only candidates and election are reviewed")
	}
}
