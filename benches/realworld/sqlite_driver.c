/* SQLite: the same workload in memory and on a file (`bench.db` in the current folder):
 * inserts in a transaction, an index, a join, updates and aggregates. Prints the query
 * results; the same under wasm and native. Argument: the number of rows (default 20000). */
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

static int print_row(void *label, int n, char **values, char **names) {
    (void)names;
    printf("%s:", (const char *)label);
    for (int i = 0; i < n; i++)
        printf(" %s", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

static int exec(sqlite3 *db, const char *label, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, print_row, (void *)label, &error) != SQLITE_OK) {
        printf("%s failed: %s\n", label, error);
        sqlite3_free(error);
        return 1;
    }
    return 0;
}

static int workload(const char *path, int rows) {
    sqlite3 *db;
    remove(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        printf("cannot open %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    printf("-- %s\n", path);
    int failed = exec(db, "schema",
                      "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city INTEGER);"
                      "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, "
                      "amount INTEGER, note TEXT);");
    sqlite3_stmt *insert_customer, *insert_order;
    sqlite3_prepare_v2(db, "INSERT INTO customer(name, city) VALUES (?, ?)", -1,
                       &insert_customer, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO orders(customer, amount, note) VALUES (?, ?, ?)", -1,
                       &insert_order, NULL);
    exec(db, "begin", "BEGIN");
    unsigned seed = 42;
    int customers = rows / 10 + 1;
    for (int i = 0; i < customers; i++) {
        char name[32];
        snprintf(name, sizeof name, "customer-%d", i);
        sqlite3_bind_text(insert_customer, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(insert_customer, 2, i % 37);
        sqlite3_step(insert_customer);
        sqlite3_reset(insert_customer);
    }
    for (int i = 0; i < rows; i++) {
        seed = seed * 1103515245u + 12345u;
        char note[48];
        snprintf(note, sizeof note, "note %u", seed % 100000);
        sqlite3_bind_int(insert_order, 1, 1 + (int)((seed >> 8) % (unsigned)customers));
        sqlite3_bind_int(insert_order, 2, (int)((seed >> 4) % 1000));
        sqlite3_bind_text(insert_order, 3, note, -1, SQLITE_TRANSIENT);
        sqlite3_step(insert_order);
        sqlite3_reset(insert_order);
    }
    exec(db, "commit", "COMMIT");
    sqlite3_finalize(insert_customer);
    sqlite3_finalize(insert_order);
    failed |= exec(db, "index", "CREATE INDEX orders_customer ON orders(customer)");
    failed |= exec(db, "count", "SELECT count(*), sum(amount) FROM orders");
    failed |= exec(db, "join",
                   "SELECT c.city, count(*), sum(o.amount) FROM orders o JOIN customer c "
                   "ON o.customer = c.id GROUP BY c.city ORDER BY 3 DESC LIMIT 5");
    failed |= exec(db, "update", "UPDATE orders SET amount = amount * 2 WHERE amount < 100");
    failed |= exec(db, "after update",
                   "SELECT count(*), sum(amount), max(amount) FROM orders WHERE amount < 200");
    failed |= exec(db, "top customers",
                   "SELECT c.name, sum(o.amount) AS total FROM customer c JOIN orders o "
                   "ON o.customer = c.id GROUP BY c.id ORDER BY total DESC, c.name LIMIT 3");
    failed |= exec(db, "like", "SELECT count(*) FROM orders WHERE note LIKE 'note 12%'");
    failed |= exec(db, "delete", "DELETE FROM orders WHERE amount > 1500");
    failed |= exec(db, "left", "SELECT count(*) FROM orders");
    sqlite3_close(db);
    return failed;
}

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 20000;
    int failed = workload(":memory:", rows);
    failed |= workload("bench.db", rows);
    return failed;
}
