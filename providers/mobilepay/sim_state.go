package mobilepay

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"ankara/providers/simkit"
)

// stateVersion is the layout of the state file; another version is read as
// a corrupt file (the simulator starts fresh).
const stateVersion = 1

// simState is the state file (SimOptions.StateFile). Access tokens,
// pending authorization requests and authorization codes are not kept: they
// live minutes, and a client that gets 401 renews its access token from the
// refresh token, which is kept.
type simState struct {
	Version    int               `json:"version"`
	SigningKey []byte            `json:"signing_key"` // PKCS #1 DER of the RS256 key, so id_tokens and the JWKS survive
	KeyID      string            `json:"kid"`
	Clients    []*simClient      `json:"clients"`
	Merchants  []stateMerchant   `json:"merchants"`
	Refresh    map[string]*grant `json:"refresh_tokens"` // by token; rotated ones are removed when used
	Invoices   []stateInvoice    `json:"invoices"`       // in creation order
	Users      []*simUser        `json:"users"`
	Consents   []*simConsent     `json:"consents"`
}

type stateMerchant struct {
	ID, Name, VAT, Country string
	Issuers                []simIssuer
	CallbackKind           string
	CallbackUser           string
	CallbackKey            string
	CallbackURL            string
	Sequence               int64
	Pending                []simEvent     // queued callback events not yet handed to the dispatcher
	Daily                  map[string]int // phone|date -> Direct invoices (10314)
}

type stateInvoice struct {
	Invoice   *simInvoice
	Canonical string // duplicate check (10104)
}

// stateLocked copies the state for writing; the caller holds s.mu.
func (s *Simulator) stateLocked() *simState {
	st := &simState{Version: stateVersion, KeyID: s.kid, Refresh: s.refresh}
	if s.key != nil {
		st.SigningKey = x509.MarshalPKCS1PrivateKey(s.key)
	}
	for _, c := range s.clients {
		st.Clients = append(st.Clients, c)
	}
	sort.Slice(st.Clients, func(i, j int) bool { return st.Clients[i].ID < st.Clients[j].ID })
	for _, m := range s.merchants {
		st.Merchants = append(st.Merchants, stateMerchant{ID: m.ID, Name: m.Name, VAT: m.VAT, Country: m.Country, Issuers: m.Issuers,
			CallbackKind: m.cbKind, CallbackUser: m.cbUser, CallbackKey: m.cbKey, CallbackURL: m.cbURL,
			Sequence: m.seq, Pending: m.pending, Daily: m.daily})
	}
	sort.Slice(st.Merchants, func(i, j int) bool { return st.Merchants[i].ID < st.Merchants[j].ID })
	for _, id := range s.order {
		inv := s.invoices[id]
		st.Invoices = append(st.Invoices, stateInvoice{Invoice: inv, Canonical: inv.canonical})
	}
	for _, u := range s.users {
		st.Users = append(st.Users, u)
	}
	sort.Slice(st.Users, func(i, j int) bool { return st.Users[i].Phone < st.Users[j].Phone })
	for _, c := range s.consents {
		st.Consents = append(st.Consents, c)
	}
	sort.Slice(st.Consents, func(i, j int) bool { return st.Consents[i].ID < st.Consents[j].ID })
	return st
}

// changedLocked records a state change; the caller holds s.mu and releases
// it with s.unlock, which writes the state file before the caller answers,
// so that what a client was told (an invoice id, a rotated refresh token)
// survives a crash.
func (s *Simulator) changedLocked() { s.dirty = true }

// unlock releases s.mu and, if the state changed, writes the state file
// before returning: the state is encoded under s.mu and written once s.mu
// is released, so no other call waits for the disk. A caller that changed
// the state answers only after unlock returns.
func (s *Simulator) unlock() {
	snap := s.snapshotLocked()
	s.mu.Unlock()
	s.save(snap)
}

// snapshotLocked encodes the state if it changed and hands it to the state
// writer; s.mu held. It returns nil when there is nothing to write.
func (s *Simulator) snapshotLocked() *simkit.StateSnapshot {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	if s.state == nil {
		return nil
	}
	b, err := json.Marshal(s.stateLocked())
	if err != nil {
		s.log.Warn("mobilepay simulator: could not save the state file", "path", s.stateFile, "err", err)
		return nil
	}
	return s.state.Snapshot(b)
}

// save writes snap to the state file (simkit.StateWriter: temp file in the
// same directory, fsync, rename; writes take turns and an older snapshot
// never overwrites a newer one); call it without s.mu. A failed write is
// logged and retried by the next change, tick or Close.
func (s *Simulator) save(snap *simkit.StateSnapshot) {
	if err := s.state.Write(snap); err != nil {
		s.log.Warn("mobilepay simulator: could not save the state file", "path", s.stateFile, "err", err)
	}
}

// flush writes the newest state if it is not on disk yet (a failed write is
// retried); call it without s.mu.
func (s *Simulator) flush() {
	if err := s.state.Flush(); err != nil {
		s.log.Warn("mobilepay simulator: could not save the state file", "path", s.stateFile, "err", err)
	}
}

// load reads the state file into the empty simulator. A missing file is a
// fresh sandbox; an unreadable or corrupt one is logged at warn and the
// simulator starts fresh (a corrupt file is kept aside as path.corrupt).
func (s *Simulator) load() {
	if s.stateFile == "" {
		return
	}
	var st simState
	loaded, err := simkit.LoadJSON(s.stateFile, &st, func() error {
		if st.Version != stateVersion {
			return fmt.Errorf("unknown version %d", st.Version)
		}
		return nil
	})
	var bad *simkit.CorruptFileError
	switch {
	case errors.As(err, &bad):
		s.log.Warn("mobilepay simulator: state file corrupt, starting with a fresh sandbox", "path", s.stateFile, "err", bad.Err)
		if bad.MoveErr != nil {
			s.log.Warn("mobilepay simulator: could not set the corrupt state file aside", "path", s.stateFile, "err", bad.MoveErr)
		}
	case err != nil:
		s.log.Warn("mobilepay simulator: state file unreadable, starting with a fresh sandbox", "path", s.stateFile, "err", err)
	case loaded:
		s.restore(&st)
	}
}

// restore installs a decoded state, dropping records that reference missing
// ones so that no handler meets a nil merchant or invoice.
func (s *Simulator) restore(st *simState) {
	if len(st.SigningKey) > 0 {
		if key, err := x509.ParsePKCS1PrivateKey(st.SigningKey); err == nil && st.KeyID != "" {
			s.key, s.kid = key, st.KeyID
		} else {
			s.log.Warn("mobilepay simulator: signing key in the state file unusable, using a new one", "path", s.stateFile)
		}
	}
	for _, sm := range st.Merchants {
		if sm.ID == "" {
			continue
		}
		if sm.Daily == nil {
			sm.Daily = map[string]int{}
		}
		s.merchants[sm.ID] = &simMerchant{ID: sm.ID, Name: sm.Name, VAT: sm.VAT, Country: sm.Country, Issuers: sm.Issuers,
			cbKind: sm.CallbackKind, cbUser: sm.CallbackUser, cbKey: sm.CallbackKey, cbURL: sm.CallbackURL,
			seq: sm.Sequence, pending: sm.Pending, daily: sm.Daily}
	}
	for _, c := range st.Clients {
		if c != nil && c.ID != "" && s.merchants[c.MerchantID] != nil {
			s.clients[c.ID] = c
		}
	}
	now := s.now()
	for tok, g := range st.Refresh {
		if g != nil && s.clients[g.ClientID] != nil && s.merchants[g.MerchantID] != nil && now.Before(g.Expires) {
			s.refresh[tok] = g
		}
	}
	for _, u := range st.Users {
		if u != nil && u.Phone != "" {
			s.users[u.Phone] = u
		}
	}
	for _, si := range st.Invoices {
		inv := si.Invoice
		if inv == nil || inv.ID == "" || s.merchants[inv.MerchantID] == nil || s.invoices[inv.ID] != nil {
			continue
		}
		inv.canonical = si.Canonical
		s.invoices[inv.ID] = inv
		s.order = append(s.order, inv.ID)
	}
	for _, c := range st.Consents {
		if c != nil && c.ID != "" && s.invoices[c.InvoiceID] != nil {
			s.consents[c.ID] = c
		}
	}
}
