package campaign

// Step is one filing a street expects from every community, in the phase it belongs to,
// with its window: it may be filed from Start and is due on Due (both inclusive).
type Step struct {
	Item  Item   `yaml:"item"`
	Phase int    `yaml:"phase"`
	Name  string `yaml:"name"` // the phase as the plan names it, e.g. 夯实会员队伍
	Start Date   `yaml:"start"`
	Due   Date   `yaml:"due"`
}

// itemLabels are what each item is called when people talk about it.
var itemLabels = map[Item]string{
	ItemLeadingGroup:    "成立领导小组",
	ItemMembers:         "会员数和总人口",
	ItemTraining:        "换届知识培训",
	ItemRepresentatives: "会员代表人数",
	ItemPublicity:       "代表名单公示",
	ItemCandidates:      "候选人名单",
	ItemElection:        "选举结果",
	ItemDuties:          "职责落实",
	ItemOfficerTraining: "新当选人员培训",
	ItemRegulations:     "修订居规民约",
	ItemSelfCheck:       "自查",
	ItemSummary:         "换届总结",
	ItemPhotos:          "换届照片",
	ReviewCandidates:    "候选人初审",
	ReviewElection:      "批复备案",
}

// Label is the Chinese name of an item.
func (i Item) Label() string {
	if l, ok := itemLabels[i]; ok {
		return l
	}
	return string(i)
}

// Known reports whether i is an item this program knows how to take.
func (i Item) Known() bool { _, ok := itemLabels[i]; return ok }

// Open reports whether the step's window has started on day.
func (s Step) Open(day Date) bool { return s.Start.IsZero() || !day.Before(s.Start) }

// Overdue reports whether day is past the step's due date.
func (s Step) Overdue(day Date) bool { return !s.Due.IsZero() && day.After(s.Due) }
