package campaign

import (
	"fmt"
	"strings"
)

// Problems judges the current filing of def against the street's rules and the rest of
// the community's record, on today. It is called whenever a filing is shown, so a
// problem disappears as soon as the data that caused it is corrected (a population
// re-filed, the candidates approved) and none is ever frozen at filing time.
func (s *Street) Problems(def *Def, f Filing, rec *Record, today Date) []string {
	switch def.Kind {
	case KindMembers:
		_, flags := s.Rules.MemberShare(f.Value.Members, f.Value.Population)
		return flags
	case KindRepresentatives:
		return s.representativeProblems(f, rec)
	case KindPublicity:
		return s.publicityProblems(f, rec)
	case KindCandidates:
		if m := missingOfficers(f.Value.Roster); len(m) > 0 {
			return []string{fmt.Sprintf(probMissingCandidates, strings.Join(m, "、"))}
		}
	case KindElection:
		return s.electionProblems(f, rec, today)
	case KindDone:
		return s.doneProblems(def, f, today)
	}
	return nil
}

// Population is the community's total population: the last filed figure, else the
// configured one (0 when neither is known).
func (s *Street) Population(community string, rec *Record) int {
	if m, ok := rec.Filing(ItemMembers); ok && m.Value.Population > 0 {
		return m.Value.Population
	}
	if c, ok := s.Community(community); ok {
		return c.Population
	}
	return 0
}

func (s *Street) representativeProblems(f Filing, rec *Record) []string {
	if f.Value.Assembly {
		return nil
	}
	pop := s.Population(f.Community, rec)
	if pop <= 0 {
		return []string{probNoPopulation}
	}
	return s.Rules.CheckRepresentatives(f.Value.Count, pop)
}

// PublicityEnd is the last day of a filed publicity, by the street's current rule.
func (s *Street) PublicityEnd(f Filing) Date { return s.Rules.PublicityEnd(f.Value.Start) }

func (s *Street) publicityProblems(f Filing, rec *Record) []string {
	var out []string
	start := f.Value.Start
	if st, ok := s.Step(ItemPublicity); ok {
		if !st.Start.IsZero() && start.Before(st.Start) {
			out = append(out, fmt.Sprintf(probPublicityEarly, start, st.Start))
		}
		if start.After(st.Due) {
			out = append(out, fmt.Sprintf(probPublicityLate, start, st.Due))
		}
	}
	if e, ok := rec.Filing(ItemElection); ok && !e.Value.Date.IsZero() {
		if end := s.PublicityEnd(f); !e.Value.Date.After(end) {
			out = append(out, fmt.Sprintf(probPublicityAfterElection, start, end, e.Value.Date))
		}
	}
	return out
}

func (s *Street) electionProblems(f Filing, rec *Record, today Date) []string {
	var out []string
	v := f.Value
	if m := missingOfficers(v.Roster); len(m) > 0 {
		out = append(out, fmt.Sprintf(probMissingOfficers, strings.Join(m, "、")))
	}
	council := s.Rules.Council
	switch {
	case council.HasMakeup() && len(v.Roster.Makeup) > 0:
		out = append(out, council.CheckMakeup(v.Roster.Makeup)...)
	case v.Roster.Size() == 0:
		out = append(out, fmt.Sprintf(probNoCouncil, council.Describe()))
	default:
		out = append(out, council.CheckSize(v.Roster.Size())...)
	}
	if v.Date.After(today) {
		out = append(out, fmt.Sprintf(probFuture, v.Date))
	}
	if st, ok := s.Step(ItemElection); ok && ((!st.Start.IsZero() && v.Date.Before(st.Start)) || v.Date.After(st.Due)) {
		out = append(out, fmt.Sprintf(probElectionWindow, st.Start, st.Due, v.Date))
	}
	// An item the office excused (免报) is no precondition: a community that held a
	// 会员大会 has no list to publish, and one excused from 初审 has nothing to approve.
	if _, planned := s.Step(ItemPublicity); planned && s.Exempt(f.Community, rec, ItemPublicity) == nil {
		if p, ok := rec.Filing(ItemPublicity); !ok {
			out = append(out, fmt.Sprintf(probNoPublicity, s.Rules.PublicityDays))
		} else if end := s.PublicityEnd(p); !v.Date.After(end) {
			out = append(out, fmt.Sprintf(probElectionBeforeEnd, end, end.AddDays(1)))
		}
	}
	if _, planned := s.Step(ItemCandidates); planned && s.Exempt(f.Community, rec, ItemCandidates) == nil {
		if status, _ := rec.ReviewOf(ItemCandidates); status != ReviewApproved {
			out = append(out, probCandidatesNotApproved)
		}
	}
	return out
}

func (s *Street) doneProblems(def *Def, f Filing, today Date) []string {
	d := f.Value.Date
	if d.IsZero() {
		return nil
	}
	if d.After(today) {
		return []string{fmt.Sprintf(probFuture, d)}
	}
	if st, ok := s.Step(def.ID); ok && def.Dated && d.After(st.Due) {
		return []string{fmt.Sprintf(probDoneLate, st.Due, d)}
	}
	return nil
}

// missingOfficers names the offices a roster leaves empty among 会长, 副会长, 秘书长.
func missingOfficers(r Roster) []string {
	var out []string
	for _, o := range []struct {
		names []string
		label string
	}{{r.President, OfficePresident}, {r.VicePresidents, OfficeVicePresident}, {r.SecretaryGeneral, OfficeSecretaryGeneral}} {
		if len(o.names) == 0 {
			out = append(out, o.label)
		}
	}
	return out
}
