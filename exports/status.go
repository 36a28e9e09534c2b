// Package exports turns streets' judged states into files for people who do not use the
// bot: an Excel workbook to print and hand on (Workbook), a PNG chart of one street's
// progress to read on a phone (ProgressChart) and one of several streets, a bar each
// (StreetsChart), for a district.
//
// Both render campaign.StreetState, the judgement 进度, the cards, the reminders and the
// dashboard render: they never count progress themselves.
package exports

import (
	"fmt"

	"huanjie/campaign"
)

// stepState is how a table cell or a chart segment shows one item of one community.
type stepState int

const (
	stateNotDue  stepState = iota // not done, not late
	stateFiled                    // done, no problem
	stateFlagged                  // filed with problems
	stateOverdue                  // not done after the due date
	numStates
)

// label is how the state is named on the chart and in the workbook.
func (s stepState) label() string {
	return [...]string{"未到期", "已报", "有问题", "逾期未报"}[s]
}

// stateOf maps the judgement of an item to its cell: a problem first (so a community's
// 有问题 cells are exactly campaign's problem count), then done, then late.
func stateOf(is *campaign.ItemState) stepState {
	switch {
	case len(is.Problems) > 0:
		return stateFlagged
	case is.Done:
		return stateFiled
	case is.Late:
		return stateOverdue
	}
	return stateNotDue
}

// tally counts a community's items by state.
type tally [numStates]int

func tallyOf(cs *campaign.CommunityState) tally {
	var t tally
	for i := range cs.Items {
		t[stateOf(&cs.Items[i])]++
	}
	return t
}

// gridCell is how the workbook's status grid shows one item of one community: a word of
// two or three characters (no symbol: some fonts draw ✅ as a blank) and its look. The
// photo item shows how many photos were received.
func gridCell(is *campaign.ItemState) (string, look) {
	if is == nil {
		return "", lkCentre
	}
	word, l := "已报", look{Align: "center", Border: true, Fill: fillDone}
	switch is.Status {
	case campaign.StatusNotOpen:
		word, l = "未开始", look{Align: "center", Border: true, Colour: textFaint, Size: smallSize}
	case campaign.StatusOpen, campaign.StatusDueToday:
		word, l = "未报", look{Align: "center", Border: true, Colour: textMuted}
	case campaign.StatusOverdue:
		word, l = "逾期", look{Align: "center", Border: true, Fill: fillOverdue, Colour: textOverdue, Bold: true}
	case campaign.StatusProblem:
		word, l = "有问题", look{Align: "center", Border: true, Fill: fillFlagged, Bold: true}
	case campaign.StatusPending:
		word, l = is.Def.Review.Pending, look{Align: "center", Border: true, Fill: fillPending}
	case campaign.StatusApproved:
		word = "通过"
	case campaign.StatusReturned:
		word, l = "退回", look{Align: "center", Border: true, Fill: fillOverdue, Colour: textOverdue, Bold: true}
	case campaign.StatusExempt:
		word, l = "免报", look{Align: "center", Border: true, Colour: textMuted}
	}
	if is.Def.Kind == campaign.KindPhotos && is.Photos > 0 {
		word = fmt.Sprintf("%d 张", is.Photos)
	}
	return word, l
}
