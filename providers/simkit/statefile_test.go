package simkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
