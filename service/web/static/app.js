// The playground: ask, check and teach through the public REST API only (so it documents the API by example).
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "ragsql.apiKey";   // sessionStorage: the key lives as long as the tab
const RECENT_STORE = "ragsql.recent"; // localStorage: recent questions survive a restart of the browser
const DB_STORE = "ragsql.db";
const RECENT_MAX = 12;
const SEARCH_COLUMNS = 8; // the search returns three columns a table; the best few are what a person reads

const state = {
  db: null,
  answer: null,       // the last AskResult
  result: null,       // what the table shows: {columns, rows, row_count, truncated, executed, max_rows, source}
  sort: null,         // {col, dir: 1 | -1}
  fit: null,          // what chart the result fits: Charts.shape
};

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || "http_error";
    this.rule = error.rule;
  }
}

// --- the API key: asked for once on a 401, kept in sessionStorage ---------------------------------------

let keyPrompt = null; // one dialog shared by the calls that got a 401 at the same time

function askForKey(refused) {
  if (keyPrompt) return keyPrompt;
  const dialog = $("key-dialog"), input = $("key-input");
  $("key-error").textContent = refused
    ? "The server refused this API key. Check it (it is the value of RAGSQL_API_KEY on the server) and try again."
    : "";
  input.value = "";
  keyPrompt = new Promise((resolve) => {
    const done = (key) => {
      dialog.close();
      keyPrompt = null;
      resolve(key);
    };
    $("key-form").onsubmit = (event) => {
      event.preventDefault();
      done(input.value.trim() || null);
    };
    $("key-cancel").onclick = () => done(null);
    dialog.oncancel = (event) => {
      event.preventDefault();
      done(null);
    };
    dialog.showModal();
    input.focus();
  });
  return keyPrompt;
}

async function apiFetch(path, { method = "GET", body } = {}) {
  for (;;) {
    const key = sessionStorage.getItem(KEY_STORE);
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status !== 401) return response;
    const newKey = await askForKey(Boolean(key));
    if (!newKey) {
      sessionStorage.removeItem(KEY_STORE);
      throw new ApiError(401, { error: { type: "unauthorized", message: "This server needs an API key; none was given." } });
    }
    sessionStorage.setItem(KEY_STORE, newKey);
    $("key-button").hidden = false;
  }
}

async function api(path, options) {
  const response = await apiFetch(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function explain(error) {
  if (!(error instanceof ApiError)) return `Could not reach the server: ${error.message}`;
  if (error.type === "model_loading") return "The model is still loading; ask again in a few seconds.";
  return error.message;
}

// --- small DOM helpers ------------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function say(id, text, kind = "") {
  const node = $(id);
  node.className = `${node.id === "status" ? "status" : "message"} ${kind}`.trim();
  node.replaceChildren(...(Array.isArray(text) ? text : [text]));
}

const score = (value) => h("span", { class: "score" }, Number(value).toFixed(3));
const seconds = (value) => (value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`);

// --- readiness and databases ---------------------------------------------------------------------------

async function watchReadiness() {
  const pill = $("ready");
  for (;;) {
    try {
      const body = await (await fetch("/readyz")).json();
      if (body.ready) {
        pill.textContent = "ready";
        pill.className = "pill ok";
        return;
      }
      pill.textContent = body.checks.model ? "database or index not ready" : "loading the model…";
      pill.className = "pill";
    } catch {
      pill.textContent = "server unreachable";
      pill.className = "pill bad";
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

async function loadDatabases() {
  let databases;
  try {
    databases = await api("/v1/databases");
  } catch (error) {
    say("status", explain(error), "error");
    return;
  }
  const select = $("db");
  select.replaceChildren(...databases.map((d) => h("option", { value: d.id }, d.indexed ? d.id : `${d.id} (not indexed)`)));
  const remembered = localStorage.getItem(DB_STORE);
  const pick = databases.find((d) => d.id === remembered) || databases.find((d) => d.indexed) || databases[0];
  if (pick) select.value = pick.id;
  select.onchange = () => selectDatabase(databases.find((d) => d.id === select.value));
  if (pick) await selectDatabase(pick);
}

async function selectDatabase(database) {
  state.db = database.id;
  localStorage.setItem(DB_STORE, database.id);
  $("db-description").textContent = database.description || "";
  await loadSchema();
}

// --- asking: the stream of stages and tokens, then the result -----------------------------------------------

async function* serverEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message", data = "";
      for (const line of chunk.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      yield [kind, JSON.parse(data)];
    }
  }
}

async function ask(question) {
  const button = $("ask-button");
  const stages = $("stages"), stream = $("stream");
  const maxRows = Number($("max-rows").value) || undefined;
  button.disabled = true;
  button.textContent = "Asking…";
  stages.replaceChildren();
  stream.textContent = "";
  stream.hidden = false;
  say("status", "");
  remember(question);
  let generated = 0;
  try {
    const response = await apiFetch("/v1/ask/stream", {
      method: "POST",
      body: { question, db: state.db, execute: $("execute").checked, max_rows: maxRows },
    });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    let result = null;
    for await (const [kind, data] of serverEvents(response)) {
      if (kind === "stage") {
        stages.lastElementChild?.classList.replace("active", "done");
        if (data.stage === "generate" && generated++) stream.textContent += `\n-- attempt ${generated}\n`;
        stages.append(h("li", { class: "active" }, data.stage.replace("_", " ")));
      } else if (kind === "token") {
        stream.textContent += data.text;
      } else if (kind === "result") {
        result = data;
      } else if (kind === "error") {
        throw new ApiError(500, { error: data });
      }
    }
    stages.lastElementChild?.classList.replace("active", "done");
    if (!result) throw new Error("the stream ended without a result");
    showAnswer(result, maxRows);
  } catch (error) {
    stages.lastElementChild?.classList.remove("active");
    say("status", explain(error), "error");
  } finally {
    button.disabled = false;
    button.textContent = "Ask";
  }
}

function showAnswer(result, maxRows) {
  state.answer = result;
  $("stream").hidden = true;
  $("answer").hidden = false;
  const last = result.attempts[result.attempts.length - 1];
  $("sql").value = result.sql || (last && last.sql) || "";
  say("sql-message", "");
  say("fb-message", "");
  closeCorrection();
  const tries = result.attempts.length;
  if (result.error) {
    say("status", `No answer after ${tries} attempt${tries === 1 ? "" : "s"}: ${result.error}. You can fix the SQL below and run it.`, "error");
  } else {
    const total = Object.values(result.timings).reduce((a, b) => a + b, 0);
    say("status", `Answered in ${seconds(total)}${tries > 1 ? ` after ${tries} attempts` : ""}.`, "ok");
  }
  showResult({ ...result, max_rows: maxRows, source: "answer" });
  renderWhy(result);
}

// --- the result: table, chart, CSV -----------------------------------------------------------------------

function showResult(result) {
  state.result = result;
  state.sort = null;
  const info = $("row-info");
  info.classList.remove("warn");
  const prefix = result.source === "edited" ? "Your SQL: " : "";
  if (!result.executed) {
    info.textContent = `${prefix}Not run (“Run the SQL” was off); “Run SQL” runs it.`;
  } else if (result.truncated) {
    const cap = result.max_rows ?? result.row_count;
    info.textContent = `${prefix}The first ${result.row_count} rows: the result was cut at the row cap of ${cap}; raise “Row cap” to see more.`;
    info.classList.add("warn");
  } else {
    info.textContent = `${prefix}${result.row_count} row${result.row_count === 1 ? "" : "s"}.`;
  }
  const fit = Charts.shape(result.columns, result.rows);
  state.fit = fit;
  const chartButton = $("view-chart");
  chartButton.disabled = !fit.kind;
  // Said in words too: a disabled button's title never reaches a keyboard or screen-reader user.
  $("chart-note").textContent = fit.kind ? "" : `No chart: ${fit.reason}.`;
  $("csv").disabled = !result.columns.length;
  // A result that charts well opens as a chart; the switch goes back to the table.
  setView(fit.kind ? "chart" : "table");
}

function setView(view) {
  $("view-table").setAttribute("aria-pressed", String(view === "table"));
  $("view-chart").setAttribute("aria-pressed", String(view === "chart"));
  $("table-view").hidden = view !== "table";
  $("chart-view").hidden = view !== "chart";
  if (view === "chart") Charts.render($("chart-view"), state.result.columns, state.result.rows, state.fit);
  else renderTable();
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function renderTable() {
  const { columns, rows } = state.result;
  const wrap = $("table-view");
  if (!columns.length) {
    wrap.replaceChildren(h("p", { class: "muted", style: "padding:.5rem" }, "No rows to show."));
    return;
  }
  let shown = rows;
  if (state.sort) {
    const { col, dir } = state.sort;
    shown = [...rows].sort((a, b) => dir * compare(a[col], b[col]));
  }
  const head = columns.map((name, i) => {
    const sorted = state.sort && state.sort.col === i ? (state.sort.dir > 0 ? "ascending" : "descending") : null;
    return h("th", { scope: "col", "aria-sort": sorted },
      h("button", { type: "button", title: `Sort by ${name}`, onclick: () => sortBy(i) }, name));
  });
  const body = shown.map((row) => h("tr", {}, row.map((v) => v === null
    ? h("td", { class: "null" }, "null")
    : h("td", { class: typeof v === "number" ? "num" : "" }, String(v)))));
  wrap.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, head)), h("tbody", {}, body)));
}

function sortBy(col) {
  const dir = state.sort && state.sort.col === col ? -state.sort.dir : 1;
  state.sort = { col, dir };
  renderTable();
  $("table-view").querySelectorAll("th button")[col].focus();
}

function downloadCsv() {
  const { columns, rows } = state.result;
  const cell = (v) => {
    const text = v === null ? "" : String(v);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const csv = [columns, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
  const link = h("a", { href: URL.createObjectURL(new Blob([csv], { type: "text/csv" })), download: "ragsql-result.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

// --- why: the retrieved context, attempts, timings, tokens ------------------------------------------------------

function section(title, open, ...content) {
  return h("details", { open }, h("summary", {}, title), ...content);
}

function renderWhy(result) {
  const ctx = result.context;
  const inPrompt = new Set(ctx.prompt_tables);
  const tables = h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "table"), h("th", {}, "score"), h("th", {}, "why"))),
    h("tbody", {}, ctx.tables.map((t) => h("tr", {}, h("td", {}, h("code", {}, t.table)), h("td", {}, score(t.score)),
      h("td", {}, t.reason)))));
  const columns = h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "column"), h("th", {}, "score"), h("th", {}, "why"))),
    h("tbody", {}, ctx.columns.map((c) => h("tr", {}, h("td", {}, h("code", {}, `${c.table}.${c.column}`)),
      h("td", {}, score(c.score)), h("td", {}, c.reason)))));
  const used = [...ctx.examples, ...(ctx.patterns || [])];
  const origin = { feedback: "(taught here)", pool: "(another database's, for its pattern)" };
  const examples = used.length
    ? h("ol", { id: "why-examples" }, used.map((e) => h("li", {}, h("div", {}, e.question, " ", score(e.score), " ",
      h("span", { class: "muted small" }, origin[e.source] || `(${e.source})`)), h("pre", {}, e.sql))))
    : h("p", { id: "why-examples", class: "muted" }, "No verified example was close enough to this question.");
  const linked = h("ul", { id: "why-linked" },
    ...(ctx.terms || []).map((term) => h("li", {}, "glossary term ", h("strong", {}, term))),
    ...(ctx.values || []).map((value) => h("li", {}, h("code", {}, value))));
  const attempts = h("ol", {}, result.attempts.map((a) => h("li", {},
    h("pre", {}, a.sql || "(no SQL in the answer)"),
    a.repaired_sql ? h("div", {}, "repaired to ", h("pre", {}, a.repaired_sql)) : null,
    a.error ? h("div", { class: "error" }, `${a.error_kind}: ${a.error}`)
      : h("div", { class: "muted small" }, a.doubt ? `ran, but doubted: ${a.doubt}` : "accepted"))));
  const total = Object.values(result.timings).reduce((a, b) => a + b, 0) || 1;
  const timings = h("table", {}, h("tbody", {}, Object.entries(result.timings).map(([stage, s]) => h("tr", {},
    h("td", {}, stage.replace("_", " ")), h("td", { class: "num" }, seconds(s)),
    h("td", { style: "width:45%" }, h("span", { class: "bar-cell" }, h("i", { style: `width:${Math.max(1, (s / total) * 100)}%` })))))));
  const t = result.tokens;
  const tokens = h("div", { class: "tokens" }, [["prompt", t.prompt], ["cached", t.cached], ["generated", t.generated]]
    .map(([label, n]) => h("div", {}, h("strong", {}, n.toLocaleString("en")), h("span", { class: "muted small" }, label))));
  $("why").replaceChildren(
    section(`Retrieved tables (${ctx.tables.length})`, true, tables,
      h("p", { class: "small muted" }, "The prompt carried: ", [...inPrompt].join(", ") || "none")),
    section(`Retrieved columns (${ctx.columns.length})`, false, columns),
    section(`Examples used (${used.length})`, true, examples),
    section(`Glossary terms and values linked (${(ctx.terms || []).length + (ctx.values || []).length})`, true, linked),
    section(`Attempts (${result.attempts.length})`, true, attempts, result.candidates_agreeing != null
      ? h("p", { class: "small muted" }, `${result.candidates_agreeing} of the candidates drafted returned these rows`) : null),
    section("Timings", true, timings, h("p", { class: "small muted" }, `total ${seconds(total)}`)),
    section("Tokens", true, tokens, h("p", { class: "small muted" }, "cached: prompt tokens the model did not evaluate again"),
      result.model ? h("p", { class: "small muted" }, "answered by ", h("code", {}, result.model)) : null),
  );
}

// --- edit and run SQL ------------------------------------------------------------------------------------

async function runSql() {
  const sql = $("sql").value.trim();
  if (!sql) return;
  const button = $("run-sql");
  const maxRows = Number($("max-rows").value) || undefined;
  button.disabled = true;
  say("sql-message", "Running…");
  try {
    const body = await api("/v1/sql", { method: "POST", body: { sql, db: state.db, max_rows: maxRows } });
    say("sql-message", `Ran in ${seconds(body.seconds)}. The guard ran it as: `, "ok");
    $("sql-message").append(h("code", {}, body.sql));
    showResult({ ...body, executed: true, max_rows: maxRows, source: "edited" });
  } catch (error) {
    if (error.type === "sql_refused") {
      say("sql-message", [h("strong", {}, "Refused: "), error.message, " ",
        h("span", { class: "muted" }, "(rule ", h("span", { class: "rule" }, error.rule || "?"), ")")], "error");
    } else {
      say("sql-message", explain(error), "error");
    }
  } finally {
    button.disabled = false;
  }
}

// --- teach: feedback ------------------------------------------------------------------------------------

function closeCorrection() {
  $("fb-form").hidden = true;
  $("fb-wrong").setAttribute("aria-expanded", "false");
}

async function sendFeedback(correct, correctedSql) {
  const answer = state.answer;
  const sql = answer.sql || $("sql").value.trim();
  if (!sql) {
    say("fb-message", "There is no SQL to mark as correct.", "error");
    return;
  }
  try {
    const body = await api("/v1/feedback", { method: "POST", body: {
      question: answer.question, sql, correct, corrected_sql: correctedSql, db: answer.db,
    } });
    closeCorrection();
    say("fb-message", body.stored
      ? "Saved as a verified example: the next similar question gets it in its prompt."
      : "Nothing stored.", body.stored ? "ok" : "");
  } catch (error) {
    say("fb-message", error.type === "sql_refused" ? `Not saved, the guard refused this SQL: ${error.message}` : explain(error), "error");
  }
}

// --- recent questions (localStorage) ---------------------------------------------------------------------

function recentList() {
  try {
    return JSON.parse(localStorage.getItem(RECENT_STORE)) || [];
  } catch {
    return [];
  }
}

function remember(question) {
  const list = recentList().filter((r) => !(r.question === question && r.db === state.db));
  list.unshift({ question, db: state.db });
  localStorage.setItem(RECENT_STORE, JSON.stringify(list.slice(0, RECENT_MAX)));
  renderRecent();
}

function renderRecent() {
  $("recent").replaceChildren(...recentList().map((r) => h("li", {}, h("button", { type: "button", onclick: () => {
    if (r.db && r.db !== state.db && [...$("db").options].some((o) => o.value === r.db)) {
      $("db").value = r.db;
      $("db").dispatchEvent(new Event("change"));
    }
    $("question").value = r.question;
    ask(r.question);
  } }, r.question, " ", h("span", { class: "db" }, r.db || "")))));
}

// --- schema browser ------------------------------------------------------------------------------------

async function loadSchema() {
  const db = state.db;
  let schema;
  try {
    schema = await api(`/v1/schema?db=${encodeURIComponent(db)}`);
  } catch (error) {
    $("schema-tables").replaceChildren(h("p", { class: "message error" }, explain(error)));
    return;
  }
  $("schema-tables").replaceChildren(...schema.tables.map((t) => {
    const details = h("details", { "data-table": t.name },
      h("summary", {}, h("code", {}, t.name), t.is_view ? " (view)" : "", " ", h("span", { class: "muted small" }, `${t.columns.length} columns`)),
      t.description ? h("p", { class: "desc" }, t.description) : null,
      t.synonyms.length ? h("p", { class: "desc" }, "Also called: ", t.synonyms.join(", ")) : null,
      h("div", { class: "columns" }, h("p", { class: "desc" }, t.columns.join(", "))));
    details.addEventListener("toggle", () => details.open && describeTable(details, t.name), { once: true });
    return details;
  }));
  $("glossary").replaceChildren(...schema.glossary.flatMap((g) => [
    h("dt", {}, g.term, g.synonyms && g.synonyms.length ? h("span", { class: "muted small" }, ` (${g.synonyms.join(", ")})`) : null),
    h("dd", {}, g.meaning || g.definition || ""),
  ]));
  $("joins").replaceChildren(...schema.joins.map((j) => h("li", {}, h("code", {}, j))));
}

async function describeTable(details, name) {
  const slot = details.querySelector(".columns");
  try {
    const table = await api(`/v1/schema/tables/${encodeURIComponent(name)}?db=${encodeURIComponent(state.db)}`);
    slot.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "column"), h("th", {}, "type"), h("th", {}, "about"))),
      h("tbody", {}, table.columns.map((c) => h("tr", {},
        h("td", {}, h("code", {}, c.name), c.primary_key ? h("span", { class: "key", title: "primary key" }, " PK") : null),
        h("td", {}, c.type.toLowerCase()),
        h("td", {}, [c.description, c.unit && `unit: ${c.unit}`, c.values.length && `values: ${c.values.join(", ")}`]
          .filter(Boolean).join(" · ")))))));
  } catch (error) {
    slot.replaceChildren(h("p", { class: "message error" }, explain(error)));
  }
}

async function searchSchema(query) {
  const out = $("schema-results");
  out.replaceChildren(h("p", { class: "muted" }, "Searching…"));
  try {
    const found = await api(`/v1/schema/search?q=${encodeURIComponent(query)}&db=${encodeURIComponent(state.db)}&top=5`);
    const openTable = (name) => {
      const details = $("schema-tables").querySelector(`details[data-table="${CSS.escape(name)}"]`);
      if (!details) return;
      details.open = true;
      details.scrollIntoView({ block: "nearest" });
      details.querySelector("summary").focus();
    };
    out.replaceChildren(
      h("strong", {}, "Tables"),
      h("ol", {}, found.tables.map((t) => h("li", {}, h("a", { href: `#table-${t.table}`, onclick: (e) => {
        e.preventDefault();
        openTable(t.table);
      } }, t.table), " ", score(t.score)))),
      h("strong", {}, "Columns"),
      h("ol", {}, found.columns.slice(0, SEARCH_COLUMNS).map((c) => h("li", {}, h("code", {}, `${c.table}.${c.column}`), " ", score(c.score)))),
      found.examples.length ? h("strong", {}, "Examples") : null,
      found.examples.length ? h("ol", {}, found.examples.map((e) => h("li", {}, e.question, " ", score(e.score)))) : null,
    );
  } catch (error) {
    out.replaceChildren(h("p", { class: "message error" }, explain(error)));
  }
}

// --- wiring --------------------------------------------------------------------------------------------

function wire() {
  const question = $("question");
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (question.value.trim() && !$("ask-button").disabled) ask(question.value.trim());
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("sql").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      runSql();
    }
  });
  $("run-sql").addEventListener("click", runSql);
  $("view-table").addEventListener("click", () => setView("table"));
  $("view-chart").addEventListener("click", () => setView("chart"));
  $("csv").addEventListener("click", downloadCsv);
  $("fb-correct").addEventListener("click", () => sendFeedback(true, null));
  $("fb-wrong").addEventListener("click", () => {
    const form = $("fb-form");
    form.hidden = false;
    $("fb-wrong").setAttribute("aria-expanded", "true");
    $("fb-sql").value = $("sql").value;
    $("fb-sql").focus();
  });
  $("fb-cancel").addEventListener("click", closeCorrection);
  $("fb-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendFeedback(false, $("fb-sql").value.trim());
  });
  $("clear-recent").addEventListener("click", () => {
    localStorage.removeItem(RECENT_STORE);
    renderRecent();
  });
  $("schema-search").addEventListener("submit", (event) => {
    event.preventDefault();
    searchSchema($("schema-q").value.trim());
  });
  $("key-button").hidden = !sessionStorage.getItem(KEY_STORE);
  $("key-button").addEventListener("click", async () => {
    const key = await askForKey(false);
    if (key) sessionStorage.setItem(KEY_STORE, key);
    await loadDatabases();
  });
}

wire();
renderRecent();
watchReadiness();
loadDatabases();
