// Package corpus reads handlers/testdata/corpus.yaml: real-looking messages and what a
// careful person reads in each. The bot's corpus test (handlers) and the reader's
// (handlers/reader) run the same entries, so both read them through here.
package corpus

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// Entry is one message of the corpus and what must come of it.
type Entry struct {
	Tag    string   `yaml:"tag"`
	Text   string   `yaml:"text"`
	From   string   `yaml:"from"`
	Today  string   `yaml:"today"`
	Before []string `yaml:"before"`
	Setup  []struct {
		From string `yaml:"from"`
		Text string `yaml:"text"`
	} `yaml:"setup"`
	Want struct {
		Ask       bool              `yaml:"ask"`
		Says      string            `yaml:"says"`
		Item      string            `yaml:"item"`
		Values    map[string]string `yaml:"values"`
		Review    string            `yaml:"review"`
		Community string            `yaml:"community"`
		Reason    string            `yaml:"reason"`
		// Away: the userid the office's 请假 puts on leave; Values from and until (ISO).
		Away string `yaml:"away"`
	} `yaml:"want"`
}

// Load reads the corpus at path, failing t when it cannot.
func Load(t testing.TB, path string) []Entry {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []Entry
	if err := yaml.Unmarshal(raw, &entries); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return entries
}
