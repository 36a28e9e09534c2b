// Package campaign holds the domain of a re-election campaign: the items a community
// files, the roles of the people involved, and the rules filings are checked against.
// It does no I/O.
package campaign

import "time"

// Item names one thing a community must file (or one review the street office makes).
type Item string

// The items a community files, in campaign order (000 §四, §五). Which of them a street
// requires and by when is configuration; how each is typed and checked is code.
const (
	ItemLeadingGroup    Item = "leading_group"    // 成立换届领导小组
	ItemMembers         Item = "members"          // 会员数与总人口
	ItemTraining        Item = "training"         // 换届知识培训
	ItemRepresentatives Item = "representatives"  // 会员代表人数
	ItemPublicity       Item = "publicity"        // 代表名单公示
	ItemCandidates      Item = "candidates"       // 候选人名单
	ItemElection        Item = "election"         // 选举结果
	ItemDuties          Item = "duties"           // 职责落实
	ItemOfficerTraining Item = "officer_training" // 新当选人员培训
	ItemRegulations     Item = "regulations"      // 修订居规民约
	ItemSelfCheck       Item = "selfcheck"        // 自查
	ItemSummary         Item = "summary"          // 总结
	ItemPhotos          Item = "photos"           // 照片

	// Reviews by the street office, stored like filings but never undone by 撤销.
	ReviewCandidates Item = "review.candidates" // 初审
	ReviewElection   Item = "review.election"   // 批复备案
)

// Filing is one thing a person filed for a community: its parsed fields, a one-line
// Chinese summary, the rule violations found, and who sent which raw text when.
type Filing struct {
	Street    string            `json:"street"`
	Community string            `json:"community"`
	Item      Item              `json:"item"`
	Fields    map[string]string `json:"fields,omitempty"`
	Summary   string            `json:"summary"`
	Flags     []string          `json:"flags,omitempty"`
	By        string            `json:"by"`
	At        time.Time         `json:"at"`
	Raw       string            `json:"raw"`
}

// Flagged reports whether the filing broke a rule.
func (f Filing) Flagged() bool { return len(f.Flags) > 0 }

// Role is what a person may do in a street.
type Role string

const (
	RoleSecretary Role = "secretary" // files for one community
	RoleOffice    Role = "office"    // reviews, approves bindings
	RoleLeader    Role = "leader"    // reads
)

// Binding ties a WeCom userid to a role in a street (and a community for secretaries).
type Binding struct {
	UserID     string    `json:"userid"`
	Street     string    `json:"street"`
	Role       Role      `json:"role"`
	Community  string    `json:"community,omitempty"`
	Title      string    `json:"title,omitempty"` // 秘书长, 卫计主任 …
	Name       string    `json:"name,omitempty"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	At         time.Time `json:"at"`
}

// BindingRequest is a pending 绑定 awaiting the office's 同意绑定.
type BindingRequest struct {
	Code    string  `json:"code"` // short, typed by the office
	Binding Binding `json:"binding"`
}
