package simkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomicCreatesDirAndFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data", "sandbox")
	file := filepath.Join(dir, "sim.json")
	if err := WriteFileAtomic(file, []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != `{"version":1}` {
		t.Fatalf("content = %q, %v", b, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, %v", fi.Mode(), err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: mode = %v, %v", d, fi.Mode(), err)
		}
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "sim.json" {
		t.Fatalf("directory holds %v, want only sim.json", names)
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := os.WriteFile(file, []byte("old content, longer than the new"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		want := fmt.Sprintf("new %d", i)
		if err := WriteFileAtomic(file, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(file); err != nil || string(b) != want {
			t.Fatalf("content = %q, %v; want %q", b, err, want)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("a replaced file's mode = %v, %v", fi.Mode(), err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

func TestWriteFileAtomicFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := os.Mkdir(file, 0o700); err != nil { // a directory cannot be renamed over
		t.Fatal(err)
	}
	if err := WriteFileAtomic(file, []byte("x")); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if fi, err := os.Stat(file); err != nil || !fi.IsDir() {
		t.Fatalf("the directory was touched: %v %v", fi, err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

type testState struct {
	Version int      `json:"version"`
	Names   []string `json:"names"`
}

func checkVersion(st *testState) func() error {
	return func() error {
		if st.Version != 1 {
			return fmt.Errorf("version %d", st.Version)
		}
		return nil
	}
}

func TestLoadJSON(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := WriteFileAtomic(file, []byte(`{"version":1,"names":["a","b"]}`)); err != nil {
		t.Fatal(err)
	}
	var st testState
	loaded, err := LoadJSON(file, &st, checkVersion(&st))
	if !loaded || err != nil || len(st.Names) != 2 {
		t.Fatalf("LoadJSON = %v, %v; state %+v", loaded, err, st)
	}
	// Without a check the decoded value is taken as it is.
	st = testState{}
	if loaded, err := LoadJSON(file, &st, nil); !loaded || err != nil || st.Version != 1 {
		t.Fatalf("LoadJSON without check = %v, %v; state %+v", loaded, err, st)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("a good file was moved: %v", names)
	}
}

func TestLoadJSONMissingFile(t *testing.T) {
	dir := t.TempDir()
	called := false
	var st testState
	loaded, err := LoadJSON(filepath.Join(dir, "none", "sim.json"), &st, func() error { called = true; return nil })
	if loaded || err != nil || called {
		t.Fatalf("missing file: loaded %v, err %v, check called %v", loaded, err, called)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("a missing file left %v", names)
	}
}

func TestLoadJSONCorruptFileIsSetAside(t *testing.T) {
	refused := errors.New("refused")
	for name, tc := range map[string]struct {
		content string
		check   func(*testState) func() error
		cause   error // wanted cause, when it is known
	}{
		"not json":      {content: `{"version":1,"names":[`, check: checkVersion},
		"wrong type":    {content: `{"version":"one"}`, check: checkVersion},
		"other version": {content: `{"version":99,"names":[]}`, check: checkVersion},
		"refused":       {content: `{"version":1}`, check: func(*testState) func() error { return func() error { return refused } }, cause: refused},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "sim.json")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var st testState
			loaded, err := LoadJSON(file, &st, tc.check(&st))
			var bad *CorruptFileError
			if loaded || !errors.As(err, &bad) {
				t.Fatalf("LoadJSON = %v, %v; want a *CorruptFileError", loaded, err)
			}
			if bad.Path != file || bad.MovedTo != file+".corrupt" || bad.MoveErr != nil || bad.Err == nil || err.Error() != bad.Err.Error() {
				t.Fatalf("error = %+v", bad)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("error %v does not wrap %v", err, tc.cause)
			}
			if b, err := os.ReadFile(file + ".corrupt"); err != nil || string(b) != tc.content {
				t.Fatalf("set aside: %q, %v", b, err)
			}
			if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the corrupt file is still in place: %v", err)
			}
			// The next load is a fresh sandbox.
			if loaded, err := LoadJSON(file, &testState{}, nil); loaded || err != nil {
				t.Fatalf("load after setting aside = %v, %v", loaded, err)
			}
		})
	}
}

func TestLoadJSONUnreadableFileIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := os.Mkdir(file, 0o700); err != nil { // a directory cannot be read as a file
		t.Fatal(err)
	}
	called := false
	loaded, err := LoadJSON(file, &testState{}, func() error { called = true; return nil })
	var bad *CorruptFileError
	if loaded || err == nil || errors.As(err, &bad) || called {
		t.Fatalf("LoadJSON = %v, %v (check called %v); want a plain read error", loaded, err, called)
	}
	if fi, err := os.Stat(file); err != nil || !fi.IsDir() {
		t.Fatalf("the directory was touched: %v %v", fi, err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("something was renamed or written: %v", names)
	}
}

func TestLoadJSONCannotSetAside(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := os.WriteFile(file, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename (which fails even for root).
	if err := os.MkdirAll(filepath.Join(file+".corrupt", "kept"), 0o700); err != nil {
		t.Fatal(err)
	}
	var v json.RawMessage
	loaded, err := LoadJSON(file, &v, nil)
	var bad *CorruptFileError
	if loaded || !errors.As(err, &bad) || bad.MovedTo != "" || bad.MoveErr == nil {
		t.Fatalf("LoadJSON = %v, %+v; want a CorruptFileError that could not be set aside", loaded, err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "not json" {
		t.Fatalf("the file changed: %q, %v", b, err)
	}
}

// readInt reads the state file of the StateWriter tests: one number.
func readInt(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("state file holds %q: %v", b, err)
	}
	return n
}

func TestStateWriterNewestWins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	w := NewStateWriter(file)

	// A late older snapshot is skipped, and says it is on disk (a newer one is).
	old := w.Snapshot([]byte("1"))
	newer := w.Snapshot([]byte("2"))
	if err := w.Write(newer); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(old); err != nil {
		t.Fatalf("a late older snapshot: %v", err)
	}
	if n := readInt(t, file); n != 2 {
		t.Fatalf("the file holds snapshot %d after a late older one, want 2", n)
	}

	// Many changes at once, as a simulator makes them: each takes its
	// snapshot under the simulator's mutex and writes it after releasing
	// it. Once its Write returns, its change (or a later one) is on disk.
	const changes = 200
	var (
		mu    sync.Mutex
		state = 2
		wg    sync.WaitGroup
		errs  = make(chan error, changes)
	)
	for range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			state++
			mine := state
			snap := w.Snapshot([]byte(strconv.Itoa(mine)))
			mu.Unlock()
			if err := w.Write(snap); err != nil {
				errs <- err
				return
			}
			b, err := os.ReadFile(file)
			if err != nil {
				errs <- err
				return
			}
			if n, err := strconv.Atoi(string(b)); err != nil || n < mine {
				errs <- fmt.Errorf("after writing change %d the file holds %q", mine, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := readInt(t, file); n != changes+2 {
		t.Fatalf("the file holds change %d, want the last, %d", n, changes+2)
	}

	// Snapshots whose writers all start late, newest first, at once: the
	// file ends with the newest whatever order the writes take.
	snaps := make([]*StateSnapshot, changes)
	for i := range snaps {
		snaps[i] = w.Snapshot([]byte(strconv.Itoa(changes + 3 + i)))
	}
	start := make(chan struct{})
	errs = make(chan error, changes)
	for i := len(snaps) - 1; i >= 0; i-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := w.Write(snaps[i]); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := readInt(t, file); n != 2*changes+2 {
		t.Fatalf("the file holds change %d, want the newest, %d", n, 2*changes+2)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "sim.json" {
		t.Fatalf("directory holds %v, want only sim.json", names)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, %v", fi.Mode(), err)
	}
}

func TestStateWriterRetriesAfterAFailure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sim.json")
	if err := os.Mkdir(file, 0o700); err != nil { // a directory cannot be renamed over
		t.Fatal(err)
	}
	w := NewStateWriter(file)
	first := w.Snapshot([]byte("1"))
	if err := w.Write(first); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Fatal("flushing over a directory succeeded")
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	// Flush writes the snapshot that failed.
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := readInt(t, file); n != 1 {
		t.Fatalf("after the flush the file holds %d, want 1", n)
	}
	if err := w.Flush(); err != nil { // nothing left to write
		t.Fatal(err)
	}

	// The next change retries: fail again, then succeed with a newer snapshot.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(file, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(w.Snapshot([]byte("2"))); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(w.Snapshot([]byte("3"))); err != nil {
		t.Fatal(err)
	}
	if n := readInt(t, file); n != 3 {
		t.Fatalf("after the next change the file holds %d, want 3", n)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

func TestStateWriterCloseFlushesThenWritesNothing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim.json")
	w := NewStateWriter(file)
	w.Snapshot([]byte("1")) // taken, its Write not run yet
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := readInt(t, file); n != 1 {
		t.Fatalf("after Close the file holds %d, want 1", n)
	}
	if err := w.Write(w.Snapshot([]byte("2"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := readInt(t, file); n != 1 {
		t.Fatalf("a closed writer wrote: the file holds %d", n)
	}
}

func TestStateWriterWithoutFile(t *testing.T) {
	w := NewStateWriter("")
	if w != nil {
		t.Fatalf("NewStateWriter(\"\") = %v, want nil", w)
	}
	if snap := w.Snapshot([]byte("1")); snap != nil {
		t.Fatalf("Snapshot on a nil writer = %v", snap)
	}
	if w.Write(nil) != nil || w.Flush() != nil || w.Close() != nil {
		t.Fatal("a nil writer returned an error")
	}
}
