package momo

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"ankara/providers/simkit"
)

// The simulator's state file (SimOptions.StateFile): a JSON document with
// every API user (id, API key, callback host, subscription key), every
// invoice (with its callback URL, payment reference, status, pending
// delayed settlement) and every X-Reference-Id already taken. Access tokens
// are not kept: a client whose token the simulator no longer knows gets a
// 401 and logs in again with its API user and key, which are kept.

// simStateVersion is written into the file; another version starts fresh.
const simStateVersion = 1

// simReloadGrace delays what a reload finds already due (expiry, delayed
// payment), so that the app mounting the simulator is listening before the
// callback goes out.
const simReloadGrace = time.Second

type simState struct {
	Version  int           `json:"version"`
	Saved    time.Time     `json:"saved"`
	Users    []*simUser    `json:"users"`
	Invoices []*simInvoice `json:"invoices"`
	// UsedRefs lists the X-Reference-Ids taken by cancels (the invoices'
	// own reference ids are implied).
	UsedRefs []string `json:"usedRefs,omitempty"`
}

// unlock releases s.mu and, if the state changed, saves it before
// returning. Every handler that may change the state releases the lock
// through it (deferred, or before it answers), so a change is on disk
// before its answer leaves; the state is encoded under s.mu and written
// after s.mu is released, so no other call waits for the disk.
func (s *Simulator) unlock() {
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.save(snap)
}

// changedLocked marks the state as changed; the caller must hold s.mu and
// release it with s.unlock.
func (s *Simulator) changedLocked() { s.dirty = true }

// snapshotLocked encodes the state if it changed and hands it to the state
// writer, which numbers it; s.mu held. It returns nil when there is nothing
// to save: no change, no state file, or a closed simulator (which writes
// nothing more, so it can never overwrite the file of the simulator that
// replaced it).
func (s *Simulator) snapshotLocked() *simkit.StateSnapshot {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	if s.state == nil || s.closed {
		return nil
	}
	return s.state.Snapshot(s.encodeLocked())
}

// save writes snap to the state file (simkit.StateWriter: temp file in the
// same directory, fsync, rename, mode 0600; writes take turns and an older
// snapshot never overwrites a newer one); call it without s.mu. Failures
// are logged once, not returned: the sandbox keeps serving from memory and
// the next change (or Close) tries again.
func (s *Simulator) save(snap *simkit.StateSnapshot) {
	if snap == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.savedLocked(s.state.Write(snap))
}

// savedLocked logs the outcome of a write: the first failure, and the first
// success after failures; s.saveMu held, so outcomes are seen in the order
// of the writes.
func (s *Simulator) savedLocked(err error) {
	if err != nil {
		if !s.saveFailing {
			s.log.Warn("momo simulator: cannot save its state; it is kept in memory only until a save succeeds",
				"file", s.stateFile, "err", err)
		}
		s.saveFailing = true
		return
	}
	if s.saveFailing {
		s.log.Info("momo simulator: state saved again", "file", s.stateFile)
	}
	s.saveFailing = false
}

// encodeLocked encodes the whole state; s.mu held.
func (s *Simulator) encodeLocked() []byte {
	st := simState{Version: simStateVersion, Saved: s.now().UTC(),
		Users: make([]*simUser, 0, len(s.users)), Invoices: make([]*simInvoice, 0, len(s.invoices))}
	for _, u := range s.users {
		st.Users = append(st.Users, u)
	}
	for _, inv := range s.invoices {
		st.Invoices = append(st.Invoices, inv)
	}
	for ref := range s.usedRefs {
		if _, isInvoice := s.invoices[ref]; !isInvoice {
			st.UsedRefs = append(st.UsedRefs, ref)
		}
	}
	sort.Slice(st.Users, func(i, j int) bool { return st.Users[i].ID < st.Users[j].ID })
	sort.Slice(st.Invoices, func(i, j int) bool {
		a, b := st.Invoices[i], st.Invoices[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Ref < b.Ref
	})
	sort.Strings(st.UsedRefs)
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil { // plain structs of strings and times: cannot happen
		panic(fmt.Sprintf("momo simulator: encode state: %v", err))
	}
	return append(b, '\n')
}

// loadLocked reads the state file into an empty simulator. A missing file
// is a fresh sandbox; an unreadable or corrupt one is logged at warn and
// the sandbox starts fresh (a corrupt file is first moved aside to
// {file}.corrupt so that nothing is lost silently).
func (s *Simulator) loadLocked() {
	var st simState
	loaded, err := simkit.LoadJSON(s.stateFile, &st, func() error {
		if st.Version != simStateVersion {
			return fmt.Errorf("state version %d, want %d", st.Version, simStateVersion)
		}
		return nil
	})
	var bad *simkit.CorruptFileError
	switch {
	case errors.As(err, &bad):
		s.log.Warn("momo simulator: its state file is unreadable; starting with an empty sandbox",
			"file", s.stateFile, "err", bad.Err, "moved_to", bad.MovedTo)
		return
	case err != nil:
		s.log.Warn("momo simulator: cannot read its state file; starting with an empty sandbox", "file", s.stateFile, "err", err)
		return
	case !loaded: // no file yet: a fresh sandbox
		return
	}
	for _, u := range st.Users {
		if u != nil && u.ID != "" {
			s.users[u.ID] = u
		}
	}
	for _, ref := range st.UsedRefs {
		s.usedRefs[ref] = true
	}
	now := s.now()
	for _, inv := range st.Invoices {
		if inv == nil || inv.Ref == "" {
			continue
		}
		s.invoices[inv.Ref] = inv
		s.usedRefs[inv.Ref] = true
		if inv.PaymentRef != "" {
			s.byPayRef[inv.PaymentRef] = inv.Ref
		}
		if !inv.open() {
			continue
		}
		// Re-arm what was waiting when the app stopped. Both are also applied
		// whenever the invoice is looked at (dueLocked).
		ref := inv.Ref
		if !inv.SettleAt.IsZero() {
			s.afterLocked(max(inv.SettleAt.Sub(now), simReloadGrace), func() { s.settle(ref) })
		}
		s.afterLocked(max(inv.Expires.Sub(now), simReloadGrace), func() { s.expire(ref) })
	}
	s.log.Info("momo simulator: state loaded", "file", s.stateFile, "users", len(s.users), "invoices", len(s.invoices))
}
