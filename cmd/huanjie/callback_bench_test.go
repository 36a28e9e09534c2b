package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/config"
	"huanjie/handlers"
	"huanjie/internal/testredis"
	"huanjie/metrics"
	"huanjie/storage"
)

// BenchmarkCallbackPath measures the server side of one URL callback, as wired by run:
// verify, decrypt, the message ledger, the handler on real Redis, and the sealed reply,
// for 「进度」 from a leader and a filing from a secretary. The client's sealing is done
// before the timer starts.
//
//	go test -run '^$' -bench CallbackPath -benchmem -cpuprofile cpu.out ./cmd/huanjie
func BenchmarkCallbackPath(b *testing.B) {
	for _, bc := range []struct{ name, user, text string }{
		{"进度", "quxin", "@换届助手 进度"},
		{"filing", "cuihong", "@换届助手 会员 320 人口 6200"},
	} {
		b.Run(bc.name, func(b *testing.B) { benchCallback(b, bc.user, bc.text) })
	}
}

func benchCallback(b *testing.B, user, text string) {
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	c, prefix := testredis.Client(b)
	store := storage.NewRedis(c, prefix)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handlers.New(handlers.Deps{Config: cfg, Filings: store, Bindings: store, Confirmations: store, Outbox: store.Outbox(), Log: log,
		Clock: func() time.Time { return cfg.DemoStart }})
	token, aesKey := randomCredentials()
	crypto, err := bot.NewCrypto(token, aesKey, "")
	if err != nil {
		b.Fatal(err)
	}
	met := metrics.New()
	timed := timedHandler{next: h, m: met, transport: metrics.TransportCallback, label: commandLabeler(cfg, h.CommandOf)}
	cb := bot.NewCallback(crypto, timed, notedLedger{msgLedger{store}}, log)
	srv := met.CallbackMiddleware(cb)
	type sealed struct {
		q    string
		body []byte
	}
	reqs := make([]sealed, 0, 4096)
	for i := range cap(reqs) {
		m := bot.Message{MsgID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), ChatID: "wrkSFfCgAAchengxi2021", ChatType: "group",
			From: bot.From{UserID: user}, MsgType: "text", Text: &bot.Text{Content: text}}
		q, body, err := crypto.SealCallback(m)
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, sealed{q.Encode(), body})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		if i >= len(reqs) { // a fresh msgid each time: refill with new seals outside the timer
			b.StopTimer()
			m := bot.Message{MsgID: fmt.Sprintf("bench-x-%d", i), ChatID: "wrkSFfCgAAchengxi2021", ChatType: "group",
				From: bot.From{UserID: user}, MsgType: "text", Text: &bot.Text{Content: text}}
			q, body, _ := crypto.SealCallback(m)
			r = sealed{q.Encode(), body}
			b.StartTimer()
		}
		i++
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wecom/callback?"+r.q, bytes.NewReader(r.body)))
		if w.Code != 200 || w.Body.Len() == 0 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
}
