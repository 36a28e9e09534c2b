package storage

import (
	"testing"

	"huanjie/campaign"
)

// TestExemptionsAndAway runs on every backend: an exemption is part of the community's
// record and another replica's Records sees it (and its removal) at once; a leave is
// stored, listed and cleared; each write is in the audit trail.
func TestExemptionsAndAway(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := b.open(t)
			ctx := ctxT(t)
			other := NewRedis(r.c, r.k.prefix) // another replica on the same Redis
			if err := r.Save(ctx, filing("凤凰园", campaign.ItemMembers, "45", t0)); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Records(ctx, street); err != nil { // the replica holds a snapshot
				t.Fatal(err)
			}
			ex := campaign.Exemption{Item: campaign.ItemRepresentatives, Reason: "会员大会代替", By: "office", At: t0}
			if err := r.Exempt(ctx, street, "凤凰园", ex, "免报 凤凰园 代表 会员大会代替"); err != nil {
				t.Fatal(err)
			}
			all, err := other.Records(ctx, street)
			if err != nil {
				t.Fatal(err)
			}
			got := all["凤凰园"]
			if got == nil || got.Exemptions[campaign.ItemRepresentatives] == nil || got.Exemptions[campaign.ItemRepresentatives].Reason != "会员大会代替" {
				t.Fatalf("the other replica does not see the exemption: %+v", got)
			}
			if len(got.Filings) != 1 || got.Filings[campaign.ItemMembers] == nil {
				t.Errorf("the exemption is read as a filing: %+v", got.Filings)
			}
			one, err := r.Record(ctx, street, "凤凰园")
			if err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, one) != mustJSON(t, got) {
				t.Errorf("Record %s differs from Records %s", mustJSON(t, one), mustJSON(t, got))
			}
			// 撤销 takes back filings only, never the office's exemption.
			if _, _, err := r.Undo(ctx, street, "凤凰园", "sec", "", t0); err != nil {
				t.Fatal(err)
			}
			if one, _ = r.Record(ctx, street, "凤凰园"); one.Exemptions[campaign.ItemRepresentatives] == nil {
				t.Errorf("撤销 removed the exemption")
			}
			for i, want := range []bool{true, false} {
				ok, err := r.Unexempt(ctx, street, "凤凰园", campaign.ItemRepresentatives, "office", t0, "取消免报 凤凰园 代表")
				if err != nil || ok != want {
					t.Fatalf("Unexempt #%d = %v, %v; want %v", i+1, ok, err, want)
				}
			}
			if all, _ = other.Records(ctx, street); all["凤凰园"].Exemptions != nil {
				t.Errorf("the other replica still sees the exemption: %+v", all["凤凰园"].Exemptions)
			}

			away := campaign.Away{UserID: "cuihong", Name: "崔宏", From: campaign.Date{Year: 2025, Month: 6, Day: 3},
				Until: campaign.Date{Year: 2025, Month: 6, Day: 20}, By: "office", At: t0}
			if err := r.SetAway(ctx, street, away, "请假 崔宏 到6月20日"); err != nil {
				t.Fatal(err)
			}
			bad := away
			bad.Until = campaign.Date{Year: 2025, Month: 6, Day: 1}
			if err := r.SetAway(ctx, street, bad, "请假 崔宏 到6月1日"); err == nil {
				t.Errorf("a leave that ends before it starts was stored")
			}
			list, err := other.Away(ctx, street)
			if err != nil || len(list) != 1 || list[0] != away {
				t.Fatalf("Away = %+v, %v; want %+v", list, err, away)
			}
			for i, want := range []bool{true, false} {
				ok, err := r.ClearAway(ctx, street, "cuihong", "office", t0, "销假 崔宏")
				if err != nil || ok != want {
					t.Fatalf("ClearAway #%d = %v, %v; want %v", i+1, ok, err, want)
				}
			}
			if list, _ = r.Away(ctx, street); len(list) != 0 {
				t.Errorf("still away: %+v", list)
			}
			events, err := r.Events(ctx, street, 0)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				actions = append(actions, e.Action)
			}
			want := []string{ActionBack, ActionAway, ActionUnexempt, ActionUndo, ActionExempt, ActionFile}
			if mustJSON(t, actions) != mustJSON(t, want) {
				t.Errorf("audit trail %v, want %v", actions, want)
			}
		})
	}
}
