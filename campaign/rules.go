package campaign

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rules are the checks a street applies; every number comes from configuration
// (000 §二, §五; 002 第三条 for the 5-3-3 make-up).
type Rules struct {
	// MemberShareMin is the least share of the population that must be members (0.05).
	MemberShareMin float64 `yaml:"member_share_min"`
	// RepresentativeBands give the representative count by population, lowest band first.
	RepresentativeBands []Band `yaml:"representative_bands"`
	// PublicityDays is how long the representative list is published (3).
	PublicityDays int `yaml:"publicity_days"`
	// Council is the size or make-up of the elected council.
	Council Council `yaml:"council"`
	// Photos is how many photos, in which format, the summary needs.
	Photos PhotoRule `yaml:"photos"`
}

// Band maps populations up to MaxPopulation (0: no upper bound) to a representative count.
type Band struct {
	MaxPopulation   int `yaml:"max_population"`
	Representatives int `yaml:"representatives"`
}

// Council is either a size range (9–11) or, when Makeup is set, a fixed make-up (5-3-3).
type Council struct {
	Min    int          `yaml:"min"`
	Max    int          `yaml:"max"`
	Makeup []MakeupPart `yaml:"makeup"`
}

// MakeupPart is one group of council members in a fixed make-up, e.g. 五老 × 5.
type MakeupPart struct {
	Name    string   `yaml:"name"`
	Count   int      `yaml:"count"`
	Aliases []string `yaml:"aliases"`
}

// PhotoRule is the photo requirement of the summary (6–10 JPG).
type PhotoRule struct {
	Min    int    `yaml:"min"`
	Max    int    `yaml:"max"`
	Format string `yaml:"format"`
}

// MemberShare returns members/population and the violation, if any.
func (r Rules) MemberShare(members, population int) (share float64, flags []string) {
	if population <= 0 {
		return 0, []string{"总人口必须大于 0"}
	}
	share = float64(members) / float64(population)
	if members > population {
		flags = append(flags, fmt.Sprintf("会员数 %d 超过了总人口 %d，请核对", members, population))
	}
	if share < r.MemberShareMin {
		need := ceilDiv(int(math.Round(r.MemberShareMin*10000))*population, 10000)
		flags = append(flags, fmt.Sprintf("会员占总人口 %s，低于要求的 %s（至少需要 %d 名会员）",
			PercentAgainst(share, r.MemberShareMin), Percent(r.MemberShareMin), need))
	}
	return share, flags
}

// RepresentativesFor returns the representative count the bands give for population.
func (r Rules) RepresentativesFor(population int) int {
	for _, b := range r.RepresentativeBands {
		if b.MaxPopulation == 0 || population <= b.MaxPopulation {
			return b.Representatives
		}
	}
	return 0
}

// CheckRepresentatives compares a filed count with what the population band requires.
func (r Rules) CheckRepresentatives(count, population int) []string {
	want := r.RepresentativesFor(population)
	if want == 0 || count == want {
		return nil
	}
	return []string{fmt.Sprintf("总人口 %d 人对应会员代表 %d 名（%s），报的是 %d 名", population, want, r.BandText(population), count)}
}

// BandText describes the band population falls in, e.g. "1000-2000 人".
func (r Rules) BandText(population int) string {
	low := 0
	for _, b := range r.RepresentativeBands {
		if b.MaxPopulation == 0 {
			return fmt.Sprintf("%d 人以上", low)
		}
		if population <= b.MaxPopulation {
			if low == 0 {
				return fmt.Sprintf("%d 人以下", b.MaxPopulation+1)
			}
			return fmt.Sprintf("%d-%d 人", low, b.MaxPopulation)
		}
		low = b.MaxPopulation + 1
	}
	return ""
}

// PublicityEnd returns the last day of a publicity that starts on start.
func (r Rules) PublicityEnd(start Date) Date { return start.AddDays(r.PublicityDays - 1) }

// HasMakeup reports whether the council follows a fixed make-up rather than a size range.
func (c Council) HasMakeup() bool { return len(c.Makeup) > 0 }

// Describe says the council rule in words: "9-11 人" or "五老 5 人、社会贤达 3 人、村干部 3 人".
func (c Council) Describe() string {
	if !c.HasMakeup() {
		return fmt.Sprintf("%d-%d 人", c.Min, c.Max)
	}
	var parts []string
	for _, p := range c.Makeup {
		parts = append(parts, fmt.Sprintf("%s %d 人", p.Name, p.Count))
	}
	return strings.Join(parts, "、")
}

// Part finds the make-up part a word names (its name or an alias).
func (c Council) Part(word string) (MakeupPart, bool) {
	for _, p := range c.Makeup {
		if word == p.Name {
			return p, true
		}
		for _, a := range p.Aliases {
			if word == a {
				return p, true
			}
		}
	}
	return MakeupPart{}, false
}

// CheckSize checks a council size against the range (or the make-up's total).
func (c Council) CheckSize(size int) []string {
	if c.HasMakeup() {
		total := 0
		for _, p := range c.Makeup {
			total += p.Count
		}
		if size != total {
			return []string{fmt.Sprintf("理事会应为 %d 人（%s），报的是 %d 人", total, c.Describe(), size)}
		}
		return nil
	}
	if size < c.Min || size > c.Max {
		return []string{fmt.Sprintf("理事会应为 %s，报的是 %d 人", c.Describe(), size)}
	}
	return nil
}

// CheckMakeup checks counts per make-up part (by part name).
func (c Council) CheckMakeup(counts map[string]int) []string {
	var flags []string
	for _, p := range c.Makeup {
		if got := counts[p.Name]; got != p.Count {
			flags = append(flags, fmt.Sprintf("%s应为 %d 人，报的是 %d 人", p.Name, p.Count, got))
		}
	}
	return flags
}

// Percent formats a share as "5.2%".
func Percent(f float64) string { return percent(f, 1) }

func percent(f float64, decimals int) string {
	s := strconv.FormatFloat(f*100, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

// PercentAgainst formats a share compared with a threshold so that the printed figure
// falls on the same side of the printed threshold as the real one: 308 of 6200 is 4.97%,
// not 5%, when at least 5% is asked. It rounds to one or two decimals when that keeps the
// side, else cuts toward the real side at two (0.0499999 → 4.99%).
func PercentAgainst(f, threshold float64) string {
	for d := 1; d <= 2; d++ {
		p := math.Pow(10, float64(d))
		if shown, limit := math.Round(f*100*p), math.Round(threshold*100*p); (f < threshold) == (shown < limit) {
			return percent(f, d)
		}
	}
	return strconv.FormatFloat(math.Floor(f*10000)/100, 'f', -1, 64) + "%"
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
