package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"huanjie/campaign"
)

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l  Limits
		ok bool
	}{
		{DefaultLimits, true},
		{Limits{History: 5, Undo: 4, Audit: MinAudit}, true},
		{Limits{History: 5, Undo: 5, Audit: MinAudit}, false}, // an undo could find no value before
		{Limits{History: 1, Undo: 0, Audit: MinAudit}, false},
		{Limits{History: 50, Undo: 20, Audit: MinAudit - 1}, false},
	} {
		if err := tc.l.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.l, err)
		}
	}
}

// TestHistoryAndUndoAreCapped: with 40 filings of one item, the history keeps the newest
// History of them, 撤销 goes back Undo steps, each to the value filed before.
func TestHistoryAndUndoAreCapped(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := ctxT(t)
			r := b.open(t)
			r.limits = Limits{History: 5, Undo: 3, Audit: MinAudit}
			for i := 1; i <= 40; i++ {
				if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, fmt.Sprint(i), t0)); err != nil {
					t.Fatal(err)
				}
			}
			hist, err := r.History(ctx, street, "大辛", campaign.ItemMembers, 0)
			if err != nil || !slices.Equal(totals(hist), []string{"40", "39", "38", "37", "36"}) {
				t.Fatalf("history = %v, %v", totals(hist), err)
			}
			for _, want := range []string{"39", "38", "37"} {
				_, cur, err := r.Undo(ctx, street, "大辛", "sec", "", t0)
				if err != nil || cur == nil || total(*cur) != want {
					t.Fatalf("undo: current %v, %v; want %s", cur, err, want)
				}
			}
			if _, _, err := r.Undo(ctx, street, "大辛", "sec", "", t0); !errors.Is(err, ErrNothingToUndo) {
				t.Fatalf("a 4th undo: %v, want ErrNothingToUndo", err)
			}
			if n, _ := r.c.LLen(ctx, r.k.undo(street, "大辛")).Result(); n != 0 {
				t.Errorf("undo list holds %d", n)
			}
			// The audit trail still has every filing.

			events, _ := r.Events(ctx, street, 0)
			if len(events) != 43 {
				t.Errorf("%d events, want 40 filings and 3 undos", len(events))
			}
		})
	}
}

// TestTrimmedVersionsLeaveTheirTexts: a long text (a 总结) is kept per version; the
// versions trimmed from the history take their texts with them.
func TestTrimmedVersionsLeaveTheirTexts(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := ctxT(t)
			r := b.open(t)
			r.limits = Limits{History: 3, Undo: 2, Audit: MinAudit}
			var saved []campaign.Filing
			for i := range 8 {
				at := t0.Add(time.Duration(i) * time.Minute)
				f := campaign.Filing{Street: street, Community: "大辛", Item: campaign.ItemSummary, Version: campaign.NewVersion(at),
					Text: fmt.Sprintf("第 %d 版总结", i), By: "sec", At: at, Raw: "总结"}
				if err := r.Save(ctx, f); err != nil {
					t.Fatal(err)
				}
				saved = append(saved, f)
			}
			if n, _ := r.c.HLen(ctx, r.k.text(street, "大辛")).Result(); n != 3 {
				t.Errorf("%d texts kept, want the 3 versions in the history", n)
			}
			for i, f := range saved {
				got, err := r.Text(ctx, f)
				want := ""
				if i >= 5 {
					want = fmt.Sprintf("第 %d 版总结", i)
				}
				if err != nil || got != want {
					t.Errorf("text of version %d = %q, %v; want %q", i, got, err, want)
				}
			}
		})
	}
}

// TestAuditArchive: beyond the limit, the oldest events move to the archive file, in
// order and complete; the newest stay in Redis; nothing is deleted that was not
// written to the archive first.
func TestAuditArchive(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := ctxT(t)
			r := b.open(t)
			r.limits.Audit = 10 // below MinAudit, to keep the test small
			for i := 1; i <= 1234; i++ {
				if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))); err != nil {
					t.Fatal(err)
				}
			}
			all, _ := r.Events(ctx, street, 0)
			slices.Reverse(all) // oldest first

			// An archive folder that cannot be written: nothing leaves Redis.
			blocked := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(blocked, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := r.ArchiveEvents(ctx, street, blocked); err == nil {
				t.Fatal("archived into a folder that is a file")
			}
			if n, _ := r.c.XLen(ctx, r.k.log(street)).Result(); n != 1234 {
				t.Fatalf("a failed archive removed events: %d left", n)
			}

			dir := t.TempDir()
			n, err := r.ArchiveEvents(ctx, street, dir)
			if err != nil || n != 1224 {
				t.Fatalf("archived %d, %v; want 1224", n, err)
			}
			if n, err := r.ArchiveEvents(ctx, street, dir); err != nil || n != 0 {
				t.Fatalf("archiving again moved %d, %v", n, err)
			}
			kept, _ := r.Events(ctx, street, 0)
			slices.Reverse(kept)
			archived, err := ReadArchivedEvents(dir, street)
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, append(archived, kept...)) != mustJSON(t, all) {
				t.Errorf("archive (%d) + Redis (%d) differ from the events before", len(archived), len(kept))
			}
			if len(kept) != 10 || total(*kept[9].Filing) != "1234" {
				t.Errorf("Redis keeps %d events, the newest %v", len(kept), kept[len(kept)-1].Filing)
			}
		})
	}
}
