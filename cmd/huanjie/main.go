// Command huanjie runs the campaign bot.
//
// With no WeCom credentials it runs in local mode: an embedded store (unless REDIS_URL is
// set), a chat page at http://127.0.0.1:8080/ that sends signed, encrypted AI-bot callbacks
// to /wecom/callback exactly as WeCom would, and a webhook stand-in that shows pushes.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai in minimal images

	"github.com/redis/go-redis/v9"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/dashboard"
	"huanjie/downloads"
	"huanjie/handlers"
	"huanjie/photos"
	"huanjie/reminders"
	"huanjie/standin"
	"huanjie/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "huanjie:", err)
		os.Exit(1)
	}
}

// settings are the flags and environment variables of the operator contract.
type settings struct {
	configPath string // -config / CONFIG
	addr       string // -addr / ADDR
	dataFile   string // -data / DATA_FILE: the embedded store's snapshot
	local      bool   // -local / LOCAL=1: force the local stand-in

	token, aesKey    string // WECOM_TOKEN, WECOM_AES_KEY: URL callback
	botID, botSecret string // WECOM_BOT_ID, WECOM_BOT_SECRET: long connection
	wsURL, apiBase   string // WECOM_WS_URL, WECOM_API_BASE: overrides (tests, proxies)
	redisURL         string // REDIS_URL
	redisAddrs       string // REDIS_ADDRS (comma-separated) + REDIS_MASTER: Sentinel/Cluster
	redisMaster      string
	redisPrefix      string // REDIS_PREFIX (default "hj:")
	logJSON          bool   // LOG_FORMAT=json
	photosDir        string // PHOTOS_DIR: the photo archive folder
	publicURL        string // PUBLIC_URL: how people reach this bot (download links, dashboard)
	dashboardToken   string // DASHBOARD_TOKEN: the read-only dashboard's access token
}

func parseSettings(args []string, env func(string) string) (settings, error) {
	fs := flag.NewFlagSet("huanjie", flag.ContinueOnError)
	s := settings{}
	fs.StringVar(&s.configPath, "config", env("CONFIG"), "campaign YAML file (default: the embedded 城西 2021 example)")
	fs.StringVar(&s.addr, "addr", or(env("ADDR"), "127.0.0.1:8080"), "listen address")
	fs.StringVar(&s.dataFile, "data", or(env("DATA_FILE"), "huanjie-data.json"), "snapshot file of the embedded store (when REDIS_URL is unset)")
	fs.BoolVar(&s.local, "local", env("LOCAL") == "1", "serve the local WeCom stand-in even with credentials")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	s.token, s.aesKey = env("WECOM_TOKEN"), env("WECOM_AES_KEY")
	s.botID, s.botSecret = env("WECOM_BOT_ID"), env("WECOM_BOT_SECRET")
	s.wsURL, s.apiBase = env("WECOM_WS_URL"), env("WECOM_API_BASE")
	s.redisURL, s.redisAddrs, s.redisMaster = env("REDIS_URL"), env("REDIS_ADDRS"), env("REDIS_MASTER")
	s.redisPrefix = or(env("REDIS_PREFIX"), "hj:")
	s.logJSON = env("LOG_FORMAT") == "json"
	s.photosDir = or(env("PHOTOS_DIR"), "huanjie-photos")
	s.publicURL = strings.TrimRight(env("PUBLIC_URL"), "/")
	s.dashboardToken = env("DASHBOARD_TOKEN")
	if (s.token == "") != (s.aesKey == "") {
		return s, errors.New("WECOM_TOKEN and WECOM_AES_KEY go together: set both or neither")
	}
	if (s.botID == "") != (s.botSecret == "") {
		return s, errors.New("WECOM_BOT_ID and WECOM_BOT_SECRET go together: set both or neither")
	}
	if s.token == "" && s.botID == "" {
		s.local = true
	}
	return s, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// run starts the bot and blocks until ctx ends. ready, if not nil, receives the
// address it listens on.
func run(ctx context.Context, args []string, env func(string) string, logOut io.Writer, ready chan<- string) error {
	s, err := parseSettings(args, env)
	if err != nil {
		return err
	}
	var lh slog.Handler = slog.NewTextHandler(logOut, nil)
	if s.logJSON {
		lh = slog.NewJSONHandler(logOut, nil)
	}
	log := slog.New(lh)

	cfg, err := loadConfig(s, env)
	if err != nil {
		return err
	}
	log.Info("config loaded", "source", cfg.Source, "streets", len(cfg.Streets))

	client, closeStore, err := openRedis(ctx, s, log)
	if err != nil {
		return err
	}
	defer closeStore()
	store := storage.NewRedis(client, s.redisPrefix)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	base := "http://" + ln.Addr().String()

	clock := time.Now
	var demo *demoClock
	mux := http.NewServeMux()
	var fake *wecomfake.Server
	if s.local {
		fake = wecomfake.New(wecomfake.WithLogger(log))
		mux.Handle("/wecom-api/", http.StripPrefix("/wecom-api", fake))
		if s.apiBase == "" {
			s.apiBase = base + "/wecom-api"
		}
		for si := range cfg.Streets {
			for gi := range cfg.Streets[si].Groups {
				g := &cfg.Streets[si].Groups[gi]
				if g.WebhookKey == "" {
					g.WebhookKey = "local-" + g.ChatID
				}
				fake.AddKey(g.WebhookKey)
			}
		}
		if !cfg.DemoStart.IsZero() {
			demo = newDemoClock(cfg.DemoStart)
			clock = demo.Now
			log.Warn("local mode: the clock starts at the config's demo_clock and runs on from there", "demo_clock", cfg.DemoStart.In(campaign.Shanghai).Format(time.DateTime))
		}
		if s.token == "" {
			s.token, s.aesKey = randomCredentials()
			log.Info("local mode: generated a callback token and EncodingAESKey for the stand-in")
		}
	}
	if err := bot.SetWeComAPIBase(s.apiBase); err != nil {
		return err
	}

	// The callback's crypto: WeCom's credentials, or the ones made up for local mode.
	var crypto *bot.Crypto
	if s.token != "" {
		if crypto, err = bot.NewCrypto(s.token, s.aesKey, ""); err != nil {
			return fmt.Errorf("WECOM_TOKEN/WECOM_AES_KEY: %w", err)
		}
	}

	// Links to generated files, and the dashboard.
	if s.publicURL == "" && s.local {
		s.publicURL = base
	}
	var links handlers.Links
	if s.publicURL != "" {
		store := &downloads.Store{Base: s.publicURL}
		mux.Handle("/files/", store)
		links = store
	}
	pics := &photos.Service{Store: store, Dir: s.photosDir, Clock: clock, Log: log}
	if s.dashboardToken == "" && s.local {
		s.dashboardToken, _ = randomCredentials()
	}
	if s.dashboardToken != "" {
		mux.Handle(dashboard.DefaultPrefix, &dashboard.Server{Config: cfg, Filings: store, Photos: store, ArchiveDir: s.photosDir,
			Token: s.dashboardToken, Zip: pics.Zip, Clock: clock, Log: log})
		if s.publicURL != "" {
			log.Info("dashboard (read-only; share this link with the leaders)", "url", s.publicURL+dashboard.DefaultPrefix+"?token="+s.dashboardToken)
		}
	}

	webhook := bot.NewWebhook(log)
	outbox := store.Outbox()
	sched := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: outbox, Clock: clock, Log: log}
	deps := handlers.Deps{
		Config: cfg, Filings: store, Bindings: store, Pusher: webhook, Reminders: sched, Clock: clock, Log: log,
		Photos: pics, PhotoStore: store, Links: links,
	}
	if crypto != nil {
		deps.MediaKey = crypto.MediaKey()
	}
	h := handlers.New(deps)
	sched.HowToFile = h.HowToFile
	deliver := &reminders.Deliverer{Outbox: outbox, Pusher: webhook, Now: clock, Log: log,
		Keys: func(street, chatID string) (string, bool) {
			if s, g, ok := cfg.StreetOfChat(chatID); ok && s.ID == street && g.WebhookKey != "" {
				return g.WebhookKey, true
			}
			return "", false
		},
		Streets: func() []string {
			ids := make([]string, len(cfg.Streets))
			for i, s := range cfg.Streets {
				ids[i] = s.ID
			}
			return ids
		},
	}
	for _, st := range cfg.Streets {
		if !reminders.CoversYear(cfg.Calendar, st.Year()) {
			log.Warn("the config's calendar lists no holidays for the campaign year: reminders treat only weekends as days off",
				"street", st.ID, "year", st.Year())
		}
	}
	if demo != nil {
		mux.Handle("/api/clock", &clockAPI{clock: demo,
			next: func() (time.Time, bool) { return sched.Next(ctx) },
			fire: func() {
				if err := sched.Tick(ctx); err != nil {
					log.Error("reminders: tick failed", "err", err)
				}
				if _, err := deliver.RunOnce(ctx); err != nil {
					log.Error("reminders: delivery failed", "err", err)
				}
			}})
	}

	if crypto != nil {
		mux.Handle("/wecom/callback", bot.NewCallback(crypto, h, store, log))
		if s.local {
			page := standin.New(standin.Options{
				CallbackURL: base + "/wecom/callback", Crypto: crypto, BotName: cfg.BotName,
				Personas: personas(cfg), Chats: chats(cfg), Pushes: fake, Log: log, MediaBaseURL: base,
			})
			defer page.Close()
			mux.Handle("/", page)
		}
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := client.Ping(r.Context()).Err(); err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})

	errc := make(chan error, 2)
	stopScheduler := sched.Start(ctx)
	defer stopScheduler()
	go func() {
		if err := deliver.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("delivery: %w", err)
		}
	}()
	if s.botID != "" {
		// WeCom keeps one long connection per bot and a newer one kicks the older, so
		// among replicas only the holder of the lease connects.
		lc := bot.NewLongConn(bot.LongConnOptions{URL: s.wsURL, BotID: s.botID, Secret: s.botSecret, Handler: h, Dedup: store, Log: log})
		go func() {
			if err := store.Lead(ctx, "longconn:"+s.botID, 15*time.Second, log, lc.Run); err != nil {
				errc <- fmt.Errorf("long connection: %w", err)
			}
		}()
		log.Info("long connection: competing for the lease", "bot_id", s.botID)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if s.local {
		log.Info("local mode: open the chat page", "url", base+"/")
	}
	log.Info("serving", "addr", ln.Addr().String(), "callback", base+"/wecom/callback")
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = srv.Shutdown(shut)
	log.Info("stopped")
	return err
}

func loadConfig(s settings, env func(string) string) (*config.Config, error) {
	if s.configPath == "" {
		return config.Default(env)
	}
	return config.Load(s.configPath, env)
}

// openRedis connects to REDIS_URL / REDIS_ADDRS, or opens the embedded store.
func openRedis(ctx context.Context, s settings, log *slog.Logger) (redis.UniversalClient, func(), error) {
	var client redis.UniversalClient
	switch {
	case s.redisAddrs != "":
		client = redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(s.redisAddrs, ","), MasterName: s.redisMaster})
	case s.redisURL != "":
		opt, err := redis.ParseURL(s.redisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		client = redis.NewClient(opt)
	default:
		emb, err := storage.OpenEmbedded(ctx, s.dataFile, log)
		if err != nil {
			return nil, nil, err
		}
		stop := make(chan struct{})
		go func() { // save now and then, so a crash loses little
			t := time.NewTicker(30 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					if err := emb.Save(); err != nil {
						log.Error("saving the embedded store failed", "err", err)
					}
				case <-stop:
					return
				}
			}
		}()
		return emb.Client(), func() {
			close(stop)
			if err := emb.Close(); err != nil {
				log.Error("saving the embedded store failed", "err", err)
			}
		}, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		return nil, nil, fmt.Errorf("redis does not answer: %w", err)
	}
	return client, func() { client.Close() }, nil
}

// randomCredentials makes a token and a 43-character EncodingAESKey for local mode.
func randomCredentials() (token, aesKey string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return base64.RawURLEncoding.EncodeToString(b)[:24], strings.TrimSuffix(base64.StdEncoding.EncodeToString(k), "=")
}

// personas are the people the chat page lets you speak as: everyone in the config, and
// one stranger to try 绑定 with.
func personas(cfg *config.Config) []standin.Persona {
	var out []standin.Persona
	for _, s := range cfg.Streets {
		for _, p := range s.People {
			label := p.Name + " · "
			switch p.Role {
			case campaign.RoleSecretary:
				label += p.Community + "社区" + p.Title
			case campaign.RoleOffice:
				label += "街道计生协办公室"
			default:
				label += "领导小组" + p.Title
			}
			out = append(out, standin.Persona{UserID: p.UserID, Label: label})
		}
	}
	return append(out, standin.Persona{UserID: "newcomer01", Label: "新同事 · 未登记"})
}

func chats(cfg *config.Config) []standin.Chat {
	var out []standin.Chat
	for _, s := range cfg.Streets {
		for _, g := range s.Groups {
			out = append(out, standin.Chat{ChatID: g.ChatID, Name: g.Name, WebhookKey: g.WebhookKey})
		}
	}
	return out
}
