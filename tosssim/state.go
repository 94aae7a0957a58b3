package tosssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// persisted is the StateFile's content: payments, transactions and remembered idempotent
// answers. Counters and fault rules are per process and start empty. Idempotency entries are
// keyed by a hash of the API key, never the key itself.
type persisted struct {
	Version      int                   `json:"version"`
	SavedAt      time.Time             `json:"savedAt"`
	Payments     []*record             `json:"payments"`
	Transactions []txRecord            `json:"transactions"`
	Idempotency  map[string]*idemEntry `json:"idempotency"`
}

const stateVersion = 1

// persistEvery bounds how often the state file is rewritten under load.
const persistEvery = 50 * time.Millisecond

// markDirty asks for the state file to be rewritten. Callers hold s.mu.
func (s *Simulator) markDirty() {
	if s.cfg.StateFile == "" {
		return
	}
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

func (s *Simulator) persistLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.dirty:
			if err := s.save(); err != nil {
				s.log.Error("tosssim save state", "file", s.cfg.StateFile, "error", err)
			}
			sleep(s.ctx, persistEvery)
		}
	}
}

// save writes the state atomically: a temporary file in the same directory, synced, then
// renamed over the old one, so a crash leaves either the old or the new state.
func (s *Simulator) save() error {
	s.mu.Lock()
	st := persisted{
		Version:      stateVersion,
		SavedAt:      s.now(),
		Transactions: s.txs,
		Idempotency:  map[string]*idemEntry{},
	}
	for _, rec := range s.payments {
		st.Payments = append(st.Payments, rec)
	}
	for k, e := range s.idem {
		if !e.Running {
			st.Idempotency[k] = e
		}
	}
	data, err := json.MarshalIndent(st, "", " ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}

	dir := filepath.Dir(s.cfg.StateFile)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.cfg.StateFile)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.cfg.StateFile); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// load reads the state file; a missing file is an empty state.
func (s *Simulator) load() error {
	data, err := os.ReadFile(s.cfg.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tosssim: load state: %w", err)
	}
	var st persisted
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("tosssim: load state %s: %w", s.cfg.StateFile, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("tosssim: load state %s: version %d, want %d", s.cfg.StateFile, st.Version, stateVersion)
	}
	for _, rec := range st.Payments {
		if rec == nil || rec.PaymentKey == "" {
			continue
		}
		s.payments[rec.PaymentKey] = rec
		s.byOrder[rec.OrderID] = rec.PaymentKey
		if rec.Status == statusInProgress {
			s.inProgress[rec.PaymentKey] = struct{}{}
		}
	}
	s.txs = st.Transactions
	for k, e := range st.Idempotency {
		if e != nil {
			s.idem[k] = e
		}
	}
	return nil
}
