package storage

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/campaign"
)

// The same behaviour suite runs against the real Redis and the embedded store.

func TestStores(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range suite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, b.open(t))
				})
			}
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, r *Redis)
}{
	{"SaveUndoHistory", testSaveUndoHistory},
	{"ReviewsAreNotUndone", testReviewsAreNotUndone},
	{"CurrentAll", testCurrentAll},
	{"Events", testEvents},
	{"ConcurrentSaveAndUndo", testConcurrentSaveAndUndo},
	{"InvalidInput", testInvalidInput},
	{"Dedup", testDedup},
	{"BindingFlow", testBindingFlow},
	{"BindingReplace", testBindingReplace},
	{"BindingExpiry", testBindingExpiry},
	{"BindingCodesUnique", testBindingCodesUnique},
}

const street = "城关街道"

func testSaveUndoHistory(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	const comm = "大辛"
	steps := []struct {
		name       string
		save       string // total of a members filing to save; "" means Undo
		wantUndone string // Undo: total taken back
		wantErr    error
		wantCur    string   // current members total, "" if none
		wantHist   []string // members history totals, newest first
	}{
		{name: "first filing", save: "100", wantCur: "100", wantHist: []string{"100"}},
		{name: "correction", save: "120", wantCur: "120", wantHist: []string{"120", "100"}},
		{name: "undo restores first", wantUndone: "120", wantCur: "100", wantHist: []string{"100"}},
		{name: "undo again leaves nothing", wantUndone: "100", wantCur: "", wantHist: []string{}},
		{name: "nothing left to undo", wantErr: ErrNothingToUndo, wantCur: "", wantHist: []string{}},
		{name: "file after undo", save: "130", wantCur: "130", wantHist: []string{"130"}},
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i) * time.Minute)
		if s.save != "" {
			if err := r.Save(ctx, filing(comm, campaign.ItemMembers, s.save, at), true); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		} else {
			undone, cur, err := r.Undo(ctx, street, comm, "sec-大辛", at)
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: Undo error = %v, want %v", s.name, err, s.wantErr)
			}
			if err == nil {
				if got := undone.Fields["total"]; got != s.wantUndone {
					t.Errorf("%s: undone %q, want %q", s.name, got, s.wantUndone)
				}
				gotCur := ""
				if cur != nil {
					gotCur = cur.Fields["total"]
				}
				if gotCur != s.wantCur {
					t.Errorf("%s: Undo says current is %q, want %q", s.name, gotCur, s.wantCur)
				}
			}
		}
		curAll, err := r.Current(ctx, street, comm)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := curAll[campaign.ItemMembers]
		if got := f.Fields["total"]; got != s.wantCur || ok != (s.wantCur != "") {
			t.Errorf("%s: Current members = %q (present %v), want %q", s.name, got, ok, s.wantCur)
		}
		hist, err := r.History(ctx, street, comm, campaign.ItemMembers, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := totals(hist); !slices.Equal(got, s.wantHist) {
			t.Errorf("%s: History = %v, want %v", s.name, got, s.wantHist)
		}
		if len(hist) > 0 && mustJSON(t, hist[0]) != mustJSON(t, f) {
			t.Errorf("%s: Current %s differs from History head %s", s.name, mustJSON(t, f), mustJSON(t, hist[0]))
		}
	}
	// A full filing round-trips unchanged.
	want := filing(comm, campaign.ItemMembers, "130", t0.Add(5*time.Minute))
	hist, err := r.History(ctx, street, comm, campaign.ItemMembers, 1)
	if err != nil || len(hist) != 1 {
		t.Fatalf("History n=1: %v, %v", hist, err)
	}
	if got := mustJSON(t, hist[0]); got != mustJSON(t, want) {
		t.Errorf("stored filing %s, want %s", got, mustJSON(t, want))
	}
}

func testReviewsAreNotUndone(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	const comm = "小河"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Save(ctx, filing(comm, campaign.ItemCandidates, "7", t0), true))
	must(r.Save(ctx, filing(comm, campaign.ReviewCandidates, "ok", t0.Add(time.Minute)), false))
	// The office also corrects members over a secretary's filing, as a non-undoable save.
	must(r.Save(ctx, filing(comm, campaign.ItemMembers, "100", t0.Add(2*time.Minute)), true))
	must(r.Save(ctx, filing(comm, campaign.ItemMembers, "101", t0.Add(3*time.Minute)), false))

	// Undo takes back the secretary's members filing, not the office's correction on top.
	undone, cur, err := r.Undo(ctx, street, comm, "sec", t0.Add(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if undone.Item != campaign.ItemMembers || undone.Fields["total"] != "100" {
		t.Errorf("undone %s %s, want members 100", undone.Item, undone.Fields["total"])
	}
	if cur == nil || cur.Fields["total"] != "101" {
		t.Errorf("current after undo = %+v, want the office's 101", cur)
	}
	hist, err := r.History(ctx, street, comm, campaign.ItemMembers, 0)
	must(err)
	if got := totals(hist); !slices.Equal(got, []string{"101"}) {
		t.Errorf("members history %v, want [101]", got)
	}

	// Next undo takes back the candidates filing; the review stays.
	undone, cur, err = r.Undo(ctx, street, comm, "sec", t0.Add(5*time.Minute))
	must(err)
	if undone.Item != campaign.ItemCandidates || cur != nil {
		t.Errorf("second undo took back %s (current %v), want candidates and nothing current", undone.Item, cur)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec", t0); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("third undo: %v, want ErrNothingToUndo", err)
	}
	now, err := r.Current(ctx, street, comm)
	must(err)
	if got := now[campaign.ReviewCandidates].Fields["total"]; got != "ok" {
		t.Errorf("review after undos = %q, want ok", got)
	}
	if _, ok := now[campaign.ItemCandidates]; ok {
		t.Errorf("candidates still current after undo")
	}
}

func testCurrentAll(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	comms := []string{"东村", "西村", "南村"}
	for i, c := range comms {
		for j := 0; j <= i; j++ { // community i files i+1 items
			item := []campaign.Item{campaign.ItemLeadingGroup, campaign.ItemMembers, campaign.ItemTraining}[j]
			if err := r.Save(ctx, filing(c, item, fmt.Sprint(10*i+j), t0), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := r.CurrentAll(ctx, street, append(comms, "北村"))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("CurrentAll returned %d communities, want 4", len(all))
	}
	for i, c := range comms {
		if len(all[c]) != i+1 {
			t.Errorf("%s: %d items current, want %d", c, len(all[c]), i+1)
		}
		one, err := r.Current(ctx, street, c)
		if err != nil {
			t.Fatal(err)
		}
		if mustJSON(t, one) != mustJSON(t, all[c]) {
			t.Errorf("%s: CurrentAll %v differs from Current %v", c, all[c], one)
		}
	}
	if got := all["西村"][campaign.ItemMembers].Fields["total"]; got != "11" {
		t.Errorf("西村 members = %q, want 11", got)
	}
	if m, ok := all["北村"]; !ok || len(m) != 0 {
		t.Errorf("北村 (no filings) = %v, present %v; want an empty map", m, ok)
	}
	empty, err := r.CurrentAll(ctx, street, nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("CurrentAll(nil) = %v, %v", empty, err)
	}
}

func testEvents(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	clk := useFakeClock(r)
	const comm = "大辛"
	if err := r.Save(ctx, filing(comm, campaign.ItemMembers, "1", t0), true); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(ctx, filing(comm, campaign.ReviewElection, "批复", t0.Add(time.Minute)), false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec-x", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	code, err := r.RequestBinding(ctx, campaign.Binding{UserID: "u1", Street: street, Role: campaign.RoleSecretary, Community: comm, At: clk.Now()}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApproveBinding(ctx, street, code, "office", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	evs, err := r.Events(ctx, street, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+":"+string(e.Item)+":"+e.By)
	}
	want := []string{"bind::office", "request::u1", "undo:members:sec-x", "review:review.election:sec-大辛", "file:members:sec-大辛"}
	if !slices.Equal(got, want) {
		t.Errorf("events newest first = %v, want %v", got, want)
	}
	if e := evs[2]; e.Filing == nil || e.Filing.Fields["total"] != "1" || !e.At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("undo event = %+v, want the undone filing at t0+2m", e)
	}
	if e := evs[4]; e.Raw != "会员数 1" || e.Community != comm {
		t.Errorf("file event raw/community = %q/%q", e.Raw, e.Community)
	}
	if e := evs[0]; e.Binding == nil || e.Binding.ApprovedBy != "office" || e.Code != code {
		t.Errorf("bind event = %+v", e)
	}
	two, err := r.Events(ctx, street, 2)
	if err != nil || len(two) != 2 || two[0].ID != evs[0].ID {
		t.Errorf("Events n=2 = %v, %v", two, err)
	}
}

func testConcurrentSaveAndUndo(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	const comm, n = "大辛", 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- r.Save(ctx, filing(comm, campaign.ItemMembers, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second)), true)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	hist, err := r.History(ctx, street, comm, campaign.ItemMembers, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != n {
		t.Fatalf("history has %d filings, want %d", len(hist), n)
	}
	cur, err := r.Current(ctx, street, comm)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, cur[campaign.ItemMembers]) != mustJSON(t, hist[0]) {
		t.Errorf("current %v is not the history head %v", cur[campaign.ItemMembers], hist[0])
	}

	// 20 concurrent undos each take back a different filing and leave nothing.
	undone := make(chan string, n)
	errs = make(chan error, n)
	for range n {
		wg.Go(func() {
			f, _, err := r.Undo(ctx, street, comm, "sec", t0)
			errs <- err
			undone <- f.Fields["total"]
		})
	}
	wg.Wait()
	close(errs)
	close(undone)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for u := range undone {
		seen[u] = true
	}
	if len(seen) != n {
		t.Errorf("concurrent undos took back %d distinct filings, want %d", len(seen), n)
	}
	if cur, _ := r.Current(ctx, street, comm); len(cur) != 0 {
		t.Errorf("current after undoing everything = %v", cur)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec", t0); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("undo of empty = %v, want ErrNothingToUndo", err)
	}
}

func testInvalidInput(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	bad := []campaign.Filing{
		{Community: "c", Item: campaign.ItemMembers},
		{Street: street, Item: campaign.ItemMembers},
		{Street: street, Community: "c"},
		{Street: street, Community: "c", Item: "a:b"},
	}
	for _, f := range bad {
		if err := r.Save(ctx, f, true); err == nil {
			t.Errorf("Save(%+v) succeeded, want an error", f)
		}
	}
	if _, err := r.RequestBinding(ctx, campaign.Binding{Street: street}, time.Hour); err == nil {
		t.Error("RequestBinding without userid succeeded")
	}
	if _, err := r.RequestBinding(ctx, campaign.Binding{Street: street, UserID: "u"}, 0); err == nil {
		t.Error("RequestBinding with ttl 0 succeeded")
	}
	err := r.Save(ctx, campaign.Filing{Street: street, Community: "大辛", Item: "x:y"}, true)
	if want := "storage: save filing 大辛/x:y: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q lacks context %q", err, want)
	}
}

func testDedup(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	steps := []struct {
		id   string
		ttl  time.Duration
		want bool
	}{
		{"msg-1", time.Hour, true},
		{"msg-1", time.Hour, false},
		{"msg-2", time.Hour, true},
		{"msg-1", time.Hour, false},
	}
	for i, s := range steps {
		got, err := r.Claim(ctx, s.id, s.ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Errorf("step %d: Claim(%s) = %v, want %v", i, s.id, got, s.want)
		}
	}
	// A claim expires after its ttl (on the embedded store too: its TTLs follow the clock).
	if ok, err := r.Claim(ctx, "short", 150*time.Millisecond); !ok || err != nil {
		t.Fatalf("Claim(short) = %v, %v", ok, err)
	}
	if ok, _ := r.Claim(ctx, "short", time.Second); ok {
		t.Error("Claim(short) again within ttl = true")
	}
	time.Sleep(300 * time.Millisecond)
	if ok, err := r.Claim(ctx, "short", time.Second); !ok || err != nil {
		t.Errorf("Claim(short) after ttl = %v, %v; want true", ok, err)
	}
}

var codeRE = regexp.MustCompile(`^[0-9]{4}$`)

func secretary(uid, comm, name string) campaign.Binding {
	return campaign.Binding{UserID: uid, Street: street, Role: campaign.RoleSecretary, Community: comm, Title: "秘书长", Name: name, At: t0}
}

func testBindingFlow(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	useFakeClock(r)
	if _, err := r.ApproveBinding(ctx, street, "0000", "office", t0); !errors.Is(err, ErrNoSuchRequest) {
		t.Fatalf("approve unknown code: %v, want ErrNoSuchRequest", err)
	}
	if b, err := r.Binding(ctx, street, "u1"); b != nil || err != nil {
		t.Fatalf("Binding before approval = %v, %v", b, err)
	}
	code, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !codeRE.MatchString(code) {
		t.Errorf("code %q is not 4 digits", code)
	}
	pending, err := r.PendingBindings(ctx, street)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Code != code || pending[0].Binding.Name != "张三" {
		t.Fatalf("pending = %+v, want 张三's request %s", pending, code)
	}
	at := t0.Add(10 * time.Minute)
	b, err := r.ApproveBinding(ctx, street, code, "office-li", at)
	if err != nil {
		t.Fatal(err)
	}
	if b.UserID != "u1" || b.ApprovedBy != "office-li" || !b.At.Equal(at) || b.Community != "大辛" {
		t.Errorf("approved binding = %+v", b)
	}
	got, err := r.Binding(ctx, street, "u1")
	if err != nil || got == nil || mustJSON(t, *got) != mustJSON(t, b) {
		t.Errorf("Binding(u1) = %+v, %v; want %+v", got, err, b)
	}
	if other, _ := r.Binding(ctx, "别的街道", "u1"); other != nil {
		t.Errorf("binding leaked to another street: %+v", other)
	}
	if pending, _ := r.PendingBindings(ctx, street); len(pending) != 0 {
		t.Errorf("pending after approval = %+v", pending)
	}
	// A second secretary of another community: Bound lists both, by community.
	code2, err := r.RequestBinding(ctx, secretary("u0", "小河", "王五"), 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApproveBinding(ctx, street, code2, "office-li", at); err != nil {
		t.Fatal(err)
	}
	bound, err := r.Bound(ctx, street)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bound {
		names = append(names, b.Community+":"+b.UserID)
	}
	if want := []string{"大辛:u1", "小河:u0"}; !slices.Equal(names, want) {
		t.Errorf("Bound = %v, want %v", names, want)
	}
	if none, err := r.Bound(ctx, "别的街道"); err != nil || len(none) != 0 {
		t.Errorf("Bound(other street) = %v, %v", none, err)
	}
	if _, err := r.ApproveBinding(ctx, street, code, "office-li", at); !errors.Is(err, ErrNoSuchRequest) {
		t.Errorf("approving twice: %v, want ErrNoSuchRequest", err)
	}
}

func testBindingReplace(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	clk := useFakeClock(r)
	first, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	other, err := r.RequestBinding(ctx, secretary("u2", "小河", "李四"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	second, err := r.RequestBinding(ctx, secretary("u1", "西村", "张三"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := r.PendingBindings(ctx, street)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pending {
		got = append(got, p.Code+":"+p.Binding.UserID+":"+p.Binding.Community)
	}
	want := []string{other + ":u2:小河", second + ":u1:西村"} // oldest first
	if !slices.Equal(got, want) {
		t.Errorf("pending = %v, want %v", got, want)
	}
	if first != second {
		if _, err := r.ApproveBinding(ctx, street, first, "office", t0); !errors.Is(err, ErrNoSuchRequest) {
			t.Errorf("approving the replaced request: %v, want ErrNoSuchRequest", err)
		}
	}
	b, err := r.ApproveBinding(ctx, street, second, "office", t0)
	if err != nil || b.Community != "西村" {
		t.Errorf("approve second = %+v, %v", b, err)
	}
}

func testBindingExpiry(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	clk := useFakeClock(r)
	code, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	if p, _ := r.PendingBindings(ctx, street); len(p) != 1 {
		t.Fatalf("pending before expiry = %v", p)
	}
	clk.Advance(2 * time.Minute)
	if p, _ := r.PendingBindings(ctx, street); len(p) != 0 {
		t.Errorf("pending after expiry = %v, want none", p)
	}
	if _, err := r.ApproveBinding(ctx, street, code, "office", clk.Now()); !errors.Is(err, ErrNoSuchRequest) {
		t.Errorf("approving an expired request: %v, want ErrNoSuchRequest", err)
	}
	if b, _ := r.Binding(ctx, street, "u1"); b != nil {
		t.Errorf("expired request produced binding %+v", b)
	}
	// The next request purges the expired one; the user can ask again.
	code2, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.c.HLen(ctx, r.k.bindreq(street)).Result()
	if err != nil || n != 1 {
		t.Errorf("stored requests after purge = %d, %v; want 1", n, err)
	}
	if _, err := r.ApproveBinding(ctx, street, code2, "office", clk.Now()); err != nil {
		t.Errorf("approving the renewed request: %v", err)
	}
}

func testBindingCodesUnique(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	useFakeClock(r)
	const n = 60
	codes := map[string]bool{}
	for i := range n {
		code, err := r.RequestBinding(ctx, secretary(fmt.Sprintf("u%02d", i), "大辛", ""), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !codeRE.MatchString(code) || codes[code] {
			t.Fatalf("code %q malformed or duplicate", code)
		}
		codes[code] = true
	}
	p, err := r.PendingBindings(ctx, street)
	if err != nil || len(p) != n {
		t.Fatalf("pending = %d, %v; want %d", len(p), err, n)
	}
}
