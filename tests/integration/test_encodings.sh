#!/usr/bin/env bash
# UTF-16 and UTF-32 text: Excel's "Unicode Text" export
# (UTF-16LE with a byte-order mark, tab-delimited), UTF-16BE and UTF-32LE,
# told by their mark and loaded with the default options into a table that
# then holds what the UTF-8 original loads; a gzipped one; --encoding for a
# file without a mark ("utf-16" is big-endian then); a file without one read
# as UTF-8 fails naming UTF-16 and --encoding, never as a header of garbled
# names; the reject file of a UTF-16 file is UTF-16 with its mark, and loads
# with the same options once corrected.  Two products a file: the names are
# what a case proves (non-ASCII, one outside the 8-bit encodings, ☕).
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

# A new database with the schema, for one file's load: its conninfo in $db.
fresh() { # name
	db=$(new_db "$1") && "$ETL" --db "$db" schema >/dev/null
}
products() { sql "$1" "SELECT string_agg(sku || '|' || name || '|' || price, ' ; ' ORDER BY sku) FROM products"; }
# The UTF-8 file $1 as $2 (an iconv name), after its byte-order mark
# (U+FEFF, encoded as the rest) unless $3 is "nomark".
encode() { # file encoding [nomark]
	{ [ "${3:-}" = nomark ] || printf '\xef\xbb\xbf'; cat "$1"; } | iconv -f UTF-8 -t "$2"
}

# --- the UTF-8 original ---------------------------------------------------------------
printf 'sku\tname\tprice\nKOP-001\tKopi Susu Gula Aren ☕\t18000\nCRM-002\tCrème brûlée\t25000\n' >excel-utf8.txt
tr '\t' , <excel-utf8.txt >products.csv
fresh enc_utf8
etl --db "$db" load --delimiter '\t' excel-utf8.txt
expect_rc 0 "the UTF-8 original loads"
want=$(products enc_utf8)
expect_eq "$want" "CRM-002|Crème brûlée|25000.00 ; KOP-001|Kopi Susu Gula Aren ☕|18000.00" "the table holds its two products"

# --- told by the byte-order mark, with the default options ---------------------------
encode excel-utf8.txt UTF-16LE >excel.txt
expect_eq "$(head -c 4 excel.txt | od -An -tx1 | tr -d ' ')" "fffe7300" "Excel's export: FF FE, then UTF-16LE"
fresh enc_le
db_le=$db
etl --db "$db_le" load --delimiter '\t' --summary-json s.json excel.txt
expect_rc 0 "UTF-16LE with its mark (Excel's Unicode Text) loads"
expect_eq "$(json_check s.json)" "excel.txt:loaded:2:2:0 0" "both rows loaded"
expect_eq "$(products enc_le)" "$want" "the table holds what the UTF-8 original loads"
expect_no_match "$err" "appears twice|unknown column" "no header of garbled names"

encode products.csv UTF-16BE >be.csv
fresh enc_be
etl --db "$db" load be.csv
expect_rc 0 "UTF-16BE with its mark loads with no option at all"
expect_eq "$(products enc_be)" "$want" "the same table"

encode products.csv UTF-32LE >le32.csv
expect_eq "$(head -c 8 le32.csv | od -An -tx1 | tr -d ' ')" "fffe000073000000" "UTF-32LE: FF FE 00 00, then four bytes a character"
fresh enc_le32
etl --db "$db" load le32.csv
expect_rc 0 "UTF-32LE with its mark loads with no option at all"
expect_eq "$(products enc_le32)" "$want" "the same table"

gzip -c excel.txt >excel.txt.gz
fresh enc_gz
etl --db "$db" load --delimiter '\t' excel.txt.gz
expect_rc 0 "gzipped UTF-16LE loads: the mark is looked for after gzip"
expect_eq "$(products enc_gz)" "$want" "the same table"

# The content fingerprint is of the decoded records: the UTF-8 original is
# the file the UTF-16 copy loaded.
etl --db "$db_le" load --summary-json s.json products.csv
expect_rc 0 "the UTF-8 original after its UTF-16 copy: nothing to do"
expect_eq "$(json_counts s.json)" "products.csv:skipped:2:0:0:2:0" "it is the same file, skipped"

# --- without a mark ------------------------------------------------------------------
encode products.csv UTF-16LE nomark >nomark.csv
fresh enc_nomark
etl --db "$db" load nomark.csv
expect_rc 3 "UTF-16LE without a mark, read as UTF-8: an input error (exit 3)"
expect_match "$err" "^siprems-etl: nomark\.csv:1: the header holds NUL bytes: the file looks like UTF-16LE without a byte-order mark; try --encoding utf-16le$" \
	"the message names UTF-16LE and the option"
expect_no_match "$err" "appears twice" "not a column that appears twice"
etl --db "$db" load --encoding utf-16 nomark.csv
expect_rc 3 "--encoding utf-16 without a mark is big-endian: the file's NUL bytes say otherwise"
expect_match "$err" "nomark\.csv:1: the header's NUL bytes are those of UTF-16LE, not UTF-16BE \(the file has no byte-order mark, and without one it is big-endian\): try --encoding utf-16le$" \
	"and that is said, with the option that reads it"
expect_eq "$(products enc_nomark)" "" "nothing of it loaded"
etl --db "$db" load --encoding utf-16le nomark.csv
expect_rc 0 "--encoding utf-16le reads it"
expect_eq "$(products enc_nomark)" "$want" "the same table"
encode products.csv UTF-16BE nomark >nomark-be.csv
fresh enc_nomark_be
etl --db "$db" load --encoding utf-16 nomark-be.csv
expect_rc 0 "--encoding utf-16 reads big-endian UTF-16 without a mark"
expect_eq "$(products enc_nomark_be)" "$want" "the same table"
etl --db "$db" load --encoding utf-7 nomark-be.csv
expect_rc 2 "an encoding it does not know is a usage error"

# --- a rejected row, corrected, loads with the same options ----------------------------
printf 'sku\tname\tprice\nTEH-003\tTeh Tarik ☕\t12000\nCRM-004\tCrème brûlée\t25,000\n' | encode /dev/stdin UTF-16LE >excel2.txt
fresh enc_rej
etl --db "$db" load --delimiter '\t' excel2.txt
expect_rc 1 "a UTF-16 file with a bad price: exit 1"
expect_match "$err" "^siprems-etl: excel2\.txt:3: price: \"25,000\" is not a plain decimal" "the reject is named as ever"
expect_eq "$(head -c 2 excel2.txt.rejects.csv | od -An -tx1 | tr -d ' ')" "fffe" \
	"the reject file is the input's UTF-16LE, with its mark"
expect_eq "$(iconv -f UTF-16 -t UTF-8 excel2.txt.rejects.csv | sed -n 2p | cut -f1-4)" "$(printf 'CRM-004\tCrème brûlée\t25,000\t3')" \
	"it holds the row's fields as written, tab-delimited"
iconv -f UTF-16 -t UTF-8 excel2.txt.rejects.csv | sed 's/\t25,000\t/\t25000\t/' | encode /dev/stdin UTF-16LE >excel2-fixed.txt
etl --db "$db" load --delimiter '\t' excel2-fixed.txt
expect_rc 0 "corrected, the reject file loads with the same options"
expect_eq "$(products enc_rej)" "CRM-004|Crème brûlée|25000.00 ; TEH-003|Teh Tarik ☕|12000.00" "both rows are in, with their names"

# Named without a mark, the reject file still has one: the same option reads it.
printf 'sku,name,price\nKUE-005,Kue Lapis ☕,x\n' | encode /dev/stdin UTF-16BE nomark >named.csv
etl --db "$db" load --encoding utf-16be named.csv
expect_rc 1 "a UTF-16BE file named with --encoding: its row rejected"
expect_eq "$(head -c 2 named.csv.rejects.csv | od -An -tx1 | tr -d ' ')" "feff" "its reject file is UTF-16BE with a mark"
iconv -f UTF-16 -t UTF-8 named.csv.rejects.csv | sed 's/,x,2,/,9000,2,/' | encode /dev/stdin UTF-16BE >named-fixed.csv
etl --db "$db" load --encoding utf-16be named-fixed.csv
expect_rc 0 "corrected, it loads with --encoding utf-16be"
expect_eq "$(sql enc_rej "SELECT name || '|' || price FROM products WHERE sku = 'KUE-005'")" "Kue Lapis ☕|9000.00" "the row is in"

finish
