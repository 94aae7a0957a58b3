package store

import (
	"slices"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// Read is one SELECT the store ran: the table it read (empty for raw SQL) and the statement,
// with placeholders where the values were.
type Read struct {
	Table string
	SQL   string
}

// readObservers are the functions ObserveReads registered. The store's one read callback
// looks at them on every query, so the list is swapped whole rather than locked: a store
// nobody observes pays one atomic load per query.
type readObservers struct {
	mu   sync.Mutex // orders the swaps of ObserveReads and its stop
	list atomic.Pointer[[]*readObserver]
}

type readObserver struct{ f func(Read) }

// ObserveReads calls f after every SELECT the store runs, from any goroutine, until stop is
// called. It lets a test hold a request to the database reads it costs, which no answer
// shows. f must be quick and safe for concurrent use.
func (s *Store) ObserveReads(f func(Read)) (stop func()) {
	o, me := &s.observers, &readObserver{f: f}
	o.mu.Lock()
	defer o.mu.Unlock()
	var list []*readObserver
	if cur := o.list.Load(); cur != nil {
		list = slices.Clone(*cur)
	}
	list = append(list, me)
	o.list.Store(&list)
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		list := slices.DeleteFunc(slices.Clone(*o.list.Load()), func(x *readObserver) bool { return x == me })
		o.list.Store(&list)
	}
}

// watchReads registers the callback that feeds ObserveReads on every query and row read.
func (s *Store) watchReads(db *gorm.DB) error {
	notify := func(tx *gorm.DB) {
		list := s.observers.list.Load()
		if list == nil || len(*list) == 0 {
			return
		}
		r := Read{Table: tx.Statement.Table, SQL: tx.Statement.SQL.String()}
		for _, o := range *list {
			o.f(r)
		}
	}
	if err := db.Callback().Query().After("gorm:query").Register("paysaga:observe_reads", notify); err != nil {
		return err
	}
	return db.Callback().Row().After("gorm:row").Register("paysaga:observe_reads", notify)
}
