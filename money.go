package paysaga

import "github.com/shopspring/decimal"

// MaxQuantity bounds one order line; more is almost certainly a typo or an attack.
const MaxQuantity = 100

// OrderAmount is what an order of quantity units at price costs.
func OrderAmount(price decimal.Decimal, quantity int) decimal.Decimal {
	return price.Mul(decimal.NewFromInt(int64(quantity)))
}

// ValidateKRW checks that amount is a payable KRW amount: positive and whole, since the won
// has no minor unit and Toss refuses fractions.
func ValidateKRW(amount decimal.Decimal) error {
	if !amount.IsPositive() {
		return Errorf(CodeInvalidRequest, "amount must be positive, got %s", amount)
	}
	if !amount.IsInteger() {
		return Errorf(CodeInvalidRequest, "amount must be a whole number of won, got %s", amount)
	}
	return nil
}
