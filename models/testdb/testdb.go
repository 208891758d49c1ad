// Package testdb opens the database a test runs on: a fresh SQLite file by
// default, or, when TEST_DATABASE_URL is set to a postgres:// URL, a fresh
// schema of its own on that PostgreSQL server, dropped when the test ends.
//
//	TEST_DATABASE_URL=postgres://ankara:ankara@127.0.0.1:5432/ankara?sslmode=disable go test ./...
//
// It takes the GORM configuration as an argument so that package models'
// own tests can use it without an import cycle.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// EnvVar names the environment variable that selects PostgreSQL.
const EnvVar = "TEST_DATABASE_URL"

// SQLiteParams are the connection parameters the tests open SQLite with,
// as the application opens it.
const SQLiteParams = "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvVar) != "" }

// Open opens a fresh, empty (unmigrated) database for t and closes (and on
// PostgreSQL drops) it in t.Cleanup.
func Open(t testing.TB, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	db, cleanup, err := OpenIn(t.TempDir(), cfg)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return db
}

// OpenIn is Open for code without a testing.TB (TestMain, shared benchmark
// fixtures): the SQLite file goes in dir, and cleanup closes the database
// (and drops the PostgreSQL schema).
func OpenIn(dir string, cfg *gorm.Config) (db *gorm.DB, cleanup func() error, err error) {
	raw := os.Getenv(EnvVar)
	if raw == "" {
		db, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "ankara.db")+SQLiteParams), cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("open sqlite: %w", err)
		}
		return db, func() error { return closeDB(db) }, nil
	}
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return nil, nil, fmt.Errorf("%s must be a postgres:// URL", EnvVar)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", EnvVar, err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, nil, err
	}
	schema := "test_" + hex.EncodeToString(b[:])

	admin, err := gorm.Open(postgres.Open(raw), &gorm.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", EnvVar, err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeDB(admin)
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() error {
		err := admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE").Error
		return errors.Join(err, closeDB(admin))
	}

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err = gorm.Open(postgres.Open(u.String()), cfg)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("open postgres: %w", err), drop())
	}
	return db, func() error { return errors.Join(closeDB(db), drop()) }, nil
}

func closeDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
