package store

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// Rows mirror the tables of migrations/ column for column; the schema lives there, not here
// (no AutoMigrate).

type userRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	CreatedAt time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) domain() paysaga.User { return paysaga.User{ID: r.ID, Name: r.Name} }

type productRow struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	Price     decimal.Decimal
	Stock     int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (productRow) TableName() string { return "products" }

func (r productRow) domain() paysaga.Product {
	return paysaga.Product{ID: r.ID, Name: r.Name, Price: r.Price, Stock: r.Stock}
}

type orderRow struct {
	OrderID        string `gorm:"primaryKey"`
	UserID         int64
	ProductID      int64
	OrderName      string
	Quantity       int
	UnitPrice      decimal.Decimal
	Amount         decimal.Decimal
	Status         string
	PaymentKey     *string // NULL until BeginConfirm, so the unique index allows many unconfirmed orders
	Method         string
	ApprovedAt     *time.Time
	FailureCode    string
	FailureMessage string
	CanceledAmount decimal.Decimal
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (orderRow) TableName() string { return "orders" }

func (r orderRow) domain() paysaga.Order {
	o := paysaga.Order{
		ID:             r.OrderID,
		UserID:         r.UserID,
		ProductID:      r.ProductID,
		Name:           r.OrderName,
		Quantity:       r.Quantity,
		UnitPrice:      r.UnitPrice,
		Amount:         r.Amount,
		Status:         paysaga.OrderStatus(r.Status),
		Method:         r.Method,
		FailureCode:    r.FailureCode,
		FailureMessage: r.FailureMessage,
		CanceledAmount: r.CanceledAmount,
		CreatedAt:      r.CreatedAt.UTC(),
		UpdatedAt:      r.UpdatedAt.UTC(),
	}
	if r.PaymentKey != nil {
		o.PaymentKey = *r.PaymentKey
	}
	if r.ApprovedAt != nil {
		t := r.ApprovedAt.UTC()
		o.ApprovedAt = &t
	}
	return o
}

// Reservation statuses.
const (
	reserved = "RESERVED"
	released = "RELEASED"
)

type reservationRow struct {
	OrderID    string `gorm:"primaryKey"`
	ProductID  int64
	Quantity   int
	Status     string
	CreatedAt  time.Time
	ReleasedAt *time.Time
}

func (reservationRow) TableName() string { return "stock_reservations" }

type eventRow struct {
	ID         int64 `gorm:"primaryKey"`
	OrderID    string
	Type       string
	FromStatus string
	ToStatus   string
	Evidence   string // JSON: jsonb on PostgreSQL, TEXT on SQLite
	CreatedAt  time.Time
}

func (eventRow) TableName() string { return "payment_events" }
