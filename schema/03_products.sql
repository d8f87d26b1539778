-- The product catalogue (database guide: "products").
-- sku is unique: one unique index that is also the guide's lookup index.
CREATE TABLE products (
    product_id SERIAL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    category   VARCHAR(100),
    variation  VARCHAR(100),
    price      NUMERIC(10,2) NOT NULL,
    stock      INTEGER NOT NULL DEFAULT 0,
    sku        VARCHAR(100) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE UNIQUE INDEX idx_products_sku ON products (sku);
CREATE INDEX idx_products_category ON products (category);
