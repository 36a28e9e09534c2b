package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// The HTTP server's limits. A WeCom callback is small and answered within 5 s; the
// handlers that stream large files (downloads, the dashboard's zip) extend their own
// write deadline. Variables so that tests can shorten them.
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second // the whole request, body included
	writeTimeout      = 2 * time.Minute  // from the end of the request headers to the end of the answer
	idleTimeout       = 2 * time.Minute  // a keep-alive connection with no request
)

func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// isLoopback reports whether addr (host:port as given to ADDR) listens only on a
// loopback interface. An empty host, 0.0.0.0, :: and any other name are not loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLocalMode refuses local mode (a chat page that lets anyone act as anyone, and
// a clock anyone can move) on an address other people can reach, unless LOCAL=1 asked
// for it explicitly; then it warns loudly.
func checkLocalMode(s settings, log *slog.Logger) error {
	if !s.local || isLoopback(s.addr) {
		return nil
	}
	if !s.localExplicit {
		return fmt.Errorf("no WeCom credentials are set, so the bot would start in local mode, whose chat page "+
			"lets anyone act as any person; local mode listens only on a loopback address, and ADDR=%q is not one.\n"+
			"Set WECOM_TOKEN and WECOM_AES_KEY (or WECOM_BOT_ID and WECOM_BOT_SECRET) for real use, "+
			"or ADDR=127.0.0.1:8080 to try it on this machine, "+
			"or LOCAL=1 to serve local mode on %q anyway (only on a network you trust)", s.addr, s.addr)
	}
	log.Warn("UNSAFE: LOCAL=1 serves the local chat page on a non-loopback address: anyone who reaches it can act as any person, move the clock and file for any community",
		"addr", s.addr)
	return nil
}

// healthz says the process is up; it shows nothing about the inside.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz says whether the store answers; the reason goes to the log, not to the caller.
func readyz(client redis.UniversalClient, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			log.Warn("readyz: the store does not answer", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	}
}
