package simkit

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The simulators keep their sandbox in a JSON state file. What each one
// keeps, its version and its log wording are its own; the file handling
// below is shared: an atomic replace on save, made outside the simulator's
// lock and in order (StateWriter), and on load a missing file is a fresh
// sandbox while an unusable one is set aside, never destroyed.

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

// StateWriter writes a simulator's state file without holding the
// simulator's lock across the disk: the caller encodes its state and calls
// Snapshot with its own mutex held, releases the mutex, then calls Write.
// The snapshot's sequence number is taken under that mutex, so it orders
// the snapshots as the changes happened. Writes take turns (one
// WriteFileAtomic at a time) and a snapshot older than one already written
// is skipped, so the file never goes back in time however the writers are
// scheduled; once Write returns nil the snapshot, or a newer one, is on
// disk. A failed write is returned to the caller, which logs it; the next
// change's snapshot, Flush or Close tries again.
//
// A nil *StateWriter (no state file) does nothing: Snapshot returns nil and
// the other methods return nil.
type StateWriter struct {
	path string

	snapMu  sync.Mutex     // never held across a write
	seq     uint64         // the last sequence number handed out
	pending *StateSnapshot // the newest snapshot not known to be written

	mu      sync.Mutex // held for the whole of a write: writes take turns
	written uint64     // the sequence number of the snapshot on disk
	closed  bool
}

// StateSnapshot is a simulator's encoded state after one change.
type StateSnapshot struct {
	seq  uint64
	data []byte
}

// NewStateWriter returns a writer for the state file at path; an empty path
// returns nil, a writer that writes nothing.
func NewStateWriter(path string) *StateWriter {
	if path == "" {
		return nil
	}
	return &StateWriter{path: path}
}

// Snapshot numbers data, the caller's whole encoded state, as the newest
// state. Call it with the caller's own mutex held, the one that guards the
// state data encodes, and pass the result to Write once that mutex is
// released. data must not be changed afterwards.
func (w *StateWriter) Snapshot(data []byte) *StateSnapshot {
	if w == nil {
		return nil
	}
	w.snapMu.Lock()
	defer w.snapMu.Unlock()
	w.seq++
	snap := &StateSnapshot{seq: w.seq, data: data}
	w.pending = snap
	return snap
}

// Write writes snap to the state file with WriteFileAtomic unless a newer
// snapshot has already been written (it then returns nil: what snap holds
// is on disk). It waits for a write under way, so call it without holding
// the caller's mutex. A nil snap, or a closed writer, writes nothing.
func (w *StateWriter) Write(snap *StateSnapshot) error {
	if w == nil || snap == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(snap)
}

// Flush writes the newest snapshot if it is not on disk yet: one whose
// write failed, or whose Write has not run yet. It returns nil when there
// is nothing to write.
func (w *StateWriter) Flush() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

// Close flushes (see Flush), then stops the writer: later Writes and
// Flushes write nothing, so a closed simulator can never overwrite the file
// of the one that replaced it. Close returns the flush's error.
func (w *StateWriter) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.flushLocked()
	w.closed = true
	return err
}

func (w *StateWriter) flushLocked() error {
	w.snapMu.Lock()
	snap := w.pending
	w.snapMu.Unlock()
	if snap == nil {
		return nil
	}
	return w.writeLocked(snap)
}

// writeLocked writes snap unless it is not newer than the file; w.mu held.
func (w *StateWriter) writeLocked(snap *StateSnapshot) error {
	if w.closed || snap.seq <= w.written {
		return nil
	}
	if err := WriteFileAtomic(w.path, snap.data); err != nil {
		return err
	}
	w.written = snap.seq
	w.snapMu.Lock()
	if w.pending != nil && w.pending.seq <= snap.seq {
		w.pending = nil // on disk: drop the reference to its bytes
	}
	w.snapMu.Unlock()
	return nil
}
