-- The database refuses rows that no code path should ever write, so that a bug in one of
-- them (or a hand-written UPDATE at 3 a.m.) fails loudly instead of leaving money records
-- that lie. Every rule has a name of its own, the one that appears in the error.
--
-- The checks the earlier migrations declared inline got PostgreSQL's generated names
-- (<table>_<column>_check); they are renamed to say what they mean. ADD CONSTRAINT checks
-- the rows already there, so this migration fails, and changes nothing, on a database that
-- already holds a row breaking a rule.

-- +goose Up
-- An order with nothing to pay is not a payment Toss would take (the API already refuses
-- it); a product may still be free.
ALTER TABLE orders DROP CONSTRAINT orders_amount_check;
ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);
ALTER TABLE orders RENAME CONSTRAINT orders_quantity_check TO orders_quantity_positive;
ALTER TABLE orders RENAME CONSTRAINT orders_canceled_amount_check TO orders_canceled_amount_nonnegative;
-- More refunded than was paid would make the balance (amount - canceled_amount) negative.
ALTER TABLE orders ADD CONSTRAINT orders_canceled_amount_within_amount CHECK (canceled_amount <= amount);
-- Keep this list equal to the OrderStatus constants of order.go (a test in this package
-- holds it to them): a status the code does not know is a row no code path can handle.
ALTER TABLE orders ADD CONSTRAINT orders_status_known CHECK (status IN (
    'CREATED', 'CONFIRMING', 'PAID', 'FAILED', 'CANCELED', 'PARTIAL_CANCELED', 'EXPIRED', 'NEEDS_ATTENTION'));

ALTER TABLE products RENAME CONSTRAINT products_stock_check TO products_stock_nonnegative;
ALTER TABLE products RENAME CONSTRAINT products_price_check TO products_price_nonnegative;

ALTER TABLE refunds RENAME CONSTRAINT refunds_amount_check TO refunds_amount_positive;

-- The row triggers of 00001 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger:
-- without this, one statement (or TRUNCATE orders CASCADE) would empty the audit trail.
CREATE TRIGGER payment_events_no_truncate BEFORE TRUNCATE ON payment_events
    FOR EACH STATEMENT EXECUTE FUNCTION payment_events_append_only();

-- +goose Down
DROP TRIGGER payment_events_no_truncate ON payment_events;

ALTER TABLE refunds RENAME CONSTRAINT refunds_amount_positive TO refunds_amount_check;

ALTER TABLE products RENAME CONSTRAINT products_price_nonnegative TO products_price_check;
ALTER TABLE products RENAME CONSTRAINT products_stock_nonnegative TO products_stock_check;

ALTER TABLE orders DROP CONSTRAINT orders_status_known;
ALTER TABLE orders DROP CONSTRAINT orders_canceled_amount_within_amount;
ALTER TABLE orders RENAME CONSTRAINT orders_canceled_amount_nonnegative TO orders_canceled_amount_check;
ALTER TABLE orders RENAME CONSTRAINT orders_quantity_positive TO orders_quantity_check;
ALTER TABLE orders DROP CONSTRAINT orders_amount_positive;
ALTER TABLE orders ADD CONSTRAINT orders_amount_check CHECK (amount >= 0);
