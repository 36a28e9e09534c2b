package campaign

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Status is where a community stands on one item on a day.
type Status uint8

const (
	StatusNotOpen  Status = iota // nothing filed, window not started
	StatusOpen                   // nothing (or too little) filed, due later
	StatusDueToday               // nothing (or too little) filed, due today
	StatusOverdue                // nothing (or too little) filed after the due date
	StatusFiled                  // filed, no problem, not reviewed by the office
	StatusProblem                // filed, with problems
	StatusPending                // filed, no problem, awaiting the office's review
	StatusApproved               // filed and approved by the office
	StatusReturned               // returned by the office: owed again until re-filed
	StatusExempt                 // excused by the office (免报): not owed, not late
)

// ItemState is the judgement of one item of one community.
type ItemState struct {
	Def      *Def
	Step     *Step // the street's step (shared: read only)
	Status   Status
	Filing   *Filing  // the current filing (nil: none; shared: read only)
	Problems []string // rule problems of the current filing, judged now
	// Review is the office's decision on the current version (reviewed items only).
	Review       string
	ReviewRecord *Review
	// Exemption is the office's excuse (StatusExempt); nil when the item is owed.
	Exemption *Exemption
	// Done: filed, not returned, and enough photos — or excused. Owing: the window is
	// open and it is not done (listed in 哪些社区还没报, nudged). Late: not done after the
	// due date.
	Done, Owing, Late bool
	DaysLate          int32 // days past the due date while not done
	DaysLeft          int32 // days until the due date (negative after it)
	Photos            int32 // KindPhotos: how many were received
}

// CommunityState is the judgement of one community on a day.
type CommunityState struct {
	Name   string
	Record *Record
	Items  []ItemState // one per step, in the street's step order
	// Done counts items done (excused ones included); Problems items filed with
	// problems; Late items late; Returned items the office returned; Exempt items excused.
	Done, Total, Problems, Late, Returned, Exempt int
	// MostDaysLate is how many days its longest-overdue item is late (0: none late).
	MostDaysLate int32
	// Complete: every item done and none with problems.
	Complete bool
	// Phase is the furthest step done (by phase number); zero when none.
	Phase Step
}

// Item returns the state of item (nil when the street does not plan it).
func (c *CommunityState) Item(id Item) *ItemState {
	for i := range c.Items {
		if c.Items[i].Def.ID == id {
			return &c.Items[i]
		}
	}
	return nil
}

// Owes lists the items the community owes now (open and not done), in step order.
func (c *CommunityState) Owes() []*ItemState {
	var out []*ItemState
	for i := range c.Items {
		if c.Items[i].Owing {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// OwesAny reports whether the community owes anything now (Owes without the list).
func (c *CommunityState) OwesAny() bool {
	for i := range c.Items {
		if c.Items[i].Owing {
			return true
		}
	}
	return false
}

// Next is the item whose window opens next for the community (the street's NextStep,
// unless excused): nil when none is still to open.
func (c *CommunityState) Next() *ItemState {
	var next *ItemState
	for i := range c.Items {
		if is := &c.Items[i]; is.Status == StatusNotOpen && (next == nil || is.Step.Start.Before(next.Step.Start)) {
			next = is
		}
	}
	return next
}

// WithProblems lists the items filed with problems.
func (c *CommunityState) WithProblems() []*ItemState {
	var out []*ItemState
	for i := range c.Items {
		if len(c.Items[i].Problems) > 0 {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// Judge says where one community stands on today, from its record (nil: nothing on
// file), the street's rules and steps, and the office's reviews.
func (s *Street) Judge(community string, rec *Record, today Date) CommunityState {
	cs := CommunityState{Name: community, Record: rec, Items: make([]ItemState, 0, len(s.Steps)), Total: len(s.Steps)}
	for i := range s.Steps {
		st := &s.Steps[i]
		def, ok := byID[st.Item]
		if !ok {
			continue
		}
		is := s.judgeItem(community, def, st, rec, today)
		if is.Done {
			cs.Done++
			if st.Phase > cs.Phase.Phase {
				cs.Phase = *st
			}
		}
		if len(is.Problems) > 0 {
			cs.Problems++
		}
		if is.Late {
			cs.Late++
			cs.MostDaysLate = max(cs.MostDaysLate, is.DaysLate)
		}
		if is.Status == StatusReturned {
			cs.Returned++
		}
		if is.Status == StatusExempt {
			cs.Exempt++
		}
		cs.Items = append(cs.Items, is)
	}
	cs.Complete = cs.Done == cs.Total && cs.Problems == 0
	return cs
}

func (s *Street) judgeItem(community string, def *Def, st *Step, rec *Record, today Date) ItemState {
	is := ItemState{Def: def, Step: st, DaysLeft: int32(today.DaysUntil(st.Due))}
	if ex := s.Exempt(community, rec, def.ID); ex != nil {
		// The office's decision settles the item whatever is on file: a filing made
		// anyway stays visible, but nothing about it is owed or wrong.
		is.Exemption, is.Status, is.Done = ex, StatusExempt, true
		is.Filing = rec.Ref(def.ID)
		if def.Kind == KindPhotos && rec != nil {
			is.Photos = int32(rec.Photos)
		}
		return is
	}
	if def.Kind == KindPhotos {
		if rec != nil {
			is.Photos = int32(rec.Photos)
		}
		rule := s.Rules.Photos
		is.Done = is.Photos > 0 && int(is.Photos) >= rule.Min
		if rule.Max > 0 && int(is.Photos) > rule.Max {
			is.Problems = []string{fmt.Sprintf(probTooManyPhotos, is.Photos, rule.Max)}
		}
	} else if f := rec.Ref(def.ID); f != nil {
		is.Filing = f
		is.Problems = s.Problems(def, *f, rec, today)
		is.Done = true
		if def.Review != nil {
			is.Review, is.ReviewRecord = rec.ReviewOf(def.ID)
			if is.Review == ReviewReturned {
				is.Done = false
			}
		}
	}
	switch {
	case is.Review == ReviewReturned:
		is.Status = StatusReturned
	case is.Done && len(is.Problems) > 0:
		is.Status = StatusProblem
	case is.Done && is.Review == ReviewApproved:
		is.Status = StatusApproved
	case is.Done && is.Review == ReviewPending:
		is.Status = StatusPending
	case is.Done:
		is.Status = StatusFiled
	default:
		is.Status = [...]Status{StepNotOpen: StatusNotOpen, StepOpen: StatusOpen, StepDueToday: StatusDueToday,
			StepClosed: StatusOverdue}[st.StateOn(today)]
	}
	if !is.Done {
		is.Owing = st.Open(today)
		if st.Overdue(today) {
			is.Late, is.DaysLate = true, -is.DaysLeft
		}
	}
	return is
}

// StreetState is the judgement of every community of a street on a day.
type StreetState struct {
	Street      *Street
	Today       Date
	Communities []CommunityState // in config order
	// Complete, WithProblems and WithLate count communities.
	Complete, WithProblems, WithLate int
}

// tally counts cs in the street's totals.
func (ss *StreetState) tally(cs *CommunityState) {
	if cs.Complete {
		ss.Complete++
	}
	if cs.Problems > 0 {
		ss.WithProblems++
	}
	if cs.Late > 0 {
		ss.WithLate++
	}
}

// JudgeStreet judges every community of the street from its records (community name →
// record; a community missing from it has nothing on file).
func (s *Street) JudgeStreet(records map[string]*Record, today Date) *StreetState {
	ss := &StreetState{Street: s, Today: today, Communities: make([]CommunityState, len(s.Communities))}
	for i, c := range s.Communities {
		ss.Communities[i] = s.Judge(c.Name, records[c.Name], today)
		ss.tally(&ss.Communities[i])
	}
	return ss
}

// Behind compares two communities by how far behind they are, the one that needs a call
// first: most items late, then the longest overdue, then most items with problems or
// returned, then fewest done. It is the one order every view lists communities in
// when it lists the worst first.
func Behind(a, b *CommunityState) int {
	return cmp.Or(b.Late-a.Late, int(b.MostDaysLate)-int(a.MostDaysLate),
		(b.Problems+b.Returned)-(a.Problems+a.Returned), a.Done-b.Done)
}

// WorstFirst orders communities by Behind, in their given order among equals; cs is
// not changed.
func WorstFirst(cs []*CommunityState) []*CommunityState {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, Behind)
	return out
}

// WorstFirst lists the street's communities by Behind, config order among equals.
func (ss *StreetState) WorstFirst() []*CommunityState {
	out := make([]*CommunityState, len(ss.Communities))
	for i := range ss.Communities {
		out[i] = &ss.Communities[i]
	}
	slices.SortStableFunc(out, Behind)
	return out
}

// StreetBehind orders two streets' states for every district view, the one further
// behind first: the larger share of late communities, then the larger share with
// problems, then the smaller share complete (shares compared exactly, without floats).
func StreetBehind(a, b *StreetState) int {
	share := func(x *StreetState, n int, y *StreetState, m int) int {
		// n/len(x) against m/len(y), as n·len(y) against m·len(x).
		return cmp.Compare(n*len(y.Communities), m*len(x.Communities))
	}
	empty := func(x *StreetState) int {
		if len(x.Communities) == 0 {
			return 1
		}
		return 0
	}
	return cmp.Or(empty(a)-empty(b), share(b, b.WithLate, a, a.WithLate), share(b, b.WithProblems, a, a.WithProblems),
		share(a, a.Complete, b, b.Complete))
}

// StreetsWorstFirst orders streets by StreetBehind, in their given order among equals;
// states is not changed.
func StreetsWorstFirst(states []*StreetState) []*StreetState {
	out := slices.Clone(states)
	slices.SortStableFunc(out, StreetBehind)
	return out
}

// Community returns the state of one community (nil if not in the street).
func (ss *StreetState) Community(name string) *CommunityState {
	for i := range ss.Communities {
		if ss.Communities[i].Name == name {
			return &ss.Communities[i]
		}
	}
	return nil
}

// item returns community i's state of item: at the step's position when the states
// line up with the steps (they always do for a validated plan), else by search.
func (ss *StreetState) item(i int, item Item) *ItemState {
	cs := &ss.Communities[i]
	if pos, ok := ss.Street.index().step[item]; ok && pos < len(cs.Items) && cs.Items[pos].Def.ID == item {
		return &cs.Items[pos]
	}
	return cs.Item(item)
}

// Owing lists the communities that owe item now, in config order.
func (ss *StreetState) Owing(item Item) []*CommunityState {
	var out []*CommunityState
	for i := range ss.Communities {
		if is := ss.item(i, item); is != nil && is.Owing {
			out = append(out, &ss.Communities[i])
		}
	}
	return out
}

// NotDone lists the communities that have not done item, open or not yet, in config order.
func (ss *StreetState) NotDone(item Item) []*CommunityState {
	var out []*CommunityState
	for i := range ss.Communities {
		if is := ss.item(i, item); is != nil && !is.Done {
			out = append(out, &ss.Communities[i])
		}
	}
	return out
}

// ItemTally counts communities by their state on one item.
type ItemTally struct {
	Done, Problems, Owing, Late, Returned, NotOpen, Exempt int
}

// Tally counts the street's communities on item.
func (ss *StreetState) Tally(item Item) ItemTally {
	var t ItemTally
	for i := range ss.Communities {
		is := ss.item(i, item)
		if is == nil {
			continue
		}
		if is.Done {
			t.Done++
		}
		if len(is.Problems) > 0 {
			t.Problems++
		}
		if is.Owing {
			t.Owing++
		}
		if is.Late {
			t.Late++
		}
		if is.Status == StatusReturned {
			t.Returned++
		}
		if is.Status == StatusNotOpen {
			t.NotOpen++
		}
		if is.Status == StatusExempt {
			t.Exempt++
		}
	}
	return t
}

// Memo keeps the last judgement of each street, so judging it again re-judges only the
// communities whose record changed (storage hands out the same *Record for an unchanged
// community) or all of them on a new day. The zero value is ready; it is safe for
// concurrent use, and the states it returns are shared: read only.
type Memo struct {
	mu   sync.Mutex
	last map[string]*StreetState
}

// JudgeStreet is Street.JudgeStreet, reusing what the last call judged of s when the
// record and the day are the same: when no record changed, the last state itself.
func (m *Memo) JudgeStreet(s *Street, records map[string]*Record, today Date) *StreetState {
	m.mu.Lock()
	prev := m.last[s.ID]
	m.mu.Unlock()
	if prev == nil || prev.Street != s || prev.Today != today {
		ss := s.JudgeStreet(records, today)
		m.keep(ss)
		return ss
	}
	if prev.unchanged(records) {
		return prev
	}
	ss := &StreetState{Street: s, Today: today, Communities: make([]CommunityState, len(s.Communities))}
	for i, c := range s.Communities {
		rec := records[c.Name]
		if old := &prev.Communities[i]; old.Record == rec {
			ss.Communities[i] = *old
		} else {
			ss.Communities[i] = s.Judge(c.Name, rec, today)
		}
		ss.tally(&ss.Communities[i])
	}
	m.keep(ss)
	return ss
}

// unchanged reports whether every community's record is the one ss was judged from.
func (ss *StreetState) unchanged(records map[string]*Record) bool {
	for i := range ss.Communities {
		if cs := &ss.Communities[i]; records[cs.Name] != cs.Record {
			return false
		}
	}
	return true
}

func (m *Memo) keep(ss *StreetState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]*StreetState{}
	}
	m.last[ss.Street.ID] = ss
}
