package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Store is the database. Every method takes a context and every query on a
// merchant's data is scoped by its id.
type Store struct {
	db *gorm.DB
}

// NewStore wraps an open GORM database. main.go opens it with the dialect's
// driver (SQLite by default, PostgreSQL through DATABASE_URL).
func NewStore(db *gorm.DB) *Store {
	registerDBTimes(db)
	return &Store{db: db}
}

// GormConfig is the GORM configuration Ankara uses with every dialect.
func GormConfig() *gorm.Config {
	return &gorm.Config{
		SkipDefaultTransaction: true,
		TranslateError:         true,
		Logger:                 logger.Discard,
		NowFunc:                nowUTC,
	}
}

// nowUTC is the current time as the database keeps it: in UTC, to the
// microsecond (PostgreSQL's TIMESTAMP precision), so that a value written
// reads back equal on every dialect.
func nowUTC() time.Time { return dbTime(time.Now()) }

// dbTime is the instant t as the database keeps it: in UTC, to the
// microsecond. TIMESTAMP columns have no zone: PostgreSQL (pgx) would store
// the wall clock of a time in another zone and drop its offset, and SQLite
// compares the text it stores, offset included. Every time a query writes or
// compares goes through dbTime first.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

const dbTimesCallback = "ankara:db_times"

// registerDBTimes makes every create and update of a model or of a column
// map write its times as dbTime, whatever zone the caller's values are in.
func registerDBTimes(db *gorm.DB) {
	cb := db.Callback()
	if cb.Create().Get(dbTimesCallback) == nil {
		if err := cb.Create().Before("gorm:create").Register(dbTimesCallback, dbTimes); err != nil {
			db.AddError(err)
		}
	}
	if cb.Update().Get(dbTimesCallback) == nil {
		if err := cb.Update().Before("gorm:update").Register(dbTimesCallback, dbTimes); err != nil {
			db.AddError(err)
		}
	}
}

// dbTimes is the callback: it rewrites the time columns of the statement's
// destination (a model, a slice of models, or an Updates map) in place.
func dbTimes(db *gorm.DB) {
	stmt := db.Statement
	if m, ok := stmt.Dest.(map[string]any); ok {
		for k, v := range m {
			switch t := v.(type) {
			case time.Time:
				m[k] = dbTime(t)
			case *time.Time:
				if t != nil {
					m[k] = dbTime(*t)
				}
			}
		}
		return
	}
	if stmt.Schema == nil || !stmt.ReflectValue.IsValid() {
		return
	}
	switch rv := stmt.ReflectValue; rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			dbTimesRow(stmt, reflect.Indirect(rv.Index(i)))
		}
	case reflect.Struct:
		dbTimesRow(stmt, rv)
	}
}

func dbTimesRow(stmt *gorm.Statement, rv reflect.Value) {
	if rv.Kind() != reflect.Struct || !rv.CanAddr() {
		return
	}
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" {
			continue
		}
		v := f.ReflectValueOf(stmt.Context, rv)
		if !v.CanSet() {
			continue
		}
		switch t := v.Interface().(type) {
		case time.Time:
			v.Set(reflect.ValueOf(dbTime(t)))
		case *time.Time:
			if t != nil {
				u := dbTime(*t)
				v.Set(reflect.ValueOf(&u))
			}
		}
	}
}

// DB exposes the underlying handle to benchmarks and health checks.
func (s *Store) DB() *gorm.DB { return s.db }

// Tx runs fn in a transaction.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&Store{db: tx})
	})
}

// Ping checks that the database answers and is migrated to the latest version.
func (s *Store) Ping(ctx context.Context) error {
	var v int
	err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	want, err := latestMigration()
	if err != nil {
		return err
	}
	if v < want {
		return fmt.Errorf("database at migration %d, want %d", v, want)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationsFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", e.Name())
		}
		b, err := migrationsFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{v, e.Name(), string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func latestMigration() (int, error) {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	return ms[len(ms)-1].version, nil
}

// Migrate applies every embedded migration that the database has not seen,
// each in its own transaction, in version order. Instances that start at
// once migrate one after the other.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	if s.db.Dialector.Name() != "postgres" {
		// SQLite: every transaction begins IMMEDIATE (the DSN's _txlock),
		// so a second instance waits for the first one's migration and
		// then sees it applied.
		return s.migrate(ctx, log)
	}
	// PostgreSQL runs the transactions side by side: two instances would
	// both find a migration missing and both apply it, and the second fails.
	// A session advisory lock, per schema, on one pinned connection makes
	// them take turns.
	return s.db.WithContext(ctx).Connection(func(conn *gorm.DB) (err error) {
		const key = "hashtext(current_schema() || '.schema_migrations')"
		if err := conn.Exec("SELECT pg_advisory_lock(" + key + ")").Error; err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer func() {
			uerr := conn.WithContext(context.WithoutCancel(ctx)).Exec("SELECT pg_advisory_unlock(" + key + ")").Error
			if uerr != nil && err == nil {
				err = fmt.Errorf("unlock migrations: %w", uerr)
			}
		}()
		return (&Store{db: conn}).migrate(ctx, log)
	})
}

func (s *Store) migrate(ctx context.Context, log *slog.Logger) error {
	db := s.db.WithContext(ctx)
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`).Error; err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := db.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(m.sql) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			log.Info("applied migration", "version", m.version, "name", m.name)
			return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, nowUTC()).Error
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// splitSQL splits a migration on semicolons at the end of a line, dropping
// comment-only statements.
func splitSQL(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// notFound translates GORM's not-found error into a domain error.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return Errorf(ENOTFOUND, "%s not found.", what)
	}
	return err
}

// isDuplicate reports a unique-constraint violation.
func isDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey) || (err != nil && strings.Contains(strings.ToLower(err.Error()), "unique"))
}
