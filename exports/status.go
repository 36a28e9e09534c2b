// Package exports turns a street's filings into files for people who do not use the
// bot: an Excel workbook of every street (Workbook) and a PNG chart of one street's
// progress (ProgressChart) that the webhook can post into its group.
//
// Both read the same state the bot's 进度 command reads and count it the same way: a
// step is 已报 when its filing is there, 有问题 when that filing has flags, 逾期未报
// when it is missing after its due date, and otherwise (missing, not yet due) 未到期.
package exports

import (
	"fmt"

	"huanjie/campaign"
	"huanjie/config"
)

// stepState is where one community stands on one step on a day.
type stepState int

const (
	stateNotDue  stepState = iota // missing, due date not passed
	stateFiled                    // filed, no rule broken
	stateFlagged                  // filed with flags
	stateOverdue                  // missing after the due date
	numStates
)

// label is how the state is named on the chart and in the workbook.
func (s stepState) label() string {
	return [...]string{"未到期", "已报", "有问题", "逾期未报"}[s]
}

// stateOf says where a community stands on st, given its current filings.
func stateOf(st campaign.Step, cur map[campaign.Item]campaign.Filing, today campaign.Date) stepState {
	f, ok := cur[st.Item]
	switch {
	case ok && f.Flagged():
		return stateFlagged
	case ok:
		return stateFiled
	case st.Overdue(today):
		return stateOverdue
	}
	return stateNotDue
}

// tally counts a community's steps by state.
type tally [numStates]int

func tallyOf(s *config.Street, cur map[campaign.Item]campaign.Filing, today campaign.Date) tally {
	var t tally
	for _, st := range s.FilingSteps() {
		t[stateOf(st, cur, today)]++
	}
	return t
}

// filed is how many steps have a filing, flagged or not.
func (t tally) filed() int { return t[stateFiled] + t[stateFlagged] }

// complete reports 全部报齐: every step filed and none flagged (as the 进度 command counts).
func (t tally) complete() bool {
	return t[stateNotDue] == 0 && t[stateOverdue] == 0 && t[stateFlagged] == 0
}

// reviewed pairs a filed item with the street office's review of it.
var reviewed = []struct {
	item, review                    campaign.Item
	pending, approved, returnedWord string
}{
	{campaign.ItemCandidates, campaign.ReviewCandidates, "待初审", "初审已通过", "初审被退回"},
	{campaign.ItemElection, campaign.ReviewElection, "待批复", "已批复备案", "批复被退回"},
}

// reviewText says the review state of item for one community (campaign.ReviewStatus): ""
// when the item is not filed, the pending word when its current version has no review,
// else the decision with its date and, for a return, the reason. returned reports a return.
func reviewText(cur map[campaign.Item]campaign.Filing, i int) (text string, returned bool) {
	r := reviewed[i]
	status, rv := campaign.ReviewStatus(cur, r.item)
	switch status {
	case campaign.ReviewNone:
		return "", false
	case campaign.ReviewApproved:
		return fmt.Sprintf("%s（%s）", r.approved, campaign.DateOf(rv.At)), false
	case campaign.ReviewReturned:
		text = fmt.Sprintf("%s（%s）", r.returnedWord, campaign.DateOf(rv.At))
		if reason := rv.Fields["reason"]; reason != "" {
			text += "：" + reason
		}
		return text, true
	}
	return r.pending, false
}

// photoText says how many photos a community has against the rule: "7 张",
// "2 张（还需 4 张）" below the minimum, "12 张（超过上限 10 张）" above the maximum.
func photoText(n int, rule campaign.PhotoRule) (text string, short bool) {
	switch {
	case n < rule.Min:
		return fmt.Sprintf("%d 张（还需 %d 张）", n, rule.Min-n), true
	case rule.Max > 0 && n > rule.Max:
		return fmt.Sprintf("%d 张（超过上限 %d 张）", n, rule.Max), true
	}
	return fmt.Sprintf("%d 张", n), false
}
