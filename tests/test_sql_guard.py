"""service.sql_guard: hostile SQL is refused under the right rule, valid SQL passes, the LIMIT is applied."""

from __future__ import annotations

import pytest

from service.errors import SQLRefused
from service.sql_allowlist import FUNCTIONS, TABLE_FUNCTIONS
from service.sql_guard import CheckedSQL, check_sql

ALL = ("sqlite", "postgres", "mysql")
PG, MY, LITE = ("postgres",), ("mysql",), ("sqlite",)

SCHEMA: dict[str, list[str]] = {
    "nrcelldu": [
        "id", "cellname", "gnbdufunction_id", "pmrrcconnestabsucc", "pmrrcconnestabatt", "report_date",
    ],
    "gnbdufunction": ["id", "gnbid", "vendor"],
    "CellKPI": ["Id", "DlThroughput"],  # mixed case, as created with quotes
    "t": ["id"],
}


# The schema/database the indexed tables live in, as the databases report it.
DEFAULT_SCHEMA = {"postgres": "public", "mysql": "test", "sqlite": None}


def check(sql: str, dialect: str, max_rows: int = 100) -> CheckedSQL:
    return check_sql(sql, dialect, SCHEMA, max_rows, default_schema=DEFAULT_SCHEMA[dialect])


def expand(cases: list[tuple[str, str, tuple[str, ...]]]) -> list[tuple[str, str, str]]:
    return [(dialect, sql, rule) for sql, rule, dialects in cases for dialect in dialects]


HOSTILE: list[tuple[str, str, tuple[str, ...]]] = [
    # stacked statements and comment tricks
    ("SELECT 1; DROP TABLE nrcelldu", "single_statement", ALL),
    ("select 1;select 2;", "single_statement", ALL),
    ("SELECT 1; -- harmless?\nDELETE FROM nrcelldu", "single_statement", ALL),
    ("SELECT id FROM nrcelldu; UPDATE nrcelldu SET cellname = 'x'", "single_statement", ALL),
    ("/* SELECT 1; */ DROP TABLE nrcelldu", "read_only", ALL),
    ("", "empty", ALL),
    ("  \n\t ", "empty", ALL),
    (";", "empty", ALL),
    ("-- only a comment", "empty", ALL),
    ("/* nothing */ ;", "empty", ALL),
    ("SELEC id FROM nrcelldu", "parse", ALL),
    ("SELECT * FROM", "parse", ALL),
    ("SELECT 'unterminated", "parse", ALL),
    ("SELECT (1", "parse", ALL),
    # writes, DDL and session changes
    ("DROP TABLE nrcelldu", "read_only", ALL),
    ("drop table nrcelldu", "read_only", ALL),
    ("DeLeTe FROM nrcelldu WHERE id = 1", "read_only", ALL),
    ("UPDATE nrcelldu SET cellname = 'x'", "read_only", ALL),
    ("INSERT INTO nrcelldu (id) SELECT id FROM gnbdufunction", "read_only", ALL),
    ("insert into nrcelldu values (1, 'a', 1, 1, 1, '2024-01-01')", "read_only", ALL),
    ("CREATE TABLE x AS SELECT * FROM nrcelldu", "read_only", ALL),
    ("ALTER TABLE nrcelldu ADD COLUMN z INT", "read_only", ALL),
    ("TRUNCATE TABLE nrcelldu", "read_only", PG + MY),
    ("BEGIN", "read_only", PG + LITE),
    ("COMMIT", "read_only", ALL),
    ("PRAGMA writable_schema=1", "read_only", LITE),
    ("pragma query_only = 0", "read_only", LITE),
    ("ATTACH DATABASE '/tmp/x' AS y", "read_only", LITE),
    ("DETACH DATABASE y", "read_only", LITE),
    ("VACUUM", "read_only", LITE + PG),
    ("ANALYZE nrcelldu", "read_only", PG),
    ("COPY nrcelldu TO '/tmp/x'", "read_only", PG),
    ("COPY (SELECT 1) TO PROGRAM 'id'", "read_only", PG),
    ("SET ROLE postgres", "read_only", PG),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "read_only", PG),
    ("set transaction read write", "read_only", PG + MY),
    ("SET GLOBAL max_connections = 1", "read_only", MY),
    ("CALL p()", "read_only", PG + MY),
    ("GRANT ALL ON nrcelldu TO public", "read_only", PG + MY),
    ("LOCK TABLE nrcelldu", "read_only", PG),
    ("LOCK TABLES nrcelldu WRITE", "read_only", MY),
    ("REPLACE INTO nrcelldu (id) VALUES (1)", "read_only", MY),
    ("DO $$ BEGIN PERFORM pg_sleep(1); END $$", "read_only", PG),
    ("EXPLAIN ANALYZE DELETE FROM nrcelldu", "read_only", PG),
    ("MERGE INTO nrcelldu USING gnbdufunction g ON nrcelldu.id = g.id WHEN MATCHED THEN DELETE",
     "read_only", PG),
    ("WITH d AS (DELETE FROM nrcelldu RETURNING *) SELECT * FROM d", "read_only", PG),
    ("WITH u AS (UPDATE nrcelldu SET cellname = 'x' RETURNING id) SELECT id FROM u", "read_only", PG),
    ("WITH i AS (INSERT INTO gnbdufunction (id) VALUES (9) RETURNING id) SELECT id FROM i", "read_only", PG),
    ("SELECT * FROM nrcelldu FOR UPDATE", "read_only", PG + MY),
    ("select id from nrcelldu for share", "read_only", PG),
    ("SELECT id FROM nrcelldu LOCK IN SHARE MODE", "read_only", MY),
    # SELECT ... INTO
    ("SELECT * INTO OUTFILE '/tmp/x' FROM nrcelldu", "select_into", MY),
    ("select * from nrcelldu into outfile '/tmp/x'", "select_into", MY),
    ("SELECT cellname FROM nrcelldu INTO DUMPFILE '/tmp/x'", "select_into", MY),
    ("SELECT id INTO @x FROM nrcelldu", "select_into", MY),
    ("SELECT * INTO newt FROM nrcelldu", "select_into", PG),
    ("SELECT * INTO TEMP newt FROM nrcelldu", "select_into", PG),
    # side-effect, file and system functions, anywhere in the tree
    ("SELECT pg_sleep(10)", "function_not_allowed", PG),
    ("select PG_SLEEP(10)", "function_not_allowed", PG),
    ("SELECT pg_catalog.pg_sleep(1)", "function_not_allowed", PG),
    ("SELECT * FROM nrcelldu WHERE id = (SELECT pg_read_file('/etc/passwd'))", "function_not_allowed", PG),
    ("SELECT pg_read_binary_file('/etc/passwd')", "function_not_allowed", PG),
    ("SELECT * FROM pg_ls_dir('.')", "function_not_allowed", PG),
    ("SELECT pg_stat_file('postgresql.conf')", "function_not_allowed", PG),
    ("SELECT lo_import('/etc/passwd')", "function_not_allowed", PG),
    ("SELECT lo_export(1, '/tmp/x')", "function_not_allowed", PG),
    ("SELECT lo_get(1)", "function_not_allowed", PG),
    ("SELECT pg_terminate_backend(1)", "function_not_allowed", PG),
    ("SELECT Pg_Cancel_Backend(1)", "function_not_allowed", PG),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "function_not_allowed", PG),
    ("SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", "function_not_allowed", PG),
    ("SELECT dblink_exec('host=x', 'DROP TABLE nrcelldu')", "function_not_allowed", PG),
    ("SELECT nextval('s')", "function_not_allowed", PG),
    ("SELECT setval('s', 1)", "function_not_allowed", PG),
    ("SELECT pg_advisory_lock(1)", "function_not_allowed", PG),
    ("SELECT txid_current()", "function_not_allowed", PG),
    ("SELECT query_to_xml('DELETE FROM nrcelldu', true, true, '')", "function_not_allowed", PG),
    ("SELECT LOAD_FILE('/etc/passwd')", "function_not_allowed", MY),
    ("select sleep(5)", "function_not_allowed", MY),
    ("SELECT id FROM nrcelldu WHERE SLEEP(1) = 0", "function_not_allowed", MY),
    ("SELECT BENCHMARK(1000000, MD5('x'))", "function_not_allowed", MY),
    ("SELECT GET_LOCK('a', 10)", "function_not_allowed", MY),
    ("SELECT sys_exec('id')", "function_not_allowed", MY),
    ("SELECT sys_eval('id')", "function_not_allowed", MY),
    ("WITH x AS (SELECT SLEEP(1) AS s) SELECT s FROM x", "function_not_allowed", MY),
    ("SELECT load_extension('x')", "function_not_allowed", LITE),
    ("SELECT LOAD_EXTENSION('/tmp/evil.so', 'init')", "function_not_allowed", LITE),
    ("SELECT readfile('/etc/passwd')", "function_not_allowed", LITE),
    ("SELECT writefile('/tmp/x', 'y')", "function_not_allowed", LITE),
    ("SELECT fts3_tokenizer('simple')", "function_not_allowed", LITE),
    ("SELECT cellname FROM nrcelldu UNION SELECT load_extension('x')", "function_not_allowed", LITE),
    # unknown tables and columns
    ("SELECT * FROM users", "unknown_table", ALL),
    ("SELECT * FROM information_schema.tables", "unknown_table", ALL),
    ("SELECT * FROM pg_user", "unknown_table", PG),
    ("SELECT * FROM mysql.user", "unknown_table", MY),
    ("SELECT * FROM sqlite_master", "unknown_table", LITE),
    ("SELECT n.id FROM nrcelldu n JOIN nope ON nope.id = n.id", "unknown_table", ALL),
    ("SELECT x.id FROM nrcelldu", "unknown_table", ALL),
    ("SELECT nrcelldu.id FROM nrcelldu AS n", "unknown_table", ALL),
    ('SELECT id FROM "NRCELLDU"', "unknown_table", PG),
    ("SELECT * FROM cellkpi", "unknown_table", PG),
    ("SELECT foo FROM nrcelldu", "unknown_column", ALL),
    ("SELECT nrcelldu.foo FROM nrcelldu", "unknown_column", ALL),
    ("SELECT c.foo FROM nrcelldu c", "unknown_column", ALL),
    ("SELECT id FROM nrcelldu WHERE bogus > 1", "unknown_column", ALL),
    ("SELECT id FROM nrcelldu ORDER BY bogus", "unknown_column", ALL),
    ("SELECT id FROM nrcelldu GROUP BY id HAVING SUM(bogus) > 1", "unknown_column", ALL),
    ("SELECT n.cellname, g.cellname FROM nrcelldu n JOIN gnbdufunction g ON g.id = n.gnbdufunction_id",
     "unknown_column", ALL),
    ("WITH c AS (SELECT id FROM nrcelldu) SELECT cellname FROM c", "unknown_column", ALL),
    ("WITH c AS (SELECT * FROM gnbdufunction) SELECT c.cellname FROM c", "unknown_column", ALL),
    ("SELECT s.cellname FROM (SELECT id FROM nrcelldu) AS s", "unknown_column", ALL),
    ("SELECT id FROM nrcelldu WHERE id IN (SELECT nope FROM gnbdufunction)", "unknown_column", ALL),
    ('SELECT "CellName" FROM nrcelldu', "unknown_column", PG),
    ("SELECT DlThroughput FROM \"CellKPI\"", "unknown_column", PG),
]


@pytest.mark.parametrize(("dialect", "sql", "rule"), expand(HOSTILE))
def test_hostile_sql_is_refused_with_its_rule(dialect: str, sql: str, rule: str) -> None:
    with pytest.raises(SQLRefused) as info:
        check(sql, dialect)
    assert info.value.rule == rule, info.value.reason
    assert info.value.reason and "\n" not in info.value.reason


VALID: list[tuple[str, tuple[str, ...]]] = [
    ("SELECT COUNT(*) FROM nrcelldu", ALL),
    ("SELECT 1", ALL),
    ("SELECT n.cellname, g.gnbid FROM nrcelldu n JOIN gnbdufunction g ON n.gnbdufunction_id = g.id", ALL),
    ("SELECT n.cellname FROM nrcelldu AS n LEFT JOIN gnbdufunction AS g ON g.id = n.gnbdufunction_id "
     "WHERE g.id IS NULL", ALL),
    ("SELECT cellname, gnbid FROM nrcelldu "
     "JOIN gnbdufunction ON gnbdufunction.id = nrcelldu.gnbdufunction_id", ALL),
    ("WITH busy AS (SELECT gnbdufunction_id, SUM(pmrrcconnestabatt) AS att FROM nrcelldu "
     "GROUP BY gnbdufunction_id) SELECT g.gnbid, b.att FROM busy b JOIN gnbdufunction g "
     "ON g.id = b.gnbdufunction_id ORDER BY b.att DESC", ALL),
    ("WITH c(i, name) AS (SELECT id, cellname FROM nrcelldu) SELECT name FROM c WHERE i > 1", ALL),
    ("WITH a AS (SELECT * FROM nrcelldu), b AS (SELECT a.cellname, a.id FROM a) "
     "SELECT b.cellname FROM b", ALL),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT n FROM r", ALL),
    ("SELECT cellname, RANK() OVER (PARTITION BY gnbdufunction_id ORDER BY pmrrcconnestabsucc DESC) AS rnk "
     "FROM nrcelldu", ALL),
    ("SELECT cellname, SUM(pmrrcconnestabsucc) OVER (ORDER BY report_date "
     "ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS week FROM nrcelldu", ALL),
    ("SELECT cellname FROM nrcelldu WHERE gnbdufunction_id IN "
     "(SELECT id FROM gnbdufunction WHERE vendor = 'Ericsson')", ALL),
    ("SELECT cellname FROM nrcelldu n WHERE pmrrcconnestabsucc > (SELECT AVG(pmrrcconnestabsucc) "
     "FROM nrcelldu m WHERE m.gnbdufunction_id = n.gnbdufunction_id)", ALL),
    ("SELECT gnbid FROM gnbdufunction g WHERE EXISTS "
     "(SELECT 1 FROM nrcelldu WHERE gnbdufunction_id = g.id)", ALL),
    ("SELECT gnbid FROM gnbdufunction WHERE NOT EXISTS "
     "(SELECT 1 FROM nrcelldu WHERE nrcelldu.gnbdufunction_id = gnbdufunction.id)", ALL),
    ("SELECT x.gnbdufunction_id, x.total FROM (SELECT gnbdufunction_id, SUM(pmrrcconnestabsucc) AS total "
     "FROM nrcelldu GROUP BY gnbdufunction_id) AS x WHERE x.total > 10", ALL),
    ("SELECT cellname FROM nrcelldu UNION SELECT gnbid FROM gnbdufunction ORDER BY cellname", ALL),
    ("SELECT id FROM nrcelldu UNION ALL SELECT id FROM gnbdufunction", ALL),
    ("SELECT id FROM nrcelldu INTERSECT SELECT id FROM gnbdufunction", ALL),
    ("SELECT id FROM nrcelldu EXCEPT SELECT id FROM gnbdufunction", ALL),
    ("SELECT cellname, pmrrcconnestabsucc * 100.0 / pmrrcconnestabatt AS success_rate FROM nrcelldu "
     "ORDER BY success_rate DESC", ALL),
    ("SELECT gnbdufunction_id, COUNT(*) FROM nrcelldu GROUP BY 1 ORDER BY 2 DESC", ALL),
    ("SELECT gnbdufunction_id, COUNT(*) AS cells FROM nrcelldu "
     "GROUP BY gnbdufunction_id HAVING cells > 2", ALL),
    ("SELECT * FROM nrcelldu WHERE cellname LIKE 'NR%' AND id BETWEEN 1 AND 10", ALL),
    ("SELECT CASE WHEN pmrrcconnestabatt = 0 THEN NULL "
     "ELSE CAST(pmrrcconnestabsucc AS FLOAT) / pmrrcconnestabatt END AS rate FROM nrcelldu", ALL),
    ("SELECT DISTINCT vendor, COALESCE(NULLIF(vendor, ''), 'unknown') AS v FROM gnbdufunction", ALL),
    ("SELECT COUNT(DISTINCT gnbdufunction_id), ROUND(AVG(pmrrcconnestabsucc), 2) FROM nrcelldu", ALL),
    ("SELECT cellname FROM nrcelldu WHERE cellname = 'DROP TABLE x; DELETE FROM y'", ALL),
    ("SELECT cellname FROM nrcelldu WHERE cellname <> 'pg_sleep(10)' AND cellname <> 'INTO OUTFILE'", ALL),
    ("SELECT nrcelldu.* FROM nrcelldu", ALL),
    ("SELECT n.*, g.gnbid FROM nrcelldu n JOIN gnbdufunction g ON g.id = n.gnbdufunction_id", ALL),
    ("SELECT id FROM nrcelldu WHERE report_date IS NOT NULL ORDER BY report_date DESC, id", ALL),
    # case and quoting rules of each dialect
    ("select CELLNAME from NRCELLDU where ID = 1", LITE + MY),
    ("SELECT CellName FROM NrCellDu", ALL),
    ("SELECT N.CellName FROM nrcelldu AS n", ALL),
    ('SELECT "cellname" FROM "nrcelldu"', LITE + PG),
    ('SELECT "CELLNAME" FROM "NRCELLDU"', LITE),
    ("SELECT `cellname`, `N`.`id` FROM `nrcelldu` `n`", MY),
    ('SELECT "DlThroughput", "Id" FROM "CellKPI"', PG),
    ('SELECT k."DlThroughput" FROM "CellKPI" k', PG),
    ("SELECT dlthroughput FROM cellkpi", LITE + MY),
    # SQLite reads an unknown double-quoted name as a string; MySQL's double quotes are strings
    ('SELECT * FROM nrcelldu WHERE cellname = "NR-1"', LITE + MY),
    ("SELECT * FROM public.nrcelldu", PG),
    ("SELECT * FROM test.nrcelldu", MY),
    ("SELECT * FROM main.nrcelldu", LITE),
    ("SELECT rowid, cellname FROM nrcelldu", LITE),
    ("SELECT ctid, cellname FROM nrcelldu", PG),
    # dialect-specific functions
    ("SELECT date(report_date, 'start of month') AS m, COUNT(*) FROM nrcelldu "
     "WHERE report_date >= date('now', '-30 days') GROUP BY m", LITE),
    ("SELECT strftime('%Y-%m', report_date) AS month, julianday('now') - julianday(report_date) "
     "FROM nrcelldu", LITE),
    ("SELECT date_trunc('month', report_date) AS m, COUNT(*) FROM nrcelldu "
     "WHERE report_date >= CURRENT_DATE - INTERVAL '30 days' GROUP BY m", PG),
    ("SELECT cellname, report_date::date, EXTRACT(YEAR FROM report_date) FROM nrcelldu", PG),
    ("SELECT COUNT(*) FILTER (WHERE pmrrcconnestabsucc > 0) FROM nrcelldu", PG),
    ("SELECT json_agg(n) FROM nrcelldu n", PG),
    ("SELECT g.n, x FROM generate_series(1, 3) AS g(n), unnest(ARRAY[1, 2]) AS x", PG),
    ("SELECT n.id, l.v FROM nrcelldu n CROSS JOIN LATERAL "
     "(SELECT g.gnbid AS v FROM gnbdufunction g WHERE g.id = n.gnbdufunction_id) l", PG),
    ("SELECT cellname, SUM(pmrrcconnestabsucc) OVER w FROM nrcelldu WINDOW w AS (PARTITION BY gnbdufunction_id)",
     PG + MY),
    ("WITH v(a) AS (VALUES (1), (2)) SELECT a FROM v", PG + LITE),
    ("SELECT j.value, n.id FROM nrcelldu n, json_each(n.cellname) AS j", LITE),
    ("SELECT DISTINCT ON (gnbdufunction_id) gnbdufunction_id, cellname FROM nrcelldu "
     "ORDER BY gnbdufunction_id, pmrrcconnestabsucc DESC", PG),
    ("SELECT DATE_FORMAT(report_date, '%Y-%m') AS m, COUNT(*) FROM nrcelldu "
     "WHERE report_date >= NOW() - INTERVAL 30 DAY GROUP BY m", MY),
    ("SELECT IFNULL(vendor, 'n/a'), CONCAT(gnbid, '-', id) FROM gnbdufunction", MY + LITE),
    ("SELECT DATEDIFF(CURDATE(), report_date) FROM nrcelldu", MY),
    # comments are not statements
    ("SELECT 1; -- x", ALL),
    ("SELECT 1 /* ; DROP TABLE x */", ALL),
    ("-- how many cells?\nSELECT COUNT(*) FROM nrcelldu;", ALL),
    ("SELECT COUNT(*) FROM nrcelldu;;", ALL),
]


@pytest.mark.parametrize(("dialect", "sql"), [(d, sql) for sql, dialects in VALID for d in dialects])
def test_valid_sql_passes(dialect: str, sql: str) -> None:
    checked = check(sql, dialect)
    assert checked.limit == 100
    assert set(checked.tables) <= set(SCHEMA)


def test_tables_are_the_real_names_in_order() -> None:
    sql = "WITH c AS (SELECT * FROM GNBDUFUNCTION) SELECT n.id FROM nrcelldu n JOIN c ON c.id = n.id"
    assert check(sql, "sqlite").tables == ("gnbdufunction", "nrcelldu")
    assert check('SELECT "Id" FROM "CellKPI"', "postgres").tables == ("CellKPI",)
    assert check("SELECT 1", "mysql").tables == ()


def test_comments_cannot_smuggle_anything() -> None:
    assert "DROP" not in check("SELECT 1 /* ; DROP TABLE x */", "postgres").sql
    assert "DROP" not in check("SELECT 1 -- */ DROP TABLE nrcelldu", "postgres").sql
    # MySQL runs /*! ... */ "comments": they must not survive into the statement sent
    checked = check("SELECT id /*!50000 , SLEEP(10) */ FROM nrcelldu", "mysql")
    assert "SLEEP" not in checked.sql.upper()


def test_reasons_name_the_column_and_tables() -> None:
    with pytest.raises(SQLRefused) as info:
        check("SELECT nrcelldu.foo FROM nrcelldu", "postgres")
    assert info.value.reason == "unknown column 'nrcelldu.foo'"
    with pytest.raises(SQLRefused) as info:
        check("SELECT n.foo FROM nrcelldu n", "sqlite")
    assert info.value.reason == "unknown column 'n.foo' (table 'nrcelldu')"
    with pytest.raises(SQLRefused) as info:
        check("SELECT foo FROM nrcelldu JOIN gnbdufunction ON 1 = 1", "mysql")
    assert info.value.reason == "unknown column 'foo' (looked in nrcelldu, gnbdufunction)"
    with pytest.raises(SQLRefused) as info:
        check("SELECT * FROM users", "sqlite")
    assert info.value.reason == "unknown table 'users'"
    with pytest.raises(SQLRefused) as info:
        check("SELECT 1 FROM", "postgres")
    assert info.value.rule == "parse" and "Token" not in info.value.reason


def test_schema_qualified_keys_answer_to_bare_names() -> None:
    schema = {"sales.orders": ["id", "total"]}
    assert check_sql("SELECT total FROM orders", "postgres", schema, 10).tables == ("sales.orders",)
    assert check_sql("SELECT o.total FROM sales.orders o", "postgres", schema, 10).tables == ("sales.orders",)
    with pytest.raises(SQLRefused, match="unknown column"):
        check_sql("SELECT amount FROM sales.orders", "postgres", schema, 10)


def test_allowlists_are_lower_case() -> None:
    for names in [*FUNCTIONS.values(), *TABLE_FUNCTIONS.values()]:
        assert all(name == name.lower() for name in names)


# --- LIMIT -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ALL)
def test_limit_is_added_when_missing(dialect: str) -> None:
    checked = check("SELECT id FROM nrcelldu ORDER BY id", dialect, max_rows=50)
    assert checked.limit == 50
    assert checked.sql.endswith("LIMIT 50")


@pytest.mark.parametrize("dialect", ALL)
def test_larger_limit_is_capped(dialect: str) -> None:
    checked = check("SELECT id FROM nrcelldu LIMIT 100000", dialect, max_rows=50)
    assert (checked.limit, checked.sql) == (50, "SELECT id FROM nrcelldu LIMIT 50")


@pytest.mark.parametrize("dialect", ALL)
def test_smaller_limit_is_kept(dialect: str) -> None:
    checked = check("select id from nrcelldu limit 7", dialect, max_rows=50)
    assert (checked.limit, checked.sql) == (7, "SELECT id FROM nrcelldu LIMIT 7")


@pytest.mark.parametrize("dialect", ALL)
def test_limit_applies_to_a_whole_set_operation(dialect: str) -> None:
    checked = check("SELECT id FROM nrcelldu UNION SELECT id FROM gnbdufunction", dialect, max_rows=20)
    assert checked.sql == "SELECT id FROM nrcelldu UNION SELECT id FROM gnbdufunction LIMIT 20"
    sql = "SELECT id FROM nrcelldu UNION SELECT id FROM gnbdufunction LIMIT 5000"
    checked = check(sql, dialect, max_rows=20)
    assert checked.sql.endswith("gnbdufunction LIMIT 20") and checked.sql.count("LIMIT") == 1


@pytest.mark.parametrize("dialect", ALL)
def test_inner_limits_are_left_alone(dialect: str) -> None:
    sql = "SELECT id FROM (SELECT id FROM nrcelldu LIMIT 1000) AS s"
    checked = check(sql, dialect, max_rows=10)
    assert "LIMIT 1000" in checked.sql and checked.sql.endswith("LIMIT 10")


def test_offset_is_kept() -> None:
    assert check("SELECT id FROM nrcelldu LIMIT 5, 1000", "mysql", 10).sql.endswith("LIMIT 10 OFFSET 5")
    assert check("SELECT id FROM t LIMIT 900 OFFSET 5", "postgres", 10).sql.endswith("LIMIT 10 OFFSET 5")
    assert check("SELECT id FROM nrcelldu LIMIT 3 OFFSET 5", "sqlite", 10).limit == 3


def test_unbounded_limits_are_replaced() -> None:
    assert check("SELECT id FROM nrcelldu LIMIT -1", "sqlite", 10).limit == 10  # SQLite: no limit
    assert check("SELECT id FROM nrcelldu LIMIT ALL", "postgres", 10).sql.endswith("LIMIT 10")
    checked = check("SELECT id FROM nrcelldu FETCH FIRST 1000 ROWS ONLY", "postgres", 10)
    assert (checked.limit, checked.sql) == (10, "SELECT id FROM nrcelldu LIMIT 10")
    assert check("SELECT id FROM nrcelldu FETCH FIRST 3 ROWS ONLY", "postgres", 10).limit == 3


def test_limit_on_parenthesised_query() -> None:
    assert check("(SELECT id FROM nrcelldu)", "postgres", 10).sql == "SELECT id FROM nrcelldu LIMIT 10"
