package campaign

import "time"

// Exemption is the street office's decision that a community need not file an item (a
// 会员大会 instead of representatives, say): the item is judged excused, neither owed nor
// late, and the reason is shown wherever the item is.
type Exemption struct {
	Item   Item      `json:"item"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ConfigExemption is an exemption written in the configuration (known before the
// campaign starts); it is judged like one the office typed.
type ConfigExemption struct {
	Community string `yaml:"community"`
	Item      Item   `yaml:"item"`
	Reason    string `yaml:"reason"`
}

// Exempt returns the exemption of item for community: the office's (on the record) or,
// failing that, the configuration's; nil when the item is owed.
func (s *Street) Exempt(community string, rec *Record, item Item) *Exemption {
	if rec != nil {
		if ex := rec.Exemptions[item]; ex != nil {
			return ex
		}
	}
	for i := range s.Exemptions {
		if e := &s.Exemptions[i]; e.Community == community && e.Item == item {
			return &Exemption{Item: item, Reason: e.Reason, By: "config"}
		}
	}
	return nil
}

// Away is a secretary's leave: from From to Until (both inclusive) they are not
// @-mentioned; the community's other secretary, or its head, is nudged instead.
type Away struct {
	UserID string    `json:"userid"`
	Name   string    `json:"name,omitempty"`
	From   Date      `json:"from"`
	Until  Date      `json:"until"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// On reports whether the leave covers day.
func (a Away) On(day Date) bool { return !day.Before(a.From) && !day.After(a.Until) }
