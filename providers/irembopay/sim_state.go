package irembopay

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"ankara/providers/simkit"
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
	var st simState
	loaded, err := simkit.LoadJSON(s.stateFile, &st, func() error { return s.applyState(&st) })
	if err != nil {
		s.log.Warn("irembopay simulator: state file unusable, starting with an empty sandbox",
			"file", s.stateFile, "err", err)
		s.merchants = map[string]*simMerchant{}
		s.invoices = map[string]*simInvoice{}
		s.byTx = map[string]string{}
		s.prompts = nil
		// A file that could be read was set aside (*.corrupt) for inspection
		// instead of being overwritten by the next save.
		var bad *simkit.CorruptFileError
		if errors.As(err, &bad) && bad.MoveErr != nil {
			s.log.Warn("irembopay simulator: could not set the state file aside", "file", s.stateFile, "err", bad.MoveErr)
		}
		return
	}
	if !loaded { // no file yet: a fresh sandbox
		return
	}
	s.log.Info("irembopay simulator: state loaded", "file", s.stateFile,
		"merchants", len(s.merchants), "invoices", len(s.invoices), "prompts", len(s.prompts))
}

// applyState checks the decoded file and fills the simulator from it.
func (s *Simulator) applyState(st *simState) error {
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
			s.byTx[txKey(inv.MerchantKey, inv.TransactionID)] = inv.Number
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

// snapshotLocked encodes the whole state for save. Call it with s.mu held
// after every change; it returns nil without a state file.
func (s *Simulator) snapshotLocked() *simkit.StateSnapshot {
	if s.state == nil {
		return nil
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
	if err != nil {
		s.log.Warn("irembopay simulator: could not save its state", "file", s.stateFile, "err", err)
		return nil
	}
	return s.state.Snapshot(b)
}

// save writes a snapshot to the state file (simkit.StateWriter, through
// simkit.WriteFileAtomic: a temporary file in the same directory, fsync,
// rename; mode 0600: the file holds secret keys). It runs after s.mu is
// released, so no API call or payer page waits for the disk; saves take
// turns, and a snapshot older than the one last written is dropped, so the
// file never goes back in time. A failure is logged and the simulator goes
// on in memory; the next change saves everything again.
func (s *Simulator) save(snap *simkit.StateSnapshot) {
	if err := s.state.Write(snap); err != nil {
		s.log.Warn("irembopay simulator: could not save its state", "file", s.stateFile, "err", err)
	}
}
