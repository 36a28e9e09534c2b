// Package campaign holds the domain of a re-election campaign: the item table, the plan
// of each street (its communities, people, rules and steps), the filings and reviews,
// and one judgement of where every community stands. It does no I/O.
package campaign

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Filing is one thing a person filed for a community: a typed value, who sent it when,
// and the text as typed. Whether it breaks a rule is not stored: it is judged whenever
// it is shown (Judge), from the current data.
type Filing struct {
	Street    string    `json:"street"`
	Community string    `json:"community"`
	Item      Item      `json:"item"`
	Value     Value     `json:"value"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	// Version tells this filing from every other version of the item (NewVersion);
	// reviews refer to it. Filings stored before it existed are told apart by At.
	Version string `json:"v,omitempty"`
	// Text is a long free text (the summary). Storage keeps it apart from the compact
	// filing, so reading every community's state never reads it.
	Text string `json:"-"`
	// Raw is the message as typed; storage keeps it in the audit trail only.
	Raw string `json:"-"`
}

// Value is what a filing says, typed. Each kind of item uses its own fields.
type Value struct {
	// Date is the day something happened (KindDone, KindElection); zero when not given:
	// then it happened on or before the day it was filed.
	Date       Date   `json:"date,omitzero"`
	Leader     string `json:"leader,omitempty"`     // KindLeadingGroup
	Members    int    `json:"members,omitempty"`    // KindMembers
	Population int    `json:"population,omitempty"` // KindMembers
	Count      int    `json:"count,omitempty"`      // KindRepresentatives
	Assembly   bool   `json:"assembly,omitempty"`   // KindRepresentatives: a 会员大会 instead
	Start      Date   `json:"start,omitzero"`       // KindPublicity
	Roster     Roster `json:"roster,omitzero"`      // KindCandidates, KindElection
	Chars      int    `json:"chars,omitempty"`      // KindText: its length in characters
	Preview    string `json:"preview,omitempty"`    // KindText: its first characters
}

// IsZero reports a value with nothing in it.
func (v Value) IsZero() bool {
	return v.Date.IsZero() && v.Leader == "" && v.Members == 0 && v.Population == 0 && v.Count == 0 && !v.Assembly &&
		v.Start.IsZero() && v.Roster.IsZero() && v.Chars == 0 && v.Preview == ""
}

// Roster lists office holders or candidates.
type Roster struct {
	President        []string       `json:"president,omitempty"`
	VicePresidents   []string       `json:"vice_president,omitempty"`
	SecretaryGeneral []string       `json:"secretary_general,omitempty"`
	DeputySecretary  []string       `json:"deputy_secretary_general,omitempty"`
	Council          []string       `json:"council,omitempty"`      // named council members
	CouncilSize      int            `json:"council_size,omitempty"` // a size typed as a number
	Makeup           map[string]int `json:"makeup,omitempty"`       // counts per make-up part
}

// IsZero reports an empty roster.
func (r Roster) IsZero() bool {
	return len(r.President)+len(r.VicePresidents)+len(r.SecretaryGeneral)+len(r.DeputySecretary)+
		len(r.Council)+len(r.Makeup) == 0 && r.CouncilSize == 0
}

// Size is the council's size: typed, the make-up's total, or the names listed.
func (r Roster) Size() int {
	if r.CouncilSize > 0 {
		return r.CouncilSize
	}
	if len(r.Makeup) > 0 {
		n := 0
		for _, c := range r.Makeup {
			n += c
		}
		return n
	}
	return len(r.Council)
}

// Stamp identifies one version of a filing: a review records the stamp it saw, so a
// re-filed item is pending again, even when filed again within the same instant.
func (f Filing) Stamp() string {
	if f.Version != "" {
		return f.Version
	}
	return f.At.UTC().Format(time.RFC3339Nano)
}

// NewVersion makes a version for a filing made at at: the time, then random bits, so
// versions made by several replicas in the same instant still differ.
func NewVersion(at time.Time) string {
	return at.UTC().Format("20060102T150405.000000000") + "-" + strconv.FormatUint(rand.Uint64(), 36)
}

// Review is the street office's decision on one version of a filing.
type Review struct {
	Item   Item      `json:"item"` // the reviewed item (candidates, election)
	Of     string    `json:"of"`   // the Stamp of the version reviewed
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Review statuses. A filing of a reviewed item with no review of its version is pending.
const (
	ReviewNone     = ""         // nothing filed
	ReviewPending  = "pending"  // filed, this version not reviewed yet
	ReviewApproved = "approved" // 初审通过 / 批复
	ReviewReturned = "returned" // 退回, with a reason
)

// Record is everything a community has on file: the current filing of each item, the
// office's reviews of the versions it saw, how many photos were received, and the items
// the office excused it from.
type Record struct {
	Filings    map[Item]*Filing
	Reviews    []Review // any order; the latest of an item's current version counts
	Photos     int
	Exemptions map[Item]*Exemption // nil: none
}

// With returns a copy of r (nil: an empty record) with f as the current filing of its
// item: everything else on file (reviews, photos, exemptions) is kept, so the copy is
// judged as the record will read once f is stored. r is not modified; the copy shares
// its read-only parts.
func (r *Record) With(f Filing) *Record {
	var out Record
	if r != nil {
		out = *r // every field, so one added later is not dropped
	}
	out.Filings = make(map[Item]*Filing, len(out.Filings)+1)
	if r != nil {
		for k, v := range r.Filings {
			out.Filings[k] = v
		}
	}
	out.Filings[f.Item] = &f
	return &out
}

// ReviewOf returns the office's decision on the current version of item: its status and
// the review (nil while pending or when nothing is filed).
func (r *Record) ReviewOf(item Item) (string, *Review) {
	if r == nil {
		return ReviewNone, nil
	}
	f, ok := r.Filings[item]
	if !ok {
		return ReviewNone, nil
	}
	stamp := f.Stamp()
	var found *Review
	for i := range r.Reviews {
		rv := &r.Reviews[i]
		if rv.Item == item && rv.Of == stamp && (found == nil || rv.At.After(found.At)) {
			found = rv
		}
	}
	if found == nil || (found.Status != ReviewApproved && found.Status != ReviewReturned) {
		return ReviewPending, nil
	}
	return found.Status, found
}

// Filing returns the current filing of item.
func (r *Record) Filing(item Item) (Filing, bool) {
	if f := r.Ref(item); f != nil {
		return *f, true
	}
	return Filing{}, false
}

// Ref returns the current filing of item without copying it (nil when none); it must
// not be modified.
func (r *Record) Ref(item Item) *Filing {
	if r == nil {
		return nil
	}
	return r.Filings[item]
}

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
