package models

import (
	"context"
	"sync"
	"time"
)

// Worker runs the background work of one app instance: applying stored
// callbacks, polling non-final invoices, retrying submissions and applying
// expiry. Rows are claimed with leases, so several instances cooperate
// without doing anything twice.
type Worker struct {
	Service *Service
	// Interval between rounds when there was nothing to do.
	Interval time.Duration
	// Concurrency bounds simultaneous provider calls.
	Concurrency int
}

// Run works until ctx is cancelled.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round does one pass of every kind of work; tests call it directly.
func (w *Worker) Round(ctx context.Context) {
	s := w.Service
	for {
		n, err := s.ProcessCallbacks(ctx, 20)
		if err != nil {
			s.Log.Error("process callbacks", "err", err)
			break
		}
		if n == 0 || ctx.Err() != nil {
			break
		}
	}
	due, err := s.Store.claimDue(ctx, s.now(), 2*time.Minute, 50)
	if err != nil {
		s.Log.Error("claim due invoices", "err", err)
		return
	}
	conc := w.Concurrency
	if conc <= 0 {
		conc = 4
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, id := range due {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.Poll(ctx, id); err != nil {
				s.Log.Warn("poll invoice", "invoice_id", id, "err", err)
				s.releaseLease(ctx, id)
			}
		}(id)
	}
	wg.Wait()
}

// releaseLease frees an invoice whose poll failed before it was recorded,
// pushing its next poll back a minute.
func (s *Service) releaseLease(ctx context.Context, id string) {
	if err := s.Store.releaseLease(context.WithoutCancel(ctx), id, s.now().Add(time.Minute)); err != nil {
		s.Log.Error("release invoice lease", "invoice_id", id, "err", err)
	}
}
