package store

import (
	"context"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/migrations"
)

// maxMoney bounds a NUMERIC(18,2): 16 digits before the point.
var maxMoney = decimal.New(1, 16)

// checkMoney refuses what NUMERIC(18,2) would round or reject, so that both dialects hold
// exactly the same amounts (SQLite keeps money as text and would accept anything).
func checkMoney(field string, d decimal.Decimal) error {
	switch {
	case d.IsNegative():
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s must not be negative, got %s", field, d)
	case !d.Equal(d.Round(2)):
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s has more than two decimal places: %s", field, d)
	case d.Cmp(maxMoney) >= 0:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s is too large: %s", field, d)
	}
	return nil
}

// CreateUser adds a shopper.
func (s *Store) CreateUser(ctx context.Context, name string) (paysaga.User, error) {
	if strings.TrimSpace(name) == "" {
		return paysaga.User{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "user name is empty")
	}
	row := userRow{Name: name, CreatedAt: now()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return paysaga.User{}, fail(err, "create user")
	}
	return row.domain(), nil
}

// GetUser returns the user, or USER_NOT_FOUND.
func (s *Store) GetUser(ctx context.Context, id int64) (paysaga.User, error) {
	return getCatalog(s.db.WithContext(ctx), id, getUser, "user")
}

func getUser(tx *gorm.DB, id int64) (userRow, error) {
	return takeOne[userRow](tx, "id", id, paysaga.Errorf(paysaga.CodeUserNotFound, "user %d not found", id))
}

// CreateProduct adds a product; p.ID is ignored and assigned by the database.
func (s *Store) CreateProduct(ctx context.Context, p paysaga.Product) (paysaga.Product, error) {
	if strings.TrimSpace(p.Name) == "" {
		return paysaga.Product{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "product name is empty")
	}
	if err := checkMoney("price", p.Price); err != nil {
		return paysaga.Product{}, err
	}
	if p.Stock < 0 {
		return paysaga.Product{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "stock must not be negative, got %d", p.Stock)
	}
	t := now()
	row := productRow{Name: p.Name, Price: p.Price, Stock: p.Stock, CreatedAt: t, UpdatedAt: t}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return paysaga.Product{}, fail(err, "create product %q", p.Name)
	}
	return s.GetProduct(ctx, row.ID)
}

// GetProduct returns the product, or PRODUCT_NOT_FOUND.
func (s *Store) GetProduct(ctx context.Context, id int64) (paysaga.Product, error) {
	return getCatalog(s.db.WithContext(ctx), id, getProduct, "product")
}

// getCatalog reads a user or a product by id, with get, and answers it as the domain
// value; the not-found error is get's, any other names what was read.
func getCatalog[R interface{ domain() D }, D any](tx *gorm.DB, id int64, get func(*gorm.DB, int64) (R, error), what string) (D, error) {
	row, err := get(tx, id)
	if err != nil {
		var none D
		return none, fail(err, "get %s %d", what, id)
	}
	return row.domain(), nil
}

func getProduct(tx *gorm.DB, id int64) (productRow, error) {
	return takeOne[productRow](tx, "id", id, paysaga.Errorf(paysaga.CodeProductNotFound, "product %d not found", id))
}

// ListProducts returns every product by id.
func (s *Store) ListProducts(ctx context.Context) ([]paysaga.Product, error) {
	var rows []productRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fail(err, "list products")
	}
	out := make([]paysaga.Product, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SeedDemo gives an empty database a demo shopper and demo products, so that the dev stack
// can take a payment with no setup. Tables that already have rows are left alone.
func (s *Store) SeedDemo(ctx context.Context) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == migrations.Postgres {
			// api and worker may seed at once; the second waits, then sees the rows.
			if err := tx.Exec("LOCK TABLE users, products IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
				return err
			}
		}
		t := now()
		var n int64
		if err := tx.Model(&userRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			if err := tx.Create(&userRow{Name: "데모 고객", CreatedAt: t}).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&productRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		products := []productRow{
			{Name: "무선 이어폰", Price: decimal.NewFromInt(39000), Stock: 100},
			{Name: "텀블러", Price: decimal.NewFromInt(18000), Stock: 50},
			{Name: "한정판 키보드", Price: decimal.NewFromInt(129000), Stock: 5},
		}
		for i := range products {
			products[i].CreatedAt, products[i].UpdatedAt = t, t
			if err := tx.Create(&products[i]).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail(err, "seed demo data")
	}
	return nil
}
