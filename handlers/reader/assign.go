package reader

import (
	"slices"
	"strconv"
)

// Slot is one count a filing takes: members named by 会员, population by 人口/总人口.
type Slot struct {
	Key    string   // the caller's name for it: "members"
	Labels []string // the words that name it, before or after the number: 会员, 会员数
	// Bare: a number with no label may fill this slot (at most one such number). Give it to
	// the slot the command word names, so 「代表 50」 and 「推选了四十名」 fill the count.
	Bare bool
	// Max: a larger count is no count of this kind (a mistyped number); 0: no bound.
	Max int
}

// Problem is a number a filing cannot take as it is; Why is the Chinese reason.
type Problem struct {
	Number Number
	Why    string
}

// Assignment is how the numbers of a sentence fill a filing's slots.
type Assignment struct {
	Values   map[string]int // slot key → the count, only for certain whole numbers
	Missing  []string       // slot keys no number filled, in slot order
	Problems []Problem      // numbers that fill a slot but cannot be stored: ask back
	Extra    []Number       // labelled numbers no slot takes (「代表 50」 in a members filing)
}

// OK reports whether every slot is filled and nothing needs asking.
func (a Assignment) OK() bool { return len(a.Missing) == 0 && len(a.Problems) == 0 }

// countUnitsOK are the units a count of people may carry; 户 counts households, not
// people (「会员 320户」 is asked back, an unlabelled 「2000户」 is nobody's count).
var countUnitsOK = map[string]bool{"": true, "人": true, "名": true, "位": true, "个": true}

// Assign places numbers into slots by their labels, in any order the sentence gives them:
// 「人口九百，会员三十六人」 and 「会员36 人口900」 fill the same slots. A number is
// placed by its Label, else its LabelAfter (「320名会员」), else, unlabelled, into the
// slot marked Bare. Two different values for one slot, a second unlabelled number, a
// negative, a fraction, a percentage, an approximate or ambiguous number are Problems,
// never a value.
func Assign(nums []Number, slots []Slot) Assignment {
	a := Assignment{Values: map[string]int{}}
	by := map[string]Number{}
	bad := map[string]bool{} // slots with a problem: no value, even if another number agrees
	slotOf := func(label string) int {
		if label == "" {
			return -1
		}
		for i, s := range slots {
			if slices.Contains(s.Labels, label) {
				return i
			}
		}
		return -1
	}
	for _, n := range nums {
		i := slotOf(n.Label)
		if i < 0 {
			i = slotOf(n.LabelAfter)
		}
		if i < 0 {
			if n.Label != "" || n.LabelAfter != "" || (n.Unit != "" && !countUnitsOK[n.Unit]) {
				// Another count (代表 50 in a members filing) or no count at all (5%, 3天).
				a.Extra = append(a.Extra, n)
				continue
			}
			for j, s := range slots {
				if s.Bare {
					i = j
					break
				}
			}
			if i >= 0 {
				if _, taken := by[slots[i].Key]; taken {
					i = -1 // 「会员 320 6200」: the second number is nobody's
				}
			}
		}
		if i < 0 {
			why := n.Why
			if n.Status == Certain {
				why = whyUnplaced(n.Text)
			}
			a.Problems = append(a.Problems, Problem{n, why})
			continue
		}
		key := slots[i].Key
		if why := countProblem(n); why != "" {
			a.Problems = append(a.Problems, Problem{n, why})
			by[key], bad[key] = n, true
			continue
		}
		if v, ok := n.Int(); ok && slots[i].Max > 0 && v > slots[i].Max {
			a.Problems = append(a.Problems, Problem{n, whyTooLarge(n.Text, slots[i].Max)})
			by[key], bad[key] = n, true
			continue
		}
		if prev, ok := by[key]; ok {
			if prev.Value != n.Value || prev.Status != Certain {
				label := n.Label
				if label == "" {
					label = slots[i].Labels[0]
				}
				a.Problems = append(a.Problems, Problem{n, whyTwice(label, prev.Text, n.Text)})
				bad[key] = true
			}
			continue
		}
		by[key] = n
	}
	for _, s := range slots {
		n, ok := by[s.Key]
		if !ok {
			a.Missing = append(a.Missing, s.Key)
			continue
		}
		if v, ok := n.Int(); ok && !bad[s.Key] {
			a.Values[s.Key] = v
		}
	}
	// One reason once: both ends of 「30-40人」 say the same.
	a.Problems = slices.CompactFunc(a.Problems, func(x, y Problem) bool { return x.Why == y.Why })
	return a
}

// countProblem is why n cannot be a count, "" when it can.
func countProblem(n Number) string {
	switch {
	case n.Status != Certain:
		return n.Why
	case n.Negative:
		return whyNegative(n.Text)
	case n.Unit == "%":
		return whyPercent(n.Text)
	case n.Unit == "户":
		return whyHouseholds(n.Text)
	case !countUnitsOK[n.Unit]:
		return whyUnplaced(n.Text)
	}
	if _, ok := n.Int(); !ok {
		if n.Value > 1e9 {
			return whyUnreadable(strconv.FormatFloat(n.Value, 'f', -1, 64))
		}
		return whyFraction(n.Text)
	}
	return ""
}
