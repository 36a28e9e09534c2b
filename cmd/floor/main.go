// Command floor is the yardstick of scripts/bench.sh: the least a callback endpoint can
// do, a bare net/http handler that reads the request and does one go-redis SET per
// request on the same Redis as the bot, then answers "ok". The bot's throughput and CPU
// per request are reported against it.
//
//	floor -addr 127.0.0.1:8090 -redis 127.0.0.1:6379 -key bench:floor
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "the Redis the bot uses")
	key := flag.String("key", "bench:floor", "the key every request SETs")
	flag.Parse()
	if err := run(ctx, *addr, *redisAddr, *key); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, redisAddr, key string) error {
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", redisAddr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", newHandler(c, key))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintln(os.Stderr, "floor: serving on", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shut, done := context.WithTimeout(context.Background(), 3*time.Second)
	defer done()
	return srv.Shutdown(shut)
}

// newHandler reads the request body, SETs key to a counter with a deadline, and answers
// "ok" (or 503 when Redis fails).
func newHandler(c redis.UniversalClient, key string) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		ctx, cancel := context.WithTimeout(r.Context(), 4*time.Second)
		defer cancel()
		if err := c.Set(ctx, key, strconv.FormatInt(n.Add(1), 10), 0).Err(); err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}
