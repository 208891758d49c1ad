// Command ankara is a merchant invoicing dashboard for mobile money and
// local payment rails (MTN MoMo, IremboPay, Monnify, MobilePay).
//
//	ankara serve     serve the dashboard (default)
//	ankara sandbox   serve only the provider simulators
//	ankara migrate   apply database migrations and exit
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"ankara/handlers"
	"ankara/models"
	"ankara/providers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ankara:", err)
		os.Exit(1)
	}
}

// Config is everything Ankara reads from its environment (design.md §10).
type Config struct {
	Addr        string
	BaseURL     string
	DatabaseURL string
	DataDir     string
	Secret      []byte
	Sandbox     bool
	LogLevel    slog.Level
	// Demo seeds a demo merchant and prints its credentials (make run).
	DemoEmail, DemoPassword string
}

func loadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:         get("ANKARA_ADDR", ":8080"),
		BaseURL:      strings.TrimRight(get("ANKARA_BASE_URL", "http://localhost:8080"), "/"),
		DataDir:      get("ANKARA_DATA_DIR", "data"),
		DemoEmail:    get("ANKARA_DEMO_EMAIL", ""),
		DemoPassword: get("ANKARA_DEMO_PASSWORD", ""),
	}
	c.DatabaseURL = get("DATABASE_URL", "sqlite:"+filepath.Join(c.DataDir, "ankara.db"))
	switch strings.ToLower(get("ANKARA_SANDBOX", "false")) {
	case "1", "true", "yes", "on":
		c.Sandbox = true
	case "0", "false", "no", "off":
	default:
		return c, fmt.Errorf("ANKARA_SANDBOX must be true or false")
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("ANKARA_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("ANKARA_LOG_LEVEL: %w", err)
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return c, fmt.Errorf("ANKARA_BASE_URL must start with http:// or https://")
	}
	if s := getenv("ANKARA_SECRET"); s != "" {
		if len(s) < 32 {
			return c, fmt.Errorf("ANKARA_SECRET must be at least 32 characters")
		}
		c.Secret = []byte(s)
	}
	return c, nil
}

// loadSecret returns the configured secret, or the one generated into the
// data directory (mode 0600) on first start. The secret is never logged.
func loadSecret(c *Config) error {
	if c.Secret != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.Secret = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read secret: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	c.Secret = []byte(s)
	return nil
}

// openDB opens SQLite (WAL, busy timeout, foreign keys, synchronous=FULL so
// that an acknowledged callback survives a power cut) or PostgreSQL.
func openDB(c Config) (*gorm.DB, error) {
	var dial gorm.Dialector
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		path := strings.TrimPrefix(c.DatabaseURL, "sqlite:")
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database dir: %w", err)
			}
		}
		dial = sqlite.Open("file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL&_txlock=immediate")
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		dial = postgres.Open(c.DatabaseURL)
	default:
		return nil, fmt.Errorf("DATABASE_URL must be sqlite:PATH or postgres://…")
	}
	db, err := gorm.Open(dial, models.GormConfig())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		// One writer at a time is what SQLite does anyway; a small pool
		// keeps readers concurrent under WAL.
		sqlDB.SetMaxOpenConns(8)
	}
	return db, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		db, err := openDB(cfg)
		if err != nil {
			return err
		}
		return models.NewStore(db).Migrate(ctx, log)
	case "sandbox":
		return sandbox(ctx, cfg, log)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: ankara [serve|sandbox|migrate]")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, sandbox or migrate)", cmd)
}

// App is the wired application; tests build it the same way main does.
type App struct {
	Handler    http.Handler
	Service    *models.Service
	Worker     *models.Worker
	Simulators map[models.ProviderName]providers.Simulator
}

// Close stops the simulators' background deliveries.
func (a *App) Close() {
	for _, s := range a.Simulators {
		s.Close()
	}
}

func newApp(ctx context.Context, cfg Config, db *gorm.DB, log *slog.Logger) (*App, error) {
	store := models.NewStore(db)
	if err := store.Migrate(ctx, log); err != nil {
		return nil, err
	}
	sealer, err := models.NewSealer(cfg.Secret)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	svc := &models.Service{
		Store:     store,
		Providers: providers.New(providers.Options{HTTP: hc, Log: log}),
		Sealer:    sealer,
		Log:       log,
		BaseURL:   cfg.BaseURL,
		Sandbox:   cfg.Sandbox,
	}
	app := &App{Service: svc, Worker: &models.Worker{Service: svc, Interval: time.Second}}
	var sims map[models.ProviderName]http.Handler
	if cfg.Sandbox {
		app.Simulators = providers.NewSimulators(providers.SimOptions{PublicURL: cfg.BaseURL + "/sandbox", HTTP: hc, Log: log, StateDir: filepath.Join(cfg.DataDir, "sandbox")})
		sims = map[models.ProviderName]http.Handler{}
		for k, v := range app.Simulators {
			sims[k] = v
		}
	}
	app.Handler = handlers.New(handlers.Deps{
		Service:    svc,
		Log:        log,
		Secret:     cfg.Secret,
		BaseURL:    cfg.BaseURL,
		Simulators: sims,
	})
	return app, nil
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	if err := loadSecret(&cfg); err != nil {
		return err
	}
	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	app, err := newApp(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: app.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("ankara listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "sandbox", cfg.Sandbox)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workDone := make(chan struct{})
	go func() { app.Worker.Run(workCtx); close(workDone) }()

	if cfg.DemoEmail != "" && cfg.DemoPassword != "" {
		// Seeded after the listener is up: sandbox accounts are provisioned
		// over HTTP on the simulators this server mounts.
		created, err := app.Service.EnsureDemo(ctx, cfg.DemoEmail, cfg.DemoPassword)
		if err != nil {
			log.Error("demo merchant", "err", err)
		} else {
			verb := "ready"
			if created {
				verb = "created"
			}
			fmt.Fprintf(stdout, "\n  Ankara is up: %s\n  Demo merchant %s — log in with %s / %s\n\n", cfg.BaseURL, verb, cfg.DemoEmail, cfg.DemoPassword)
		}
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		stopWork()
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopWork()
	<-workDone
	return err
}

// sandbox serves only the provider simulators, so that an Ankara (or any
// client) can be pointed at them like at the real providers.
func sandbox(ctx context.Context, cfg Config, log *slog.Logger) error {
	sims := providers.NewSimulators(providers.SimOptions{PublicURL: cfg.BaseURL + "/sandbox", HTTP: &http.Client{Timeout: 20 * time.Second}, Log: log, StateDir: filepath.Join(cfg.DataDir, "sandbox")})
	mux := http.NewServeMux()
	for name, sim := range sims {
		prefix := "/sandbox/" + string(name)
		mux.Handle(prefix+"/", http.StripPrefix(prefix, sim))
		defer sim.Close()
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Addr: cfg.Addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("provider simulators listening", "addr", cfg.Addr, "base_url", cfg.BaseURL+"/sandbox/{momo,irembopay,monnify,mobilepay}")
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}
