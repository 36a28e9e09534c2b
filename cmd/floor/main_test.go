package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"huanjie/internal/testredis"
)

// TestFloorSetsOncePerRequest posts twice: each answer is "ok" and the key counts the requests.
func TestFloorSetsOncePerRequest(t *testing.T) {
	c, prefix := testredis.Client(t)
	srv := httptest.NewServer(newHandler(c, prefix+"floor"))
	defer srv.Close()
	for i, want := range []string{"1", "2"} {
		resp, err := http.Post(srv.URL+"/wecom/callback", "application/json", strings.NewReader(`{"encrypt":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("request %d: HTTP %d %q", i+1, resp.StatusCode, b)
		}
		if got := c.Get(t.Context(), prefix+"floor").Val(); got != want {
			t.Fatalf("after request %d the key holds %q, want %q", i+1, got, want)
		}
	}
}
