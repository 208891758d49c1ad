package monnify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The simulator's state file (SimOptions.StateFile): the whole sandbox as
// one JSON document, rewritten atomically (temp file, fsync, rename) under
// s.mu after every change, so that a restarted app finds the merchants it
// provisioned and the invoices they hold.

// simStateVersion is the format of the state file; a file of another
// version is not read (the sandbox starts fresh).
const simStateVersion = 1

type simState struct {
	Version   int             `json:"version"`
	Seq       int             `json:"seq"`
	Merchants []simMerchant   `json:"merchants"`
	Invoices  []simStoredInvo `json:"invoices"` // in creation order
}

// simStoredInvo is an invoice with its merchant's API key in place of the
// pointer.
type simStoredInvo struct {
	Merchant string `json:"merchant"`
	simInvoice
}

// changed marks the state as needing a save; s.mu held.
func (s *Simulator) changed() { s.dirty = true }

// unlock saves the state if it changed, then releases s.mu.
func (s *Simulator) unlock() {
	if s.dirty {
		s.saveLocked()
	}
	s.mu.Unlock()
}

// saveLocked writes the state file; s.mu held. A failed write is logged
// and retried at the next change (or on Close): the sandbox keeps serving
// from memory.
func (s *Simulator) saveLocked() {
	if s.stateFile == "" {
		s.dirty = false
		return
	}
	st := simState{Version: simStateVersion, Seq: s.seq, Merchants: []simMerchant{}, Invoices: []simStoredInvo{}}
	for _, m := range s.merchants {
		if m.APIKey != SimAPIKey { // the seeded merchant comes from the code
			st.Merchants = append(st.Merchants, *m)
		}
	}
	for _, inv := range s.order {
		st.Invoices = append(st.Invoices, simStoredInvo{Merchant: inv.merchant.APIKey, simInvoice: *inv})
	}
	raw, err := json.Marshal(st)
	if err == nil {
		err = writeFileAtomic(s.stateFile, raw)
	}
	if err != nil {
		s.log.Error("monnify sim: cannot save state", "file", s.stateFile, "err", err)
		return
	}
	s.dirty = false
}

// writeFileAtomic replaces name with data: a temp file in the same
// directory, fsynced, renamed over name, mode 0600.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, so this is best effort.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// load reads the state file into the fresh simulator (before it serves).
// A missing file is a fresh sandbox; an unreadable or corrupt one is
// logged at warn and the sandbox starts fresh (a corrupt file is kept
// beside it as name.corrupt for inspection).
func (s *Simulator) load() {
	if s.stateFile == "" {
		return
	}
	raw, err := os.ReadFile(s.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		s.log.Warn("monnify sim: cannot read state, starting a fresh sandbox", "file", s.stateFile, "err", err)
		return
	}
	var st simState
	if err = json.Unmarshal(raw, &st); err != nil {
		err = fmt.Errorf("corrupt state: %w", err)
	} else if st.Version != simStateVersion {
		err = fmt.Errorf("state version %d, want %d", st.Version, simStateVersion)
	}
	if err != nil {
		s.log.Warn("monnify sim: cannot use state, starting a fresh sandbox", "file", s.stateFile, "err", err)
		if err := os.Rename(s.stateFile, s.stateFile+".corrupt"); err != nil {
			s.log.Warn("monnify sim: cannot move the unusable state aside", "file", s.stateFile, "err", err)
		}
		return
	}
	s.seq = st.Seq
	for i := range st.Merchants {
		m := st.Merchants[i]
		if m.APIKey == "" || m.APIKey == SimAPIKey {
			continue
		}
		s.merchants[m.APIKey] = &m
	}
	for i := range st.Invoices {
		si := &st.Invoices[i]
		m := s.merchants[si.Merchant]
		if m == nil || si.Ref == "" || si.TxRef == "" {
			s.log.Warn("monnify sim: skipping a stored invoice without a known merchant or reference", "ref", si.Ref, "merchant", si.Merchant)
			continue
		}
		inv := new(simInvoice)
		*inv = si.simInvoice
		inv.merchant = m
		key := m.APIKey + "\x00" + inv.Ref
		if _, dup := s.invoices[key]; dup {
			continue
		}
		s.invoices[key] = inv
		s.txs[inv.TxRef] = inv
		if inv.AccountNumber != "" {
			s.accounts[inv.AccountNumber] = inv
		}
		s.order = append(s.order, inv)
	}
	s.log.Info("monnify sim: state loaded", "file", s.stateFile, "merchants", len(s.merchants)-1, "invoices", len(s.order))
}
