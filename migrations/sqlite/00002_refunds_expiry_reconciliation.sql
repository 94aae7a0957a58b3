-- The same as the PostgreSQL schema, with SQLite's types (see 00001_init.sql): money is TEXT.

-- +goose Up
-- What has been given back of an order's payment; its balance is amount - canceled_amount.
ALTER TABLE orders ADD COLUMN canceled_amount TEXT NOT NULL DEFAULT '0';

-- One row per refund of an order: the request, then its outcome at Toss.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id        VARCHAR(64)  NOT NULL REFERENCES orders (order_id),
    seq             INTEGER      NOT NULL CHECK (seq > 0),
    -- The refund workflow's ID: a retried BeginRefund finds its own row by it.
    request_id      VARCHAR(200) NOT NULL UNIQUE,
    amount          TEXT         NOT NULL,
    balance_before  TEXT         NOT NULL,
    reason          VARCHAR(200) NOT NULL,
    requested_by    VARCHAR(100) NOT NULL DEFAULT '',
    status          VARCHAR(16)  NOT NULL CHECK (status IN ('REQUESTED', 'DONE', 'FAILED')),
    transaction_key VARCHAR(64)  NOT NULL DEFAULT '',
    failure_code    VARCHAR(100) NOT NULL DEFAULT '',
    failure_message TEXT         NOT NULL DEFAULT '',
    created_at      TIMESTAMP    NOT NULL,
    updated_at      TIMESTAMP    NOT NULL,
    UNIQUE (order_id, seq)
);
-- At most one refund in flight per order: the second is refused by the database itself.
CREATE UNIQUE INDEX refunds_one_in_flight_idx ON refunds (order_id) WHERE status = 'REQUESTED';

-- Client idempotency of mutating API calls (the cancel): the first answer, replayed.
CREATE TABLE idempotency_keys (
    scope           VARCHAR(100) NOT NULL,
    idem_key        VARCHAR(255) NOT NULL,
    request_hash    VARCHAR(64)  NOT NULL,
    status          VARCHAR(16)  NOT NULL CHECK (status IN ('IN_PROGRESS', 'DONE')),
    locked_until    TIMESTAMP    NOT NULL,
    response_status INTEGER      NOT NULL DEFAULT 0,
    response_body   TEXT         NOT NULL DEFAULT '',
    created_at      TIMESTAMP    NOT NULL,
    updated_at      TIMESTAMP    NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

-- Expiry sweeps find old CREATED orders by creation time.
CREATE INDEX orders_status_created_at_idx ON orders (status, created_at);

-- One row per reconciliation run and one per difference it found.
CREATE TABLE reconciliation_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       VARCHAR(200) NOT NULL UNIQUE,
    window_start TIMESTAMP    NOT NULL,
    window_end   TIMESTAMP    NOT NULL,
    checked      INTEGER      NOT NULL DEFAULT 0,
    settled      INTEGER      NOT NULL DEFAULT 0,
    unsettled    INTEGER      NOT NULL DEFAULT 0,
    started_at   TIMESTAMP    NOT NULL,
    finished_at  TIMESTAMP
);

CREATE TABLE reconciliation_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER      NOT NULL REFERENCES reconciliation_runs (id),
    order_id    VARCHAR(64)  NOT NULL,
    payment_key VARCHAR(200) NOT NULL DEFAULT '',
    finding     VARCHAR(64)  NOT NULL,
    action      VARCHAR(64)  NOT NULL,
    db_status   VARCHAR(32)  NOT NULL DEFAULT '',
    toss_status VARCHAR(32)  NOT NULL DEFAULT '',
    note        TEXT         NOT NULL DEFAULT '',
    created_at  TIMESTAMP    NOT NULL
);
CREATE INDEX reconciliation_items_run_id_idx ON reconciliation_items (run_id, id);

-- +goose Down
DROP TABLE reconciliation_items;
DROP TABLE reconciliation_runs;
DROP INDEX orders_status_created_at_idx;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
ALTER TABLE orders DROP COLUMN canceled_amount;
