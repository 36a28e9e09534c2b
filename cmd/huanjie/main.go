// Command huanjie runs the campaign bot.
//
// With no WeCom credentials it runs in local mode: an embedded store (unless REDIS_URL is
// set), a chat page at http://127.0.0.1:8080/ that sends signed, encrypted AI-bot callbacks
// to /wecom/callback exactly as WeCom would, and a webhook stand-in that shows pushes.
// Local mode lets whoever reaches the page act as anyone, so it listens only on a
// loopback address unless LOCAL=1 asks otherwise explicitly.
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
	"strconv"
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
	"huanjie/metrics"
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
	dataFile   string // -data / DATA_FILE: the embedded store's snapshot (and FILE.aof, its log)
	local      bool   // local mode: -local / LOCAL=1, or no credentials
	// localExplicit: -local or LOCAL=1 asked for local mode (it may then listen on a
	// non-loopback address, with a warning).
	localExplicit bool

	token, aesKey    string // WECOM_TOKEN, WECOM_AES_KEY: URL callback
	botID, botSecret string // WECOM_BOT_ID, WECOM_BOT_SECRET: long connection
	wsURL, apiBase   string // WECOM_WS_URL, WECOM_API_BASE: overrides (tests, proxies)
	redisURL         string // REDIS_URL
	redisAddrs       string // REDIS_ADDRS (comma-separated) + REDIS_MASTER: Sentinel/Cluster
	redisMaster      string
	redisPrefix      string         // REDIS_PREFIX (default "hj:")
	logJSON          bool           // LOG_FORMAT=json
	photosDir        string         // PHOTOS_DIR: the photo archive folder
	downloadsDir     string         // DOWNLOADS_DIR: generated files behind download links
	downloadsMaxMB   int64          // DOWNLOADS_MAX_MB: that folder's cap
	limits           storage.Limits // HISTORY_KEEP, UNDO_KEEP, AUDIT_KEEP
	auditDir         string         // AUDIT_ARCHIVE_DIR: where old audit events go
	publicURL        string         // PUBLIC_URL: how people reach this bot (download links, dashboard)
	dashboardToken   string         // DASHBOARD_TOKEN: the read-only dashboard's access token
	metricsAddr      string         // METRICS_ADDR: serve /metrics there instead of on addr
	replayWindow     time.Duration  // WECOM_REPLAY_WINDOW: how old (or early) a callback may be
	localLongConn    bool           // LOCAL_TRANSPORT=longconn: local mode over the long connection
}

func parseSettings(args []string, env func(string) string) (settings, error) {
	fs := flag.NewFlagSet("huanjie", flag.ContinueOnError)
	s := settings{}
	fs.StringVar(&s.configPath, "config", env("CONFIG"), "campaign YAML file (default: the embedded 城西 2021 example)")
	fs.StringVar(&s.addr, "addr", or(env("ADDR"), "127.0.0.1:8080"), "listen address")
	fs.StringVar(&s.dataFile, "data", or(env("DATA_FILE"), "huanjie-data.json"), "snapshot file of the embedded store (when REDIS_URL is unset); its log is FILE.aof")
	fs.BoolVar(&s.local, "local", env("LOCAL") == "1", "serve the local WeCom stand-in even with credentials, or on a non-loopback address (unsafe)")
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
	s.downloadsDir = or(env("DOWNLOADS_DIR"), "huanjie-downloads")
	s.auditDir = or(env("AUDIT_ARCHIVE_DIR"), "huanjie-audit")
	s.limits = storage.DefaultLimits
	mb := int(downloads.DefaultMaxBytes >> 20)
	for _, n := range []struct {
		name string
		to   *int
	}{{"DOWNLOADS_MAX_MB", &mb}, {"HISTORY_KEEP", &s.limits.History}, {"UNDO_KEEP", &s.limits.Undo}, {"AUDIT_KEEP", &s.limits.Audit}} {
		if v := env(n.name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < 1 {
				return s, fmt.Errorf("%s=%q: want a whole number, at least 1", n.name, v)
			}
			*n.to = x
		}
	}
	s.downloadsMaxMB = int64(mb)
	if err := s.limits.Validate(); err != nil {
		return s, fmt.Errorf("HISTORY_KEEP, UNDO_KEEP, AUDIT_KEEP: %w", err)
	}
	s.publicURL = strings.TrimRight(env("PUBLIC_URL"), "/")
	s.dashboardToken = env("DASHBOARD_TOKEN")
	s.metricsAddr = env("METRICS_ADDR")
	s.replayWindow = bot.DefaultReplayWindow
	if v := env("WECOM_REPLAY_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second || d > 24*time.Hour {
			return s, fmt.Errorf("WECOM_REPLAY_WINDOW=%q: want a duration from 10s to 24h, e.g. 5m", v)
		}
		s.replayWindow = d
	}
	if (s.token == "") != (s.aesKey == "") {
		return s, errors.New("WECOM_TOKEN and WECOM_AES_KEY go together: set both or neither")
	}
	if (s.botID == "") != (s.botSecret == "") {
		return s, errors.New("WECOM_BOT_ID and WECOM_BOT_SECRET go together: set both or neither")
	}
	s.localExplicit = s.local
	if s.token != "" && s.botID != "" {
		return s, errors.New("both API modes are configured: the URL callback (WECOM_TOKEN, WECOM_AES_KEY) and the long " +
			"connection (WECOM_BOT_ID, WECOM_BOT_SECRET). WeCom's AI bot takes one API mode at a time and the other " +
			"one would never receive anything: pick the one chosen in the bot's settings and unset the other pair")
	}
	if s.token == "" && s.botID == "" {
		s.local = true
	}
	switch v := env("LOCAL_TRANSPORT"); v {
	case "", "callback":
	case "longconn":
		if !s.local || s.token != "" || s.botID != "" {
			return s, errors.New("LOCAL_TRANSPORT=longconn is for local mode without WeCom credentials")
		}
		s.localLongConn = true
	default:
		return s, fmt.Errorf("LOCAL_TRANSPORT=%q: want callback (the default) or longconn", v)
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
	if err := checkLocalMode(s, log); err != nil {
		return err
	}

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
	met := metrics.New()
	client.AddHook(met.RedisHook())
	store := storage.NewRedis(client, s.redisPrefix)
	if err := store.SetLimits(s.limits); err != nil {
		return err
	}
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
	var gateway *wecomfake.Gateway
	if s.local {
		if !cfg.DemoStart.IsZero() {
			demo = newDemoClock(cfg.DemoStart)
			clock = demo.Now
			log.Warn("local mode: the clock starts at the config's demo_clock and runs on from there", "demo_clock", cfg.DemoStart.In(campaign.Shanghai).Format(time.DateTime))
		}
		// The webhook stand-in counts its 20 a minute on the campaign clock, like the
		// outbox: a fast-forward lets pushes held back by the rate limit go, as the page's
		// queue notice then says.
		fake = wecomfake.New(wecomfake.WithLogger(log), wecomfake.WithClock(clock))
		mux.Handle("/wecom-api/", http.StripPrefix("/wecom-api", fake))
		if s.apiBase == "" {
			s.apiBase = base + "/wecom-api"
		}
		for si := range cfg.Streets {
			for gi := range cfg.Streets[si].Groups {
				g := &cfg.Streets[si].Groups[gi]
				if g.WebhookKey == "" && !s.localLongConn { // over the long connection the bot pushes itself
					g.WebhookKey = "local-" + g.ChatID
				}
				if g.WebhookKey != "" {
					fake.AddKey(g.WebhookKey)
				}
			}
		}
		switch {
		case s.localLongConn:
			gateway = wecomfake.NewGateway(wecomfake.WithLogger(log))
			s.botSecret, _ = randomCredentials()
			s.botID, s.wsURL = "local-aibot", "ws://"+ln.Addr().String()+"/wecom-ws"
			gateway.AddBot(s.botID, s.botSecret)
			mux.Handle("/wecom-ws", gateway)
			log.Info("local mode: the bot talks to the long-connection stand-in and pushes with aibot_send_msg")
		case s.token == "":
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
		files := &downloads.Store{Dir: s.downloadsDir, Base: s.publicURL, MaxBytes: s.downloadsMaxMB << 20, Log: log}
		mux.Handle("/files/", files)
		links = files
		stopSweep := make(chan struct{})
		defer close(stopSweep)
		go files.Run(stopSweep, time.Minute)
	}
	pics := &photos.Service{Store: store, Dir: s.photosDir, Clock: clock, Log: log}
	madeUpToken := false
	if s.dashboardToken == "" && s.local {
		s.dashboardToken, _ = randomCredentials()
		madeUpToken = true
	}
	// One judgement of each street for the chat, the dashboard and the reminders.
	memo := new(campaign.Memo)
	if s.dashboardToken != "" {
		mux.Handle(dashboard.DefaultPrefix, &dashboard.Server{Config: cfg, Filings: store, Photos: store, Bindings: store, ArchiveDir: s.photosDir,
			Token: s.dashboardToken, Zip: pics.Zip, Clock: clock, Log: log, Memo: memo})
		switch {
		case s.publicURL == "":
		case madeUpToken: // a throw-away token of local mode: the link is what one needs
			log.Info("dashboard (read-only; share this link with the leaders)", "url", s.publicURL+dashboard.DefaultPrefix+"?token="+s.dashboardToken)
		default: // the operator's secret stays out of the logs
			log.Info("dashboard (read-only; share this link with the leaders, with DASHBOARD_TOKEN in place of the dots)",
				"url", s.publicURL+dashboard.DefaultPrefix+"?token=…")
		}
	}

	// Pushes go through each group's webhook, or through the bot itself (aibot_send_msg)
	// in long-connection mode: the router chooses per group and per push.
	router := &bot.Router{Webhook: bot.NewWebhook(log), Log: log}
	outbox := store.Outbox()
	met.WatchOutbox(backlogReader(cfg, outbox), clock, 3*time.Second, log)
	sched := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: outbox, Clock: clock, Log: log, Memo: memo}
	deliver := &reminders.Deliverer{Outbox: outbox, Pusher: countedPusher{router, met, metrics.SourceReminders}, Now: clock, Log: log,
		Targets: outboxTargets(cfg),
		Streets: func() []string { return streetIDs(cfg) },
	}
	deps := handlers.Deps{
		Config: cfg, Filings: store, Bindings: store, Confirmations: store, Outbox: outbox,
		// The charts and workbooks pushed at once count against the groups' rate limits
		// as the outbox's pushes do.
		Pusher:    deliver.Direct(countedPusher{router, met, metrics.SourceHandlers}, streetOfChat(cfg)),
		Reminders: sched, Clock: clock, Log: log,
		Photos: pics, PhotoStore: store, Links: links, Memo: memo,
	}
	if crypto != nil {
		deps.MediaKey = crypto.MediaKey()
	}
	h := handlers.New(deps)
	sched.HowToFile = h.HowToFile
	label := commandLabeler(cfg, h.CommandOf)
	var lc *bot.LongConn
	if s.botID != "" {
		lc = bot.NewLongConn(bot.LongConnOptions{URL: s.wsURL, BotID: s.botID, Secret: s.botSecret,
			Handler: timedHandler{next: h, m: met, transport: metrics.TransportLongConn, label: label},
			Ledger:  msgLedger{store}, Log: log, OnSubscribed: subscribedState(met),
			OnReply: countReplies(cfg, outbox, clock, log), Undelivered: answersAsPushes(cfg, outbox, store, clock)})
		router.Bot = lc
	}
	warnPushPaths(cfg, lc != nil, log)
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
		timed := timedHandler{next: h, m: met, transport: metrics.TransportCallback, label: label}
		cb := bot.NewCallback(crypto, timed, notedLedger{msgLedger{store}}, log)
		cb.ReplayWindow = s.replayWindow
		cb.Busy = metrics.NoteBusy
		mux.Handle("/wecom/callback", met.CallbackMiddleware(cb))
		defer func() { // late answers still owed are not abandoned half-way
			wait, cancel := context.WithTimeout(context.Background(), lateShutdownGrace)
			defer cancel()
			if err := cb.Shutdown(wait); err != nil {
				log.Warn("late answers still running at shutdown", "err", err)
			}
		}()
	}
	if s.local {
		page := standin.New(standin.Options{
			CallbackURL: base + "/wecom/callback", Crypto: crypto, Gateway: gateway, BotID: s.botID, BotName: cfg.BotName,
			Personas: personas(cfg), Chats: chats(cfg), Pushes: fake, Log: log, MediaBaseURL: base,
			Queue: newHeldPushes(cfg, outbox, clock), Clock: clock,
		})
		defer page.Close()
		mux.Handle("/", page)
	}
	var health transportHealth
	mux.HandleFunc("/healthz", health.wrap(healthz))
	mux.Handle("/readyz", readyz(client, log))

	errc := make(chan error, 2)
	stopScheduler := sched.Start(ctx)
	defer stopScheduler()
	go func() {
		if err := deliver.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("delivery: %w", err)
		}
	}()
	go func() {
		// One replica moves old audit events to its archive folder.
		archive := func(ctx context.Context) error {
			return store.ArchiveAudit(ctx, streetIDs(cfg), s.auditDir, 10*time.Minute, log)
		}
		if err := store.Lead(ctx, "audit-archive", time.Minute, log, archive); err != nil {
			log.Error("audit archive stopped", "err", err)
		}
	}()
	if lc != nil {
		// WeCom keeps one long connection per bot and a newer one kicks the older, so
		// among replicas only the holder of the lease connects.
		met.SetLongConn(metrics.LongConnStandby)
		lcDone := make(chan struct{})
		defer func() { // answers still owed go out before the store closes
			cancel()
			wait := time.NewTimer(lateShutdownGrace)
			defer wait.Stop()
			select {
			case <-lcDone:
			case <-wait.C:
				log.Warn("long connection: answers still being worked on at shutdown")
			}
		}()
		go func() {
			defer close(lcDone)
			if err := store.Lead(ctx, "longconn:"+s.botID, 15*time.Second, log, leading(met, health.runLongConn(lc))); err != nil {
				errc <- fmt.Errorf("long connection: %w", err)
			}
		}()
		log.Info("long connection: competing for the lease", "bot_id", s.botID)
	}
	srvs := []*http.Server{newServer(mux, log)}
	lns := []net.Listener{ln}
	if s.metricsAddr == "" {
		// On the public address /metrics answers only this machine (a scraper beside the
		// bot, or through a proxy that forwards from loopback): its labels name streets
		// and group chats. Set METRICS_ADDR to serve it to a scraper elsewhere.
		mux.Handle("/metrics", loopbackOnly(met.Handler()))
	} else {
		mln, err := net.Listen("tcp", s.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on METRICS_ADDR %s: %w", s.metricsAddr, err)
		}
		mm := http.NewServeMux()
		mm.Handle("/metrics", met.Handler())
		srvs, lns = append(srvs, newServer(mm, log)), append(lns, mln)
		log.Info("metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	for i, srv := range srvs {
		go func() {
			if err := srv.Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
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
	for _, srv := range srvs {
		_ = srv.Shutdown(shut)
	}
	log.Info("stopped")
	return err
}

func streetIDs(cfg *config.Config) []string {
	ids := make([]string, len(cfg.Streets))
	for i, s := range cfg.Streets {
		ids[i] = s.ID
	}
	return ids
}

func loadConfig(s settings, env func(string) string) (*config.Config, error) {
	if s.configPath == "" {
		return config.Default(env)
	}
	return config.Load(s.configPath, env)
}

// redisReadTimeout is how long a Redis call may wait for its answer unless its context
// says less. go-redis retries a call that timed out, and the first attempt may still run
// once Redis comes back: a script would then be applied twice. With a timeout longer
// than a usual stall (a fork for a snapshot, a failover), a stall of a few seconds costs
// no retry; calls that must not wait that long (the message ledger on WeCom's 5 seconds)
// carry their own deadline, which go-redis honours with ContextTimeoutEnabled.
const redisReadTimeout = 10 * time.Second

// openRedis connects to REDIS_URL / REDIS_ADDRS, or opens the embedded store.
func openRedis(ctx context.Context, s settings, log *slog.Logger) (redis.UniversalClient, func(), error) {
	var client redis.UniversalClient
	switch {
	case s.redisAddrs != "":
		client = redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(s.redisAddrs, ","), MasterName: s.redisMaster,
			ContextTimeoutEnabled: true, ReadTimeout: redisReadTimeout})
	case s.redisURL != "":
		opt, err := redis.ParseURL(s.redisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opt.ContextTimeoutEnabled, opt.ReadTimeout = true, redisReadTimeout
		client = redis.NewClient(opt)
	default:
		// Every write is synced to the store's log before it is acknowledged; Close
		// folds the log into the snapshot.
		emb, err := storage.OpenEmbedded(ctx, s.dataFile, log)
		if err != nil {
			return nil, nil, err
		}
		return emb.Client(), func() {
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

// loopbackOnly serves h to requests from a loopback address only.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
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
