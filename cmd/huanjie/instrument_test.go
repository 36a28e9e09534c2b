package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"huanjie/bot"
	"huanjie/config"
	"huanjie/handlers"
)

// TestCommandLabels: the handler metric's label is a command word, "community", the
// message type or "other" — never what was typed.
func TestCommandLabels(t *testing.T) {
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	h := handlers.New(handlers.Deps{Config: cfg})
	label := commandLabeler(cfg, h.CommandOf)
	text := func(s string) bot.Message { return textMessage("m", "cuihong", s) }
	for _, tc := range []struct {
		msg  bot.Message
		want string
	}{
		{text("进度"), "进度"},
		{text("会员320人，人口6200"), "会员"},
		{text("ｍ会员 320"), "会员"}, // the command word anywhere in a sentence
		{text("ｍ 320"), "other"},
		{text("新任培训 已参加"), "新任培训"},
		{text("培训 已参加 7月6日"), "培训"},
		{text("哪些社区还没报 公示"), "哪些社区还没报"},
		{text("照片打包 大辛"), "照片打包"},
		{text("大辛"), "community"},
		{text("大辛社区"), "community"},
		{text("大辛社区 怎么样了"), "community"},
		{text("今天天气不错，会员的事明天再说"), "会员"}, // read as 会员 (and asked back)
		{text("今天天气不错"), "other"},
		{text(""), "other"},
		{bot.Message{MsgType: "image", Image: &bot.Image{URL: "http://127.0.0.1/x"}}, "image"},
		{bot.Message{MsgType: "event"}, "event"},
	} {
		if got := label(tc.msg); got != tc.want {
			t.Errorf("%q: label %q, want %q", tc.msg.PlainText(), got, tc.want)
		}
	}
}

// TestMetricsOnlyForThisMachine: on the public address /metrics answers loopback only.
func TestMetricsOnlyForThisMachine(t *testing.T) {
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	for addr, want := range map[string]int{"127.0.0.1:5000": 200, "[::1]:5000": 200, "10.0.0.7:5000": 403, "203.0.113.9:80": 403} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("%s: %d, want %d", addr, w.Code, want)
		}
	}
}
