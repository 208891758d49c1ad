package simkit

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// The simulators keep their sandbox in a JSON state file. What each one
// keeps, its version and its log wording are its own; the file handling
// below is shared: an atomic replace on save, and on load a missing file is
// a fresh sandbox while an unusable one is set aside, never destroyed.

// WriteFileAtomic replaces path with data so that a crash leaves either the
// old or the new content, never a torn file: a temporary file in the same
// directory (created with mode 0700 when missing) is written with mode 0600,
// fsynced and renamed over path, then the directory is synced. On failure
// path is untouched and no temporary file is left behind.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the write failed anyway
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// CorruptFileError is LoadJSON's error for a file that was read but cannot
// be used. Its message is the cause's.
type CorruptFileError struct {
	Path    string
	Err     error  // the JSON decoding error, or the check's
	MovedTo string // where the file was set aside; "" when it could not be
	MoveErr error  // why it could not be set aside
}

func (e *CorruptFileError) Error() string { return e.Err.Error() }
func (e *CorruptFileError) Unwrap() error { return e.Err }

// LoadJSON decodes the JSON file at path into v, then calls check (when not
// nil), which judges the decoded value (its version, its records) and may
// install it. It reports whether both succeeded:
//
//   - a missing file is (false, nil): a fresh sandbox;
//   - a file that cannot be read (say a directory) is left where it is and
//     its error returned;
//   - a file that does not decode, or that check refuses, is renamed to
//     path+".corrupt", so that the next save cannot destroy it, and a
//     *CorruptFileError is returned.
//
// LoadJSON logs nothing: each simulator words its own warnings.
func LoadJSON(path string, v any, check func() error) (loaded bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err = json.Unmarshal(b, v); err == nil && check != nil {
		err = check()
	}
	if err == nil {
		return true, nil
	}
	bad := &CorruptFileError{Path: path, Err: err, MovedTo: path + ".corrupt"}
	if bad.MoveErr = os.Rename(path, bad.MovedTo); bad.MoveErr != nil {
		bad.MovedTo = ""
	}
	return false, bad
}
