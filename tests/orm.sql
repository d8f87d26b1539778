-- What the app's ORM issues for its models (SQLAlchemy 1.4 create_all on
-- PostgreSQL): the database that init_db_manual.py makes.  Used by the tests.
CREATE TABLE users (
	user_id SERIAL NOT NULL,
	email VARCHAR(255) NOT NULL,
	full_name VARCHAR(255) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	is_active BOOLEAN,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (user_id)
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE stores (
	store_id SERIAL NOT NULL,
	name VARCHAR(255) NOT NULL,
	address TEXT,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (store_id)
);
CREATE TABLE opening_hours (
	id SERIAL NOT NULL,
	store_id INTEGER NOT NULL,
	day_of_week INTEGER NOT NULL,
	open_time VARCHAR(5) NOT NULL,
	close_time VARCHAR(5) NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(store_id) REFERENCES stores (store_id)
);
CREATE TABLE products (
	product_id SERIAL NOT NULL,
	sku VARCHAR(50) NOT NULL,
	name VARCHAR(255) NOT NULL,
	category VARCHAR(100) NOT NULL,
	variation VARCHAR(255),
	cost_price FLOAT,
	price FLOAT NOT NULL,
	stock INTEGER NOT NULL,
	description TEXT,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (product_id),
	UNIQUE (sku)
);
CREATE INDEX idx_category_stock ON products (category, stock);
CREATE TABLE transactions (
	transaction_id SERIAL NOT NULL,
	product_id INTEGER NOT NULL,
	quantity_sold INTEGER NOT NULL,
	price_per_unit FLOAT NOT NULL,
	is_promo BOOLEAN NOT NULL,
	transaction_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (transaction_id),
	FOREIGN KEY(product_id) REFERENCES products (product_id)
);
CREATE INDEX idx_product_date ON transactions (product_id, transaction_date);
CREATE INDEX idx_transaction_date ON transactions (transaction_date);
CREATE TABLE events (
	event_id SERIAL NOT NULL,
	event_name VARCHAR(255) NOT NULL,
	event_date TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	type VARCHAR(20) NOT NULL,
	description TEXT,
	include_in_prediction BOOLEAN NOT NULL,
	created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (event_id)
);
CREATE INDEX idx_type_date ON events (type, event_date);
CREATE INDEX idx_include_prediction ON events (include_in_prediction);
