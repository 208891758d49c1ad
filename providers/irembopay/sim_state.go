package irembopay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Persistence: with SimOptions.StateFile set, the simulator keeps its
// merchants, invoices (with their payments) and mobile-money prompts in a
// JSON file, rewritten atomically after every change, so a sandbox account
// and its invoices survive a restart of the app. Faults and notifications
// still queued for delivery are not kept.

// simStateVersion is the version of the state file's layout.
const simStateVersion = 1

// simState is the whole content of the state file.
type simState struct {
	Version   int              `json:"version"`
	Merchants []simMerchantRec `json:"merchants"`
	Invoices  []*simInvoice    `json:"invoices"` // by invoice number
	Prompts   []*simPrompt     `json:"prompts"`  // oldest first
}

type simMerchantRec struct {
	SecretKey       string `json:"secretKey"`
	NotificationURL string `json:"notificationUrl"`
}

// loadState reads the state file into an empty simulator. A missing file
// is a fresh sandbox; a file that cannot be read or understood is logged at
// warn, set aside when it could be read (renamed *.corrupt, so the next save
// does not destroy it), and the simulator starts fresh: the sandbox must
// never stop the app from starting.
func (s *Simulator) loadState() {
	if s.stateFile == "" {
		return
	}
	b, err := os.ReadFile(s.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	readable := err == nil
	if readable {
		err = s.applyState(b)
	}
	if err != nil {
		s.log.Warn("irembopay simulator: state file unusable, starting with an empty sandbox",
			"file", s.stateFile, "err", err)
		s.merchants = map[string]*simMerchant{}
		s.invoices = map[string]*simInvoice{}
		s.byTx = map[string]string{}
		s.prompts = nil
		if readable {
			// Keep the unreadable content for inspection instead of
			// overwriting it with the next save.
			if err := os.Rename(s.stateFile, s.stateFile+".corrupt"); err != nil {
				s.log.Warn("irembopay simulator: could not set the state file aside", "file", s.stateFile, "err", err)
			}
		}
		return
	}
	s.log.Info("irembopay simulator: state loaded", "file", s.stateFile,
		"merchants", len(s.merchants), "invoices", len(s.invoices), "prompts", len(s.prompts))
}

// applyState fills the simulator from the file's bytes.
func (s *Simulator) applyState(b []byte) error {
	var st simState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Version != simStateVersion {
		return fmt.Errorf("state file version %d, want %d", st.Version, simStateVersion)
	}
	for _, m := range st.Merchants {
		if m.SecretKey == "" {
			return errors.New("a merchant without a secret key")
		}
		s.merchants[m.SecretKey] = &simMerchant{key: m.SecretKey, notifyURL: m.NotificationURL}
	}
	for _, inv := range st.Invoices {
		switch {
		case inv == nil || inv.Number == "" || inv.MerchantKey == "":
			return errors.New("an invoice without a number or merchant")
		case s.invoices[inv.Number] != nil:
			return fmt.Errorf("invoice %s listed twice", inv.Number)
		}
		s.invoices[inv.Number] = inv
		if inv.TransactionID != "" {
			s.byTx[inv.MerchantKey+"\x00"+inv.TransactionID] = inv.Number
		}
	}
	for _, p := range st.Prompts {
		if p == nil || p.Ref == "" {
			return errors.New("a prompt without a reference")
		}
		s.prompts = append(s.prompts, p)
	}
	return nil
}

// saveLocked writes the whole state to the state file: a temporary file in
// the same directory, fsync, rename over the old file (mode 0600: the file
// holds secret keys). Call with s.mu held after every change; a failure is
// logged, the simulator goes on in memory.
func (s *Simulator) saveLocked() {
	if s.stateFile == "" {
		return
	}
	st := simState{Version: simStateVersion, Merchants: []simMerchantRec{}, Invoices: []*simInvoice{}, Prompts: s.prompts}
	if st.Prompts == nil {
		st.Prompts = []*simPrompt{}
	}
	for _, m := range s.merchants {
		st.Merchants = append(st.Merchants, simMerchantRec{SecretKey: m.key, NotificationURL: m.notifyURL})
	}
	sort.Slice(st.Merchants, func(i, j int) bool { return st.Merchants[i].SecretKey < st.Merchants[j].SecretKey })
	for _, inv := range s.invoices {
		st.Invoices = append(st.Invoices, inv)
	}
	sort.Slice(st.Invoices, func(i, j int) bool { return st.Invoices[i].Number < st.Invoices[j].Number })
	b, err := json.MarshalIndent(st, "", " ")
	if err == nil {
		err = writeFileAtomic(s.stateFile, b)
	}
	if err != nil {
		s.log.Warn("irembopay simulator: could not save its state", "file", s.stateFile, "err", err)
	}
}

// writeFileAtomic replaces path with data, so that a crash leaves either
// the old or the new content, never a torn file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, so this is best effort.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
