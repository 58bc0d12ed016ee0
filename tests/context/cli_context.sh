# cli_context.sh - `flowc run` reading context sources end to end, under
# --mock: a csv and a json context decoded into records, a row that does not
# fit (the item fails naming the file, line, column, what was expected and
# found, and every item gets the same message: a source is read once), a
# symlink that leads out of the project (refused at run time, where the
# checker cannot see it), and a compiled program run from elsewhere with
# --root.
# Usage: sh cli_context.sh FLOWC
. "$(dirname "$0")/../cli/lib.sh" "$1"
FLOWC=$(cd "$(dirname "$FLOWC")" && pwd)/$(basename "$FLOWC")
cd "$TMP" || exit 2
mkdir -p proj/data outside

cat > proj/shop.flow <<'FLOW'
model fast { provider: mock, name: "fast-model", max_tokens: 50 }
enum Stock { in_stock, sold_out }
type Product { sku: string, name: string, price: float, stock: Stock, note: string? }
type Config { currency: string, discount: int }
context products: Product[] = csv("data/products.csv")
context config: Config = json("data/config.json")
prompt pitch(p: string) -> string {
  model: fast
  user "Write one line about {{ p }} (prices in {{ config.currency }})."
}
type Out { sku: string, label: string, pitch_len: bool }
flow main(sku: string) -> Out {
  let found = filter(products, p => p.sku == sku)
  check len(found) == 1 else fail
  let p = found[0]
  let line = pitch(p.name)
  yield Out { sku: p.sku, label: p.name + " " + config.currency, pitch_len: len(line) > 0 }
}
FLOW
printf 'sku,name,price,stock,note,warehouse\r\nA1,"Mug, large",12.5,in_stock,,north\r\nB2,"The ""Best"" Tote",30,sold_out,"back\r\nsoon",south\r\n' \
  > proj/data/products.csv
printf '{"currency": "EUR", "discount": 10}\n' > proj/data/config.json
printf '"B2"\n"A1"\n' > items.jsonl

run "$FLOWC" run proj/shop.flow --mock --input items.jsonl
expect_status 0 "csv and json contexts"
expect_equals out '{"sku":"B2","label":"The \"Best\" Tote EUR","pitch_len":true}
{"sku":"A1","label":"Mug, large EUR","pitch_len":true}' "records decoded from csv and json"
expect_quiet "a clean run"

# a row that does not fit: every item fails with the same message
printf 'sku,name,price,stock\nA1,Mug,12.5,in_stock\nB2,Tote,cheap,sold_out\n' > proj/data/products.csv
run "$FLOWC" run proj/shop.flow --mock --input items.jsonl --keep-going --errors errors.jsonl
expect_status 1 "a bad csv row"
expect_contains err 'context `products`: data/products.csv:3: column `price`: expected a float, found "cheap"' \
  "the bad row names file, line, column, expected and found"
expect_contains err '(at proj/shop.flow:5:1)' "the error points at the declaration"
if [ "$(grep -c 'data/products.csv:3: column `price`' errors.jsonl)" -eq 2 ]; then pass; else
  fail "expected both items to fail with the row's message in errors.jsonl"; fi

# a duplicate header column
printf 'sku,name,price,stock,sku\nA1,Mug,12.5,in_stock,A1\n' > proj/data/products.csv
run "$FLOWC" run proj/shop.flow --mock --input items.jsonl
expect_status 1 "a duplicate column"
expect_contains err 'data/products.csv:1: expected each column named once, found column 1 `sku` again as column 5' \
  "a duplicate column is named"

# a symlink out of the project passes the checker (the file exists) but not the run
printf 'sku,name,price,stock\nA1,Mug,1,in_stock\n' > outside/stolen.csv
rm proj/data/products.csv
ln -s ../../outside/stolen.csv proj/data/products.csv
run "$FLOWC" run proj/shop.flow --mock --input items.jsonl
expect_status 1 "a symlink that leads out"
expect_contains err 'context `products`: data/products.csv: expected symlinks that stay inside the project root, found `data/products.csv`, a symlink to `../../outside/stolen.csv`, which leads out of it' \
  "the link is named"

# compiled, run from another folder with --root
rm proj/data/products.csv
printf 'sku,name,price,stock\nA1,Mug,12.5,in_stock\n' > proj/data/products.csv
run "$FLOWC" compile proj/shop.flow -o shop.flowbc
expect_status 0 "compile"
printf '"A1"\n' > one.jsonl
run "$FLOWC" run shop.flowbc --mock --input one.jsonl --root proj
expect_status 0 "bytecode with --root"
expect_equals out '{"sku":"A1","label":"Mug EUR","pitch_len":true}' "contexts read under --root"
run "$FLOWC" run shop.flowbc --mock --input one.jsonl
expect_status 1 "bytecode without --root"
expect_contains err 'context `products`: data/products.csv: expected a file at ' "without --root the file is looked for beside the bytecode"

finish
