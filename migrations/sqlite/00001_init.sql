-- SQLite differs from the PostgreSQL schema where its types force it to:
--   * INTEGER PRIMARY KEY AUTOINCREMENT: only INTEGER (not BIGINT) aliases the rowid.
--   * money is TEXT: NUMERIC affinity would turn '9999999999999999.99' into a REAL and keep
--     only 15 significant digits. The store validates scale and sign instead of a CHECK.
--   * TIMESTAMP columns hold UTC text; the declared type makes the driver parse it back.
--   * evidence is TEXT holding JSON.

-- +goose Up
CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       VARCHAR(100) NOT NULL,
    created_at TIMESTAMP    NOT NULL
);

CREATE TABLE products (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       VARCHAR(200) NOT NULL,
    price      TEXT         NOT NULL,
    stock      INTEGER      NOT NULL CHECK (stock >= 0),
    created_at TIMESTAMP    NOT NULL,
    updated_at TIMESTAMP    NOT NULL
);

CREATE TABLE orders (
    order_id        VARCHAR(64)  PRIMARY KEY,
    user_id         INTEGER      NOT NULL REFERENCES users (id),
    product_id      INTEGER      NOT NULL REFERENCES products (id),
    order_name      VARCHAR(100) NOT NULL,
    quantity        INTEGER      NOT NULL CHECK (quantity > 0),
    unit_price      TEXT         NOT NULL,
    amount          TEXT         NOT NULL,
    status          VARCHAR(32)  NOT NULL,
    -- NULL until BeginConfirm; UNIQUE so that one paymentKey can never pay two orders.
    payment_key     VARCHAR(200) UNIQUE,
    method          VARCHAR(50)  NOT NULL DEFAULT '',
    approved_at     TIMESTAMP,
    failure_code    VARCHAR(100) NOT NULL DEFAULT '',
    failure_message TEXT         NOT NULL DEFAULT '',
    created_at      TIMESTAMP    NOT NULL,
    updated_at      TIMESTAMP    NOT NULL
);
CREATE INDEX orders_status_updated_at_idx ON orders (status, updated_at);
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- One row per order: its existence is what makes ReserveStock idempotent.
CREATE TABLE stock_reservations (
    order_id    VARCHAR(64) PRIMARY KEY REFERENCES orders (order_id),
    product_id  INTEGER     NOT NULL REFERENCES products (id),
    quantity    INTEGER     NOT NULL CHECK (quantity > 0),
    status      VARCHAR(16) NOT NULL CHECK (status IN ('RESERVED', 'RELEASED')),
    created_at  TIMESTAMP   NOT NULL,
    released_at TIMESTAMP
);

CREATE TABLE payment_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    VARCHAR(64) NOT NULL REFERENCES orders (order_id),
    type        VARCHAR(64) NOT NULL,
    from_status VARCHAR(32) NOT NULL DEFAULT '',
    to_status   VARCHAR(32) NOT NULL,
    evidence    TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
    created_at  TIMESTAMP   NOT NULL
);
CREATE INDEX payment_events_order_id_id_idx ON payment_events (order_id, id);

-- The audit trail is only worth something if nobody can rewrite it, the application included.
-- +goose StatementBegin
CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment_events is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE payment_events;
DROP TABLE stock_reservations;
DROP TABLE orders;
DROP TABLE products;
DROP TABLE users;
