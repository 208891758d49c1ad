// Package providers builds the payment providers and their simulators. The
// interface they implement is models.Provider; each provider lives in its
// own sub-package with its client, callback verification, status mapping,
// validation rules and simulator.
package providers

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/irembopay"
	"ankara/providers/mobilepay"
	"ankara/providers/momo"
	"ankara/providers/monnify"
)

// Options configure the provider clients.
type Options struct {
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// New returns every provider Ankara supports.
func New(o Options) models.ProviderSet {
	return models.ProviderSet{
		models.MoMo:      momo.New(momo.Options{HTTP: o.HTTP, Log: o.Log, Now: o.Now}),
		models.IremboPay: irembopay.New(irembopay.Options{HTTP: o.HTTP, Log: o.Log, Now: o.Now}),
		models.Monnify:   monnify.New(monnify.Options{HTTP: o.HTTP, Log: o.Log, Now: o.Now}),
		models.MobilePay: mobilepay.New(mobilepay.Options{HTTP: o.HTTP, Log: o.Log, Now: o.Now}),
	}
}

// Simulator is an embedded provider sandbox.
type Simulator interface {
	http.Handler
	Close()
}

// SimOptions configure the simulators.
type SimOptions struct {
	// PublicURL is where the simulators are reachable; each is mounted at
	// PublicURL/{provider}, e.g. http://localhost:8080/sandbox/momo.
	PublicURL string
	HTTP      *http.Client
	Log       *slog.Logger
	Now       func() time.Time
	// StateDir is where each simulator keeps its state ({provider}.json)
	// so that a restarted app finds its sandbox accounts and invoices;
	// empty keeps them in memory only.
	StateDir string
}

func (o SimOptions) stateFile(name models.ProviderName) string {
	if o.StateDir == "" {
		return ""
	}
	return filepath.Join(o.StateDir, string(name)+".json")
}

// NewSimulators returns a simulator for every provider, keyed by the path
// segment it is mounted under.
func NewSimulators(o SimOptions) map[models.ProviderName]Simulator {
	base := strings.TrimRight(o.PublicURL, "/") + "/"
	return map[models.ProviderName]Simulator{
		models.MoMo:      momo.NewSimulator(momo.SimOptions{PublicURL: base + "momo", HTTP: o.HTTP, Log: o.Log, Now: o.Now, StateFile: o.stateFile(models.MoMo)}),
		models.IremboPay: irembopay.NewSimulator(irembopay.SimOptions{PublicURL: base + "irembopay", HTTP: o.HTTP, Log: o.Log, Now: o.Now, StateFile: o.stateFile(models.IremboPay)}),
		models.Monnify:   monnify.NewSimulator(monnify.SimOptions{PublicURL: base + "monnify", HTTP: o.HTTP, Log: o.Log, Now: o.Now, StateFile: o.stateFile(models.Monnify)}),
		models.MobilePay: mobilepay.NewSimulator(mobilepay.SimOptions{PublicURL: base + "mobilepay", HTTP: o.HTTP, Log: o.Log, Now: o.Now, StateFile: o.stateFile(models.MobilePay)}),
	}
}
