"""What model-written SQL may call and read, per dialect: the guard's allowlists (service.sql_guard).

The lists are taken from each database's function reference (SQLite "Built-in Scalar/Aggregate/Window/Date
And Time/Math/JSON Functions", PostgreSQL chapter 9 "Functions and Operators", MariaDB "Built-in Functions")
and keep only pure functions: nothing that sleeps, locks, reads files or configuration, names the server or
its users, changes the session, or exists only to build huge values (repeat, randomblob, zeroblob, space).
Names are lower-case, compared with the function name the guard renders for the database.
"""

from __future__ import annotations

_WINDOW = frozenset({
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
    "last_value", "nth_value",
})

# Names sqlglot renders for SQL syntax that reads like a call (CAST(x AS t), EXTRACT(f FROM x), CASE...).
_SYNTAX = frozenset({
    "cast", "try_cast", "extract", "case", "coalesce", "nullif", "greatest", "least", "current_date",
    "current_time", "current_timestamp", "localtime", "localtimestamp", "interval", "substring", "trim", "position",
    "overlay", "array", "exists", "in", "row", "convert", "collate", "distinct", "filter", "within",
})

_SQLITE = frozenset({
    # core scalar
    "abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif", "instr",
    "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif", "octet_length", "printf",
    "quote", "replace", "round", "rtrim", "sign", "soundex", "substr", "substring", "trim", "typeof", "unhex",
    "unicode", "unlikely", "upper", "random",
    # aggregates
    "avg", "count", "group_concat", "string_agg", "sum", "total",
    # date and time
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
    # math
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh", "degrees",
    "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh", "sqrt",
    "tan", "tanh", "trunc",
    # JSON (pure: the *_set/_insert/_remove variants return a new value)
    "json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position", "json_extract",
    "jsonb_extract", "json_insert", "jsonb_insert", "json_object", "jsonb_object", "json_patch", "jsonb_patch",
    "json_remove", "jsonb_remove", "json_replace", "jsonb_replace", "json_set", "jsonb_set", "json_type",
    "json_valid", "json_quote", "json_group_array", "jsonb_group_array", "json_group_object",
    "jsonb_group_object",
}) | _WINDOW

_POSTGRES = frozenset({
    # aggregates
    "avg", "count", "sum", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every", "bit_and",
    "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "stddev", "stddev_pop",
    "stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp", "regr_avgx",
    "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
    "percentile_cont", "percentile_disc", "mode", "any_value",
    # math
    "abs", "cbrt", "ceil", "ceiling", "degrees", "div", "exp", "factorial", "floor", "gcd", "lcm", "ln", "log",
    "log10", "min_scale", "mod", "pi", "power", "radians", "round", "scale", "sign", "sqrt", "trim_scale",
    "trunc", "width_bucket", "random", "acos", "acosd", "asin", "asind", "atan", "atand", "atan2", "atan2d",
    "cos", "cosd", "cot", "cotd", "sin", "sind", "tan", "tand", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh",
    # strings
    "ascii", "bit_length", "btrim", "char_length", "character_length", "chr", "concat", "concat_ws", "format",
    "initcap", "left", "length", "lower", "lpad", "ltrim", "md5", "normalize", "octet_length", "quote_ident",
    "quote_literal", "quote_nullable", "replace", "reverse", "right", "rpad", "rtrim", "split_part",
    "starts_with", "strpos", "substr", "to_hex", "translate", "upper", "string_to_array", "encode", "decode",
    "sha224", "sha256", "sha384", "sha512", "to_char", "to_number",
    # regular expressions
    "regexp_count", "regexp_instr", "regexp_like", "regexp_match", "regexp_matches", "regexp_replace",
    "regexp_split_to_array", "regexp_substr",
    # date and time
    "age", "clock_timestamp", "date_bin", "date_part", "date_trunc", "isfinite", "justify_days",
    "justify_hours", "justify_interval", "make_date", "make_interval", "make_time", "make_timestamp",
    "make_timestamptz", "now", "statement_timestamp", "timeofday", "transaction_timestamp", "to_date",
    "to_timestamp", "date_add", "date_subtract", "timezone",
    # JSON readers and builders
    "to_json", "to_jsonb", "array_to_json", "row_to_json", "json_build_array", "jsonb_build_array",
    "json_build_object", "jsonb_build_object", "json_object", "jsonb_object", "json_array_length",
    "jsonb_array_length", "json_extract_path", "jsonb_extract_path", "json_extract_path_text",
    "jsonb_extract_path_text", "json_strip_nulls", "jsonb_strip_nulls", "jsonb_set", "jsonb_insert",
    "jsonb_pretty", "json_typeof", "jsonb_typeof", "jsonb_path_exists", "jsonb_path_match",
    "jsonb_path_query_array", "jsonb_path_query_first", "json_array_elements", "jsonb_array_elements",
    "json_array_elements_text", "jsonb_array_elements_text", "json_object_keys", "jsonb_object_keys",
    "jsonb_path_query",
    # arrays
    "array_append", "array_cat", "array_dims", "array_length", "array_lower", "array_upper", "array_ndims",
    "array_position", "array_positions", "array_prepend", "array_remove", "array_replace", "array_to_string",
    "cardinality", "trim_array", "unnest", "generate_series", "generate_subscripts",
    # conditionals and counting
    "num_nonnulls", "num_nulls",
}) | _WINDOW

_MYSQL = frozenset({
    # aggregates
    "avg", "bit_and", "bit_or", "bit_xor", "count", "group_concat", "json_arrayagg", "json_objectagg", "max",
    "min", "std", "stddev", "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance", "median",
    "percentile_cont", "percentile_disc",
    # strings
    "ascii", "bin", "bit_length", "char", "char_length", "character_length", "concat", "concat_ws", "elt",
    "field", "find_in_set", "format", "from_base64", "hex", "insert", "instr", "lcase", "left", "length",
    "locate", "lower", "lpad", "ltrim", "make_set", "mid", "oct", "octet_length", "ord", "quote", "replace",
    "reverse", "right", "rpad", "rtrim", "soundex", "strcmp", "substr", "substring_index", "to_base64",
    "ucase", "unhex", "upper", "natural_sort_key", "sformat", "md5", "sha", "sha1", "sha2", "crc32",
    # regular expressions (MariaDB: REGEXP/RLIKE operators and these; REGEXP_LIKE is MySQL's)
    "regexp", "rlike", "regexp_like", "regexp_instr", "regexp_replace", "regexp_substr",
    # math
    "abs", "acos", "asin", "atan", "atan2", "ceil", "ceiling", "conv", "cos", "cot", "degrees", "div", "exp",
    "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "rand", "round", "sign",
    "sin", "sqrt", "tan", "truncate",
    # date and time
    "adddate", "addtime", "add_months", "convert_tz", "curdate", "curtime", "date", "date_add", "date_format",
    "date_sub", "datediff", "day", "dayname", "dayofmonth", "dayofweek", "dayofyear", "from_days",
    "from_unixtime", "get_format", "hour", "last_day", "makedate", "maketime", "microsecond", "minute", "month",
    "monthname", "now", "period_add", "period_diff", "quarter", "sec_to_time", "second", "str_to_date",
    "subdate", "subtime", "sysdate", "time", "time_format", "time_to_sec", "timediff", "timestamp",
    "timestampadd", "timestampdiff", "to_days", "to_seconds", "unix_timestamp", "utc_date", "utc_time",
    "utc_timestamp", "week", "weekday", "weekofyear", "year", "yearweek",
    # JSON readers and builders
    "json_array", "json_array_append", "json_array_insert", "json_contains", "json_contains_path",
    "json_depth", "json_extract", "json_insert", "json_keys", "json_length", "json_merge", "json_merge_patch",
    "json_merge_preserve", "json_object", "json_overlaps", "json_quote", "json_remove", "json_replace",
    "json_search", "json_set", "json_type", "json_unquote", "json_valid", "json_value", "json_query",
    "json_exists", "json_compact", "json_detailed", "json_loose", "json_pretty", "json_equals",
    "json_normalize",
    # conditionals
    "if", "ifnull", "isnull",
}) | _WINDOW

# Functions that may stand in FROM as a table.
TABLE_FUNCTIONS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"json_each", "json_tree", "jsonb_each", "jsonb_tree"}),
    "postgres": frozenset({
        "generate_series", "generate_subscripts", "unnest", "json_each", "jsonb_each", "json_each_text",
        "jsonb_each_text", "json_array_elements", "jsonb_array_elements", "json_array_elements_text",
        "jsonb_array_elements_text", "json_object_keys", "jsonb_object_keys", "json_to_record",
        "jsonb_to_record", "json_to_recordset", "jsonb_to_recordset", "jsonb_path_query", "regexp_matches",
        "regexp_split_to_table", "string_to_table",
    }),
    "mysql": frozenset({"json_table"}),
}

# Functions that may be called in expressions.
FUNCTIONS: dict[str, frozenset[str]] = {
    "sqlite": _SQLITE | _SYNTAX,
    "postgres": _POSTGRES | _SYNTAX | TABLE_FUNCTIONS["postgres"],  # set-returning in SELECT too
    "mysql": _MYSQL | _SYNTAX,
}

# Schemas (databases in MySQL) that hold the server's catalogs: never reachable, whatever is indexed.
SYSTEM_SCHEMAS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"temp"}),
    "postgres": frozenset({"pg_catalog", "information_schema", "pg_toast"}),
    "mysql": frozenset({"mysql", "information_schema", "performance_schema", "sys"}),
}
