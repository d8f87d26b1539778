-- Daily sales, one row per sale (database guide: "transactions").
CREATE TABLE transactions (
    transaction_id   SERIAL PRIMARY KEY,
    product_id       INTEGER NOT NULL,
    quantity_sold    INTEGER NOT NULL,
    price_per_unit   NUMERIC(10,2) NOT NULL,
    transaction_date TIMESTAMP NOT NULL DEFAULT NOW(),
    is_promo         BOOLEAN DEFAULT FALSE
);
ALTER TABLE transactions ADD CONSTRAINT transactions_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (product_id) ON DELETE RESTRICT;
CREATE INDEX idx_transaction_date ON transactions (transaction_date);
CREATE INDEX idx_product_id ON transactions (product_id);
CREATE INDEX idx_transactions_product_date ON transactions (product_id, transaction_date);
CREATE INDEX idx_transactions_is_promo ON transactions (is_promo);
CREATE INDEX idx_transactions_date_range ON transactions (transaction_date DESC);
CREATE INDEX idx_transactions_quantity_date ON transactions (quantity_sold, transaction_date);
