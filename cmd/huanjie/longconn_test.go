package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"huanjie/internal/testredis"
)

// wecomWS plays WeCom's long-connection gateway on loopback: it acks subscriptions,
// counts them, sends one callback to each subscriber and records the answers.
type wecomWS struct {
	mu         sync.Mutex
	subscribes int
	answers    []string
	callback   string
}

func (w *wecomWS) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(rw, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var f struct {
			Cmd     string            `json:"cmd"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		}
		_ = json.Unmarshal(data, &f)
		ack, _ := json.Marshal(map[string]any{"headers": f.Headers, "errcode": 0, "errmsg": "ok"})
		switch f.Cmd {
		case "aibot_subscribe":
			w.mu.Lock()
			w.subscribes++
			w.mu.Unlock()
			_ = c.Write(ctx, websocket.MessageText, ack)
			_ = c.Write(ctx, websocket.MessageText, []byte(w.callback))
		case "ping":
			_ = c.Write(ctx, websocket.MessageText, ack)
		case "aibot_respond_msg":
			var body struct {
				Stream struct {
					Content string `json:"content"`
				} `json:"stream"`
			}
			_ = json.Unmarshal(f.Body, &body)
			w.mu.Lock()
			w.answers = append(w.answers, f.Headers["req_id"]+"|"+body.Stream.Content)
			w.mu.Unlock()
		}
	}
}

// TestLongConnectionOneReplicaConnects runs three replicas with the long connection on
// one Redis: only one subscribes (WeCom would kick the others' connections), and it
// answers the callback with the same req_id.
func TestLongConnectionOneReplicaConnects(t *testing.T) {
	_, prefix := testredis.Client(t)
	gw := &wecomWS{callback: `{"cmd":"aibot_msg_callback","headers":{"req_id":"REQ-1"},"body":{"msgid":"lc-1","aibotid":"bot","chatid":"wrkSFfCgAAchengxi2021","chattype":"group","from":{"userid":"quxin"},"msgtype":"text","text":{"content":"@换届助手 进度"}}}`}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	env := map[string]string{
		"WECOM_BOT_ID": "bot", "WECOM_BOT_SECRET": "secret", "WECOM_WS_URL": "ws" + strings.TrimPrefix(srv.URL, "http"),
		"REDIS_URL": "redis://" + testredis.Addr() + "/0", "REDIS_PREFIX": prefix, "ADDR": "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		ready := make(chan string, 1)
		go func() {
			defer wg.Done()
			if err := run(ctx, nil, func(k string) string { return env[k] }, io.Discard, ready); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
		<-ready
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		gw.mu.Lock()
		n := len(gw.answers)
		gw.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // give a wrongly competing replica time to show up
	cancel()
	wg.Wait()
	gw.mu.Lock()
	defer gw.mu.Unlock()
	if gw.subscribes != 1 {
		t.Errorf("%d replicas subscribed, want exactly 1", gw.subscribes)
	}
	if len(gw.answers) != 1 || !strings.HasPrefix(gw.answers[0], "REQ-1|**城西街道换届进度**") {
		t.Errorf("answers: %q", gw.answers)
	}
}
