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
	{"Records", testRecords},
	{"Events", testEvents},
	{"ConcurrentSaveAndUndo", testConcurrentSaveAndUndo},
	{"InvalidInput", testInvalidInput},
	{"Dedup", testDedup},
	{"BindingFlow", testBindingFlow},
	{"BindingReplace", testBindingReplace},
	{"BindingExpiry", testBindingExpiry},
	{"BindingCodesUnique", testBindingCodesUnique},
	{"BindingAny", testBindingAny},
	{"RecordsOf", testRecordsOf},
	{"OnceByMessage", testOnceByMessage},
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
			if err := r.Save(ctx, filing(comm, campaign.ItemMembers, s.save, at)); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		} else {
			undone, cur, err := r.Undo(ctx, street, comm, "sec-大辛", "", at)
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: Undo error = %v, want %v", s.name, err, s.wantErr)
			}
			if err == nil {
				if got := total(undone); got != s.wantUndone {
					t.Errorf("%s: undone %q, want %q", s.name, got, s.wantUndone)
				}
				gotCur := ""
				if cur != nil {
					gotCur = total(*cur)
				}
				if gotCur != s.wantCur {
					t.Errorf("%s: Undo says current is %q, want %q", s.name, gotCur, s.wantCur)
				}
			}
		}
		rec, err := r.Record(ctx, street, comm)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := rec.Filing(campaign.ItemMembers)
		got := ""
		if ok {
			got = total(f)
		}
		if got != s.wantCur || ok != (s.wantCur != "") {
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
	list := filing(comm, campaign.ItemCandidates, "7", t0)
	must(r.Save(ctx, list))
	must(r.SaveReview(ctx, street, comm, approval(list, t0.Add(time.Minute)), "初审通过 小河"))
	must(r.Save(ctx, filing(comm, campaign.ItemMembers, "100", t0.Add(2*time.Minute))))

	last, err := r.LastUndoable(ctx, street, comm)
	must(err)
	if last.Item != campaign.ItemMembers {
		t.Errorf("LastUndoable = %s, want members", last.Item)
	}
	undone, cur, err := r.Undo(ctx, street, comm, "sec", "", t0.Add(4*time.Minute))
	must(err)
	if undone.Item != campaign.ItemMembers || total(undone) != "100" || cur != nil {
		t.Errorf("undone %s %s (current %v), want members 100 and nothing current", undone.Item, total(undone), cur)
	}
	// Next undo takes back the candidates filing; the review stays, tied to that version.
	undone, cur, err = r.Undo(ctx, street, comm, "sec", "", t0.Add(5*time.Minute))
	must(err)
	if undone.Item != campaign.ItemCandidates || cur != nil {
		t.Errorf("second undo took back %s (current %v), want candidates and nothing current", undone.Item, cur)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec", "", t0); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("third undo: %v, want ErrNothingToUndo", err)
	}
	rec, err := r.Record(ctx, street, comm)
	must(err)
	if len(rec.Reviews) != 1 || rec.Reviews[0].Of != list.Stamp() || rec.Reviews[0].Status != campaign.ReviewApproved {
		t.Errorf("reviews after undos = %+v, want the approval of the list", rec.Reviews)
	}
	if _, ok := rec.Filings[campaign.ItemCandidates]; ok {
		t.Errorf("candidates still current after undo")
	}
	// Filed again, the same roster is a new version: the old approval does not cover it.
	again := filing(comm, campaign.ItemCandidates, "7", t0.Add(6*time.Minute))
	must(r.Save(ctx, again))
	rec, err = r.Record(ctx, street, comm)
	must(err)
	if status, _ := rec.ReviewOf(campaign.ItemCandidates); status != campaign.ReviewPending {
		t.Errorf("re-filed list is %q, want pending", status)
	}
}

// testRecords: Records returns what Record returns for every community, and a second
// process (another store on the same keys) sees a change made by the first at once.
func testRecords(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	other := NewRedis(r.c, r.k.prefix) // another replica on the same Redis
	comms := []string{"东村", "西村", "南村"}
	for i, c := range comms {
		for j := 0; j <= i; j++ { // community i files i+1 items
			item := []campaign.Item{campaign.ItemLeadingGroup, campaign.ItemMembers, campaign.ItemTraining}[j]
			if err := r.Save(ctx, filing(c, item, fmt.Sprint(10*i+j), t0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := other.Records(ctx, street)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("Records returned %d communities, want 3", len(all))
	}
	for i, c := range comms {
		if len(all[c].Filings) != i+1 {
			t.Errorf("%s: %d items current, want %d", c, len(all[c].Filings), i+1)
		}
		one, err := r.Record(ctx, street, c)
		if err != nil {
			t.Fatal(err)
		}
		if mustJSON(t, one) != mustJSON(t, all[c]) {
			t.Errorf("%s: Records %v differs from Record %v", c, all[c], one)
		}
	}
	if got := total(*all["西村"].Filings[campaign.ItemMembers]); got != "11" {
		t.Errorf("西村 members = %q, want 11", got)
	}
	// The first replica files, undoes and receives a photo; the other sees each at once.
	if err := r.Save(ctx, filing("北村", campaign.ItemMembers, "40", t0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Undo(ctx, street, "西村", "sec", "", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddPhoto(ctx, street, "东村", Photo{Hash: "h1", Name: "a.jpg"}, 10); err != nil {
		t.Fatal(err)
	}
	all2, err := other.Records(ctx, street)
	if err != nil {
		t.Fatal(err)
	}
	if got := total(*all2["北村"].Filings[campaign.ItemMembers]); got != "40" {
		t.Errorf("北村 after a filing by the other replica = %q, want 40", got)
	}
	if _, ok := all2["西村"].Filings[campaign.ItemMembers]; ok {
		t.Errorf("西村 members still current after the other replica's undo")
	}
	if all2["东村"].Photos != 1 {
		t.Errorf("东村 photos = %d, want 1", all2["东村"].Photos)
	}
	// The earlier result is a snapshot: it did not change under its reader.
	if _, ok := all["北村"]; ok {
		t.Errorf("an earlier Records result changed after a later read")
	}
}

func testEvents(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	clk := useFakeClock(r)
	const comm = "大辛"
	if err := r.Save(ctx, filing(comm, campaign.ItemMembers, "1", t0)); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveReview(ctx, street, comm, approval(filing(comm, campaign.ItemMembers, "1", t0), t0.Add(time.Minute)), "批复"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec-x", "", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	code, _, err := r.RequestBinding(ctx, campaign.Binding{UserID: "u1", Street: street, Role: campaign.RoleSecretary, Community: comm, At: clk.Now()}, time.Hour)
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
	want := []string{"bind::office", "request::u1", "undo:members:sec-x", "review:members:office", "file:members:sec-大辛"}
	if !slices.Equal(got, want) {
		t.Errorf("events newest first = %v, want %v", got, want)
	}
	if e := evs[2]; e.Filing == nil || total(*e.Filing) != "1" || !e.At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("undo event = %+v, want the undone filing at t0+2m", e)
	}
	if e := evs[2]; e.Review != nil {
		t.Errorf("undo event carries a review")
	}
	if e := evs[3]; e.Review == nil || e.Review.Status != campaign.ReviewApproved || e.Raw != "批复" {
		t.Errorf("review event = %+v", e)
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
			errs <- r.Save(ctx, filing(comm, campaign.ItemMembers, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second)))
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
	cur, err := r.Record(ctx, street, comm)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, *cur.Filings[campaign.ItemMembers]) != mustJSON(t, hist[0]) {
		t.Errorf("current %v is not the history head %v", cur.Filings[campaign.ItemMembers], hist[0])
	}

	// 20 concurrent undos each take back a different filing and leave nothing.
	undone := make(chan string, n)
	errs = make(chan error, n)
	for range n {
		wg.Go(func() {
			f, _, err := r.Undo(ctx, street, comm, "sec", "", t0)
			errs <- err
			undone <- total(f)
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
	if cur, _ := r.Record(ctx, street, comm); len(cur.Filings) != 0 {
		t.Errorf("current after undoing everything = %v", cur)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec", "", t0); !errors.Is(err, ErrNothingToUndo) {
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
		if err := r.Save(ctx, f); err == nil {
			t.Errorf("Save(%+v) succeeded, want an error", f)
		}
	}
	if _, _, err := r.RequestBinding(ctx, campaign.Binding{Street: street}, time.Hour); err == nil {
		t.Error("RequestBinding without userid succeeded")
	}
	if _, _, err := r.RequestBinding(ctx, campaign.Binding{Street: street, UserID: "u"}, 0); err == nil {
		t.Error("RequestBinding with ttl 0 succeeded")
	}
	err := r.Save(ctx, campaign.Filing{Street: street, Community: "大辛", Item: "x:y"})
	if want := "storage: save filing 大辛/x:y: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q lacks context %q", err, want)
	}
}

// testDedup walks the ledger through what WeCom's retries and our own failures do to a
// message: processed once, a retry while running or after done is not processed, a
// failed attempt's retry is, a lapsed hold is taken over, a retried call finds its own
// hold, and the first late path wins.
func testDedup(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	clock := useFakeClock(r)
	begin := func(id, owner string) (MsgRecord, bool) {
		t.Helper()
		rec, mine, err := r.BeginMsg(ctx, id, owner, time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return rec, mine
	}
	if _, mine := begin("m1", "a1"); !mine {
		t.Fatal("a new message is not the first attempt's")
	}
	if _, mine := begin("m1", "a1"); !mine {
		t.Error("the same attempt (a client retry of the call) does not find its own hold")
	}
	rec, mine := begin("m1", "a2")
	if mine || rec.State != MsgProcessing || rec.Owner != "a1" || !rec.Until.Equal(clock.Now().Add(time.Minute).Truncate(time.Millisecond)) {
		t.Fatalf("a retry while a1 holds it: %+v mine=%v", rec, mine)
	}
	if err := r.FinishMsg(ctx, "m1", "已登记：大辛社区 会员", time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, mine = begin("m1", "a3")
	if mine || rec.State != MsgDone || rec.Answer != "已登记：大辛社区 会员" || rec.Owner != "" {
		t.Fatalf("a retry after done: %+v mine=%v", rec, mine)
	}
	if err := r.ReleaseMsg(ctx, "m1", "a1"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := begin("m1", "a4"); rec.State != MsgDone {
		t.Fatalf("a release after done forgot the answer: %+v", rec)
	}

	// A failed attempt releases the message; WeCom's retry is then processed.
	begin("m2", "a1")
	if err := r.ReleaseMsg(ctx, "m2", "other"); err != nil {
		t.Fatal(err)
	}
	if _, mine := begin("m2", "a2"); mine {
		t.Fatal("a release by another owner freed the message")
	}
	if err := r.ReleaseMsg(ctx, "m2", "a1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Msg(ctx, "m2"); ok {
		t.Fatal("the released message is still in the ledger")
	}
	if _, mine := begin("m2", "a2"); !mine {
		t.Fatal("the retry of a failed attempt is not processed")
	}

	// An attempt that died (kill -9) holds the message until its hold lapses.
	begin("m3", "dead")
	clock.Advance(59 * time.Second)
	if _, mine := begin("m3", "a2"); mine {
		t.Fatal("taken over before the hold lapsed")
	}
	clock.Advance(2 * time.Second)
	rec, mine = begin("m3", "a2")
	if !mine || rec.Owner != "a2" {
		t.Fatalf("a lapsed hold is not taken over: %+v", rec)
	}

	// The first late path wins; asking again answers the same.
	for _, step := range []struct{ via, want string }{{"stream", "stream"}, {"url", "stream"}, {"stream", "stream"}} {
		if got, err := r.MarkMsgDelivered(ctx, "m3", step.via); err != nil || got != step.want {
			t.Fatalf("MarkMsgDelivered(%s) = %q, %v; want %q", step.via, got, err, step.want)
		}
	}
	if rec, _, _ := r.Msg(ctx, "m3"); rec.Delivered != "stream" || rec.State != MsgProcessing {
		t.Fatalf("record %+v", rec)
	}
	// A pending POST to response_url is settled: sent, or forgotten when it failed, so
	// that a stream refresh may take the answer after all; another mark stays.
	begin("m4", "a1")
	for _, step := range []struct {
		op, a, b, want string
	}{
		{"mark", "url-pending", "", "url-pending"},
		{"mark", "stream", "", "url-pending"},
		{"settle", "url-pending", "", ""},
		{"mark", "stream", "", "stream"},
		{"settle", "url-pending", "url", "stream"},
		{"settle", "stream", "", ""},
		{"mark", "url-pending", "", "url-pending"},
		{"settle", "url-pending", "url", "url"},
	} {
		var got string
		var err error
		if step.op == "mark" {
			got, err = r.MarkMsgDelivered(ctx, "m4", step.a)
		} else {
			got, err = r.SettleMsgDelivered(ctx, "m4", step.a, step.b)
		}
		if err != nil || got != step.want {
			t.Fatalf("%s(%s, %s) = %q, %v; want %q", step.op, step.a, step.b, got, err, step.want)
		}
	}
	if got, _ := r.SettleMsgDelivered(ctx, "unknown", "url-pending", ""); got != "" {
		t.Fatalf("SettleMsgDelivered of an unknown message = %q", got)
	}
	if got, _ := r.MarkMsgDelivered(ctx, "unknown", "url"); got != "" {
		t.Fatalf("MarkMsgDelivered of an unknown message = %q", got)
	}
	if _, ok, _ := r.Msg(ctx, "unknown"); ok {
		t.Fatal("MarkMsgDelivered created a record")
	}

	// A key written by the older SET NX format reads as done and can be finished.
	if err := r.c.Set(ctx, r.k.msg("old"), "1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if rec, mine := begin("old", "a1"); mine || rec.State != MsgDone {
		t.Fatalf("an old-format key: %+v mine=%v", rec, mine)
	}
	if rec, ok, err := r.Msg(ctx, "old"); !ok || err != nil || rec.State != MsgDone {
		t.Fatalf("Msg(old) = %+v %v %v", rec, ok, err)
	}
	if err := r.FinishMsg(ctx, "old", "答复", time.Hour); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := r.Msg(ctx, "old"); rec.Answer != "答复" {
		t.Fatalf("Msg(old) after finish = %+v", rec)
	}

	for _, bad := range []func() error{
		func() error { _, _, err := r.BeginMsg(ctx, "", "a", time.Minute, time.Hour); return err },
		func() error { _, _, err := r.BeginMsg(ctx, "x", "", time.Minute, time.Hour); return err },
		func() error { _, _, err := r.BeginMsg(ctx, "x", "a", time.Hour, time.Minute); return err },
		func() error { return r.FinishMsg(ctx, "x", "a", 0) },
	} {
		if bad() == nil {
			t.Error("invalid arguments accepted")
		}
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
	code, _, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 30*time.Minute)
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
	code2, _, err := r.RequestBinding(ctx, secretary("u0", "小河", "王五"), 30*time.Minute)
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
	first, replaced, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), time.Hour)
	if err != nil || replaced != "" {
		t.Fatalf("first request: replaced %q, %v", replaced, err)
	}
	clk.Advance(time.Minute)
	other, replaced, err := r.RequestBinding(ctx, secretary("u2", "小河", "李四"), time.Hour)
	if err != nil || replaced != "" {
		t.Fatalf("another user's request: replaced %q, %v", replaced, err)
	}
	clk.Advance(time.Minute)
	second, replaced, err := r.RequestBinding(ctx, secretary("u1", "西村", "张三"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if replaced != first {
		t.Errorf("the second request of u1 replaced %q, want the first (%s)", replaced, first)
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
	code, _, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 10*time.Minute)
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
	code2, _, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), 10*time.Minute)
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
		code, _, err := r.RequestBinding(ctx, secretary(fmt.Sprintf("u%02d", i), "大辛", ""), time.Hour)
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

// testBindingAny: a user bound in the last of many streets is found in one call, and a
// stranger is nobody.
func testBindingAny(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	var streets []string
	for i := range 50 {
		streets = append(streets, fmt.Sprintf("街道%02d", i))
	}
	last := streets[len(streets)-1]
	code, _, err := r.RequestBinding(ctx, campaign.Binding{UserID: "u-last", Street: last, Role: campaign.RoleSecretary, Community: "甲"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ApproveBinding(ctx, last, code, "office", t0); err != nil {
		t.Fatal(err)
	}
	b, err := r.BindingAny(ctx, streets, "u-last")
	if err != nil || b == nil || b.Street != last || b.Community != "甲" {
		t.Fatalf("BindingAny = %+v, %v", b, err)
	}
	if b, err := r.BindingAny(ctx, streets, "stranger"); err != nil || b != nil {
		t.Fatalf("a stranger: %+v, %v", b, err)
	}
}

// testRecordsOf: several streets in one call agree with Records of each, before and after
// a change in one of them seen from another replica.
func testRecordsOf(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	other := NewRedis(r.c, r.k.prefix)
	streets := []string{"甲街道", "乙街道", "丙街道"}
	for i, st := range streets {
		f := filing("东村", campaign.ItemMembers, fmt.Sprint(100+i), t0)
		f.Street = st
		if err := r.Save(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	all, err := other.RecordsOf(ctx, streets)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range streets {
		if got := total(*all[st]["东村"].Filings[campaign.ItemMembers]); got != fmt.Sprint(100+i) {
			t.Errorf("%s: %s", st, got)
		}
	}
	f := filing("西村", campaign.ItemMembers, "7", t0)
	f.Street = "乙街道"
	if err := r.Save(ctx, f); err != nil {
		t.Fatal(err)
	}
	again, err := other.RecordsOf(ctx, streets)
	if err != nil {
		t.Fatal(err)
	}
	if len(again["乙街道"]) != 2 || len(again["甲街道"]) != 1 {
		t.Errorf("after a filing in 乙街道: %d and %d communities", len(again["乙街道"]), len(again["甲街道"]))
	}
	one, err := other.Records(ctx, "乙街道")
	if err != nil || mustJSON(t, one) != mustJSON(t, again["乙街道"]) {
		t.Errorf("Records and RecordsOf differ: %v", err)
	}
}

// testOnceByMessage: the same message saving again (a retry after a failed attempt, or
// a script go-redis re-sends after a stall) files once, and undoing again with the same
// message's token takes back nothing more.
func testOnceByMessage(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	const comm = "大辛"
	first := filing(comm, campaign.ItemMembers, "100", t0)
	first.Version = "msg:m1"
	second := filing(comm, campaign.ItemMembers, "120", t0.Add(time.Minute))
	second.Version = "msg:m2"
	for i, f := range []campaign.Filing{first, second, second, first} { // m2 arrives twice, then m1 again
		if err := r.Save(ctx, f); (i < 2) != (err == nil) || (i >= 2 && !errors.Is(err, ErrFiledBefore)) {
			t.Fatalf("save %d (%s): %v", i, f.Version, err)
		}
	}
	hist, err := r.History(ctx, street, comm, campaign.ItemMembers, 0)
	if err != nil || !slices.Equal(totals(hist), []string{"120", "100"}) {
		t.Fatalf("history after m2 twice and m1 again = %v, %v; want [120 100]", totals(hist), err)
	}
	for range 2 { // the 撤销 of message u1, handled twice
		undone, cur, err := r.Undo(ctx, street, comm, "sec", "u1", t0)
		if err != nil || total(undone) != "120" || cur == nil || total(*cur) != "100" {
			t.Fatalf("undo u1 = %v, %v, %v; want 120 taken back, 100 current", undone.Value, cur, err)
		}
	}
	rec, err := r.Record(ctx, street, comm)
	if f, ok := rec.Filing(campaign.ItemMembers); err != nil || !ok || total(f) != "100" {
		t.Fatalf("after undo u1 twice the members are %v, want 100 still filed", rec)
	}
	if err := r.Save(ctx, second); !errors.Is(err, ErrFiledBefore) {
		t.Fatalf("m2 again after its 撤销: %v, want ErrFiledBefore", err)
	}
	if rec, err := r.Record(ctx, street, comm); err != nil || total(*rec.Filings[campaign.ItemMembers]) != "100" {
		t.Fatalf("m2 again after its 撤销 filed it again: %v", err)
	}
	if _, _, err := r.Undo(ctx, street, comm, "sec", "u2", t0); err != nil {
		t.Fatalf("a second 撤销 (another message) takes back the next one: %v", err)
	}
	// A filing held for 「确认」 is held once: the same message held again does not
	// replace what the person has been asked since.
	held := func(v, total string) Confirmation {
		f := filing(comm, campaign.ItemMembers, total, t0)
		f.Version = v
		return Confirmation{Kind: "file", Filing: &f, Expires: t0.Add(time.Hour)}
	}
	for i, c := range []Confirmation{held("msg:h1", "300"), held("msg:h2", "310"), held("msg:h1", "300"), held("msg:m1", "100")} {
		if err := r.Hold(ctx, street, "sec", c); (i < 2) != (err == nil) || (i >= 2 && !errors.Is(err, ErrFiledBefore)) {
			t.Fatalf("hold %d (%s): %v", i, c.Filing.Version, err)
		}
	}
	// The answer a message's filing was saved with is what the same message saved or
	// held again gets back.
	third := filing(comm, campaign.ItemMembers, "130", t0)
	third.Version = "msg:m3"
	var fb *FiledBefore
	if err := r.SaveAnswered(ctx, third, "已登记 130", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveAnswered(ctx, third, "已登记 130 again", ""); !errors.As(err, &fb) || fb.Answer != "已登记 130" {
		t.Fatalf("m3 saved again: %v, want the first answer", err)
	}
	if err := r.Hold(ctx, street, "sec", held("msg:m3", "130")); !errors.As(err, &fb) || fb.Answer != "已登记 130" {
		t.Fatalf("m3 held after it was saved: %v, want the first answer", err)
	}
	if c, err := r.Peek(ctx, street, "sec", t0); err != nil || c == nil || c.Filing.Version != "msg:h2" {
		t.Fatalf("held after h1, h2, h1 again, m1 again: %+v, %v; want h2", c, err)
	}
}
