-- The same rules as the PostgreSQL migration, each refusing with the same constraint name.
--
-- Why triggers, not CHECK: SQLite cannot add a CHECK to an existing table; it would have to
-- be rebuilt (create a copy, move the rows, drop, rename). orders is referenced by three
-- tables' foreign keys, and goose runs each migration in a transaction, where
-- PRAGMA foreign_keys cannot be switched off for the rebuild. A BEFORE INSERT and a
-- BEFORE UPDATE trigger per table refuse the same rows with RAISE(ABORT, '<name>: <why>'),
-- and leave the tables as they are. The triggers also restate the CHECKs 00001 declared
-- inline (quantity, stock), so that every dialect names the rule a row broke; and they test
-- the type, which a CHECK does not: without STRICT tables SQLite stores 'abc' in an INTEGER
-- column, and text compares greater than any number.
--
-- Money is TEXT here (see 00001_init.sql), and TEXT compares as text: '0.00' > 0 is true
-- (any text sorts after any number) and '10000' <= '9000' is true too. CAST to REAL would
-- round past 15 digits, so that 9999999999999999.99 and .98 compare equal. So each amount
-- is first checked to be what NUMERIC(18,2) holds (digits, at most one point, at most 16
-- digits before it and two after, no sign) and then compared exactly as whole cents in a
-- 64-bit integer: CAST(x AS INTEGER) keeps the digits before the point, the two after are
-- padded with zeros and added.

-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER orders_check_insert BEFORE INSERT ON orders
BEGIN
    SELECT RAISE(ABORT, 'orders_amount_positive: amount must be a decimal above 0 with at most two places')
    WHERE NOT (NEW.amount GLOB '[0-9]*' AND NEW.amount NOT GLOB '*[^0-9.]*' AND NEW.amount NOT GLOB '*.*.*' AND NEW.amount NOT GLOB '*.'
            AND instr(NEW.amount || '.', '.') <= 17 AND length(NEW.amount) - instr(NEW.amount || '.', '.') <= 2)
       OR (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER)) <= 0;
    SELECT RAISE(ABORT, 'orders_canceled_amount_nonnegative: canceled_amount must be a decimal of at least 0 with at most two places')
    WHERE NOT (NEW.canceled_amount GLOB '[0-9]*' AND NEW.canceled_amount NOT GLOB '*[^0-9.]*' AND NEW.canceled_amount NOT GLOB '*.*.*' AND NEW.canceled_amount NOT GLOB '*.'
            AND instr(NEW.canceled_amount || '.', '.') <= 17 AND length(NEW.canceled_amount) - instr(NEW.canceled_amount || '.', '.') <= 2);
    SELECT RAISE(ABORT, 'orders_canceled_amount_within_amount: more canceled than was paid')
    WHERE (CAST(NEW.canceled_amount AS INTEGER) * 100 + CAST(substr(substr(NEW.canceled_amount, instr(NEW.canceled_amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER))
        > (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER));
    SELECT RAISE(ABORT, 'orders_quantity_positive: quantity must be an integer above 0')
    WHERE typeof(NEW.quantity) <> 'integer' OR NEW.quantity <= 0;
    SELECT RAISE(ABORT, 'orders_status_known: status is not an OrderStatus of order.go')
    WHERE NEW.status NOT IN (
        'CREATED', 'CONFIRMING', 'PAID', 'FAILED', 'CANCELED', 'PARTIAL_CANCELED', 'EXPIRED', 'NEEDS_ATTENTION');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER orders_check_update BEFORE UPDATE ON orders
BEGIN
    SELECT RAISE(ABORT, 'orders_amount_positive: amount must be a decimal above 0 with at most two places')
    WHERE NOT (NEW.amount GLOB '[0-9]*' AND NEW.amount NOT GLOB '*[^0-9.]*' AND NEW.amount NOT GLOB '*.*.*' AND NEW.amount NOT GLOB '*.'
            AND instr(NEW.amount || '.', '.') <= 17 AND length(NEW.amount) - instr(NEW.amount || '.', '.') <= 2)
       OR (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER)) <= 0;
    SELECT RAISE(ABORT, 'orders_canceled_amount_nonnegative: canceled_amount must be a decimal of at least 0 with at most two places')
    WHERE NOT (NEW.canceled_amount GLOB '[0-9]*' AND NEW.canceled_amount NOT GLOB '*[^0-9.]*' AND NEW.canceled_amount NOT GLOB '*.*.*' AND NEW.canceled_amount NOT GLOB '*.'
            AND instr(NEW.canceled_amount || '.', '.') <= 17 AND length(NEW.canceled_amount) - instr(NEW.canceled_amount || '.', '.') <= 2);
    SELECT RAISE(ABORT, 'orders_canceled_amount_within_amount: more canceled than was paid')
    WHERE (CAST(NEW.canceled_amount AS INTEGER) * 100 + CAST(substr(substr(NEW.canceled_amount, instr(NEW.canceled_amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER))
        > (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER));
    SELECT RAISE(ABORT, 'orders_quantity_positive: quantity must be an integer above 0')
    WHERE typeof(NEW.quantity) <> 'integer' OR NEW.quantity <= 0;
    SELECT RAISE(ABORT, 'orders_status_known: status is not an OrderStatus of order.go')
    WHERE NEW.status NOT IN (
        'CREATED', 'CONFIRMING', 'PAID', 'FAILED', 'CANCELED', 'PARTIAL_CANCELED', 'EXPIRED', 'NEEDS_ATTENTION');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER products_check_insert BEFORE INSERT ON products
BEGIN
    SELECT RAISE(ABORT, 'products_price_nonnegative: price must be a decimal of at least 0 with at most two places')
    WHERE NOT (NEW.price GLOB '[0-9]*' AND NEW.price NOT GLOB '*[^0-9.]*' AND NEW.price NOT GLOB '*.*.*' AND NEW.price NOT GLOB '*.'
            AND instr(NEW.price || '.', '.') <= 17 AND length(NEW.price) - instr(NEW.price || '.', '.') <= 2);
    SELECT RAISE(ABORT, 'products_stock_nonnegative: stock must be an integer of at least 0')
    WHERE typeof(NEW.stock) <> 'integer' OR NEW.stock < 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER products_check_update BEFORE UPDATE ON products
BEGIN
    SELECT RAISE(ABORT, 'products_price_nonnegative: price must be a decimal of at least 0 with at most two places')
    WHERE NOT (NEW.price GLOB '[0-9]*' AND NEW.price NOT GLOB '*[^0-9.]*' AND NEW.price NOT GLOB '*.*.*' AND NEW.price NOT GLOB '*.'
            AND instr(NEW.price || '.', '.') <= 17 AND length(NEW.price) - instr(NEW.price || '.', '.') <= 2);
    SELECT RAISE(ABORT, 'products_stock_nonnegative: stock must be an integer of at least 0')
    WHERE typeof(NEW.stock) <> 'integer' OR NEW.stock < 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER refunds_check_insert BEFORE INSERT ON refunds
BEGIN
    SELECT RAISE(ABORT, 'refunds_amount_positive: amount must be a decimal above 0 with at most two places')
    WHERE NOT (NEW.amount GLOB '[0-9]*' AND NEW.amount NOT GLOB '*[^0-9.]*' AND NEW.amount NOT GLOB '*.*.*' AND NEW.amount NOT GLOB '*.'
            AND instr(NEW.amount || '.', '.') <= 17 AND length(NEW.amount) - instr(NEW.amount || '.', '.') <= 2)
       OR (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER)) <= 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER refunds_check_update BEFORE UPDATE ON refunds
BEGIN
    SELECT RAISE(ABORT, 'refunds_amount_positive: amount must be a decimal above 0 with at most two places')
    WHERE NOT (NEW.amount GLOB '[0-9]*' AND NEW.amount NOT GLOB '*[^0-9.]*' AND NEW.amount NOT GLOB '*.*.*' AND NEW.amount NOT GLOB '*.'
            AND instr(NEW.amount || '.', '.') <= 17 AND length(NEW.amount) - instr(NEW.amount || '.', '.') <= 2)
       OR (CAST(NEW.amount AS INTEGER) * 100 + CAST(substr(substr(NEW.amount, instr(NEW.amount || '.', '.') + 1) || '00', 1, 2) AS INTEGER)) <= 0;
END;
-- +goose StatementEnd

-- The UPDATE and DELETE triggers of 00001 do not see INSERT OR REPLACE: the row it replaces
-- is deleted without firing delete triggers (unless recursive_triggers is on), so one
-- statement could rewrite an event. An insert may not name an id that is already there.
-- A DELETE without WHERE cannot empty the table in one go either: SQLite's truncate
-- optimisation, which skips row triggers, is off for a table that has triggers, so
-- payment_events_no_delete fires on the first row. SQLite has no TRUNCATE statement.
-- +goose StatementBegin
CREATE TRIGGER payment_events_no_replace BEFORE INSERT ON payment_events
WHEN EXISTS (SELECT 1 FROM payment_events WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'payment_events is append-only');
END;
-- +goose StatementEnd

-- Rows already there are held to the rules as PostgreSQL's ADD CONSTRAINT holds them: each
-- is rewritten unchanged, which fires the UPDATE triggers, so the migration fails (and is
-- rolled back) if one breaks a rule.
UPDATE orders SET status = status;
UPDATE products SET stock = stock;
UPDATE refunds SET amount = amount;

-- +goose Down
DROP TRIGGER payment_events_no_replace;
DROP TRIGGER refunds_check_update;
DROP TRIGGER refunds_check_insert;
DROP TRIGGER products_check_update;
DROP TRIGGER products_check_insert;
DROP TRIGGER orders_check_update;
DROP TRIGGER orders_check_insert;
