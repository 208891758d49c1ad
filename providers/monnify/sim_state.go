package monnify

import (
	"encoding/json"
	"errors"
	"fmt"

	"ankara/providers/simkit"
)

// The simulator's state file (SimOptions.StateFile): the whole sandbox as
// one JSON document, encoded under s.mu after every change and rewritten
// atomically (temp file, fsync, rename) once s.mu is released, so that a
// restarted app finds the merchants it provisioned and the invoices they
// hold.

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

// unlock releases s.mu and, if the state changed, saves it before
// returning, so the change is on disk before the caller answers or queues
// a webhook for it. The state is encoded under s.mu and written after s.mu
// is released (simkit.StateWriter), so no other call waits for the disk.
func (s *Simulator) unlock() {
	snap := s.snapshotLocked()
	s.mu.Unlock()
	if err := s.state.Write(snap); err != nil {
		s.log.Error("monnify sim: cannot save state", "file", s.stateFile, "err", err)
	}
}

// snapshotLocked encodes the state if it changed and hands it to the state
// writer; s.mu held. It returns nil when there is nothing to save. A
// failed write is logged by the caller and retried with the next change's
// snapshot (or on Close): the sandbox keeps serving from memory.
func (s *Simulator) snapshotLocked() *simkit.StateSnapshot {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	if s.state == nil {
		return nil
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
	if err != nil {
		s.log.Error("monnify sim: cannot save state", "file", s.stateFile, "err", err)
		return nil
	}
	return s.state.Snapshot(raw)
}

// load reads the state file into the fresh simulator (before it serves).
// A missing file is a fresh sandbox; an unreadable or corrupt one is
// logged at warn and the sandbox starts fresh (a corrupt file is kept
// beside it as name.corrupt for inspection).
func (s *Simulator) load() {
	if s.stateFile == "" {
		return
	}
	var st simState
	decoded := false
	loaded, err := simkit.LoadJSON(s.stateFile, &st, func() error {
		decoded = true
		if st.Version != simStateVersion {
			return fmt.Errorf("state version %d, want %d", st.Version, simStateVersion)
		}
		return nil
	})
	var bad *simkit.CorruptFileError
	switch {
	case errors.As(err, &bad):
		if err = bad.Err; !decoded {
			err = fmt.Errorf("corrupt state: %w", err)
		}
		s.log.Warn("monnify sim: cannot use state, starting a fresh sandbox", "file", s.stateFile, "err", err)
		if bad.MoveErr != nil {
			s.log.Warn("monnify sim: cannot move the unusable state aside", "file", s.stateFile, "err", bad.MoveErr)
		}
		return
	case err != nil:
		s.log.Warn("monnify sim: cannot read state, starting a fresh sandbox", "file", s.stateFile, "err", err)
		return
	case !loaded: // no file yet: a fresh sandbox
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
