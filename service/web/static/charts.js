// Small SVG charts for query results: bars for one category and numbers, a line for a time column and numbers.
// Drawn here rather than with a chart library: two chart kinds need no dependency, build step or vendored licence.
"use strict";

const Charts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#2357c7", "#d9730d", "#1d7a46", "#9b3fb5"];
  const MAX_BARS = 60;
  const TIME_TEXT = /^\d{4}-\d{2}(-\d{2})?([ T]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?$|^\d{2}:\d{2}(:\d{2})?$/;
  const TIME_NAME = /(^|_)(hour|day|date|time|timestamp|month|week|year|period|ts)($|_)|(hour|date|time)$/i;

  const isNumeric = (rows, i) => rows.some((r) => r[i] !== null) && rows.every((r) => r[i] === null || typeof r[i] === "number");
  const isTimeText = (rows, i) => rows.every((r) => r[i] === null || (typeof r[i] === "string" && TIME_TEXT.test(r[i])));

  // What chart fits a result, or why none does: {kind, x, ys} or {reason}.
  function shape(columns, rows) {
    if (rows.length < 2) return { reason: rows.length ? "a single row has nothing to compare" : "no rows" };
    const idx = columns.map((_, i) => i);
    const numeric = idx.filter((i) => isNumeric(rows, i));
    const time = idx.find((i) => (numeric.includes(i) ? TIME_NAME.test(columns[i]) : isTimeText(rows, i)));
    if (time !== undefined) {
      const ys = numeric.filter((i) => i !== time);
      if (ys.length) return { kind: "line", x: time, ys: ys.slice(0, COLORS.length) };
    }
    if (!numeric.length) return { reason: "no numeric column" };
    const categories = idx.filter((i) => !numeric.includes(i));
    // No text column but an id and a measure (e.g. gnbid, COUNT(*)): the first column names the bars.
    const x = categories.length === 1 ? categories[0] : categories.length === 0 && numeric.length >= 2 ? 0 : null;
    if (x === null) return { reason: categories.length ? "more than one text column" : "only one numeric column" };
    const ys = numeric.filter((i) => i !== x);
    if (rows.length > MAX_BARS) return { reason: `more than ${MAX_BARS} categories` };
    return { kind: "bar", x, ys: ys.slice(0, COLORS.length) };
  }

  function el(name, attrs = {}, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const fmt = (v) => (Number.isInteger(v) ? v.toLocaleString("en") : Number(v).toLocaleString("en", { maximumFractionDigits: 3 }));

  function legend(columns, ys) {
    const div = document.createElement("div");
    div.className = "legend";
    ys.forEach((y, k) => {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = COLORS[k];
      item.append(swatch, columns[y]);
      div.append(item);
    });
    return div;
  }

  // Horizontal bars, one group per row, so long category names (cell names) stay readable.
  function bars(columns, rows, { x, ys }) {
    const labelW = 150, plotW = 560, barH = 14, gap = 8, top = 6;
    const groupH = ys.length * barH + gap;
    const height = top + rows.length * groupH + 20;
    const max = Math.max(0, ...rows.flatMap((r) => ys.map((y) => r[y] ?? 0)));
    const min = Math.min(0, ...rows.flatMap((r) => ys.map((y) => r[y] ?? 0)));
    const scale = (v) => ((v - min) / (max - min || 1)) * plotW;
    const names = ys.map((y) => columns[y]).join(", ");
    const svg = el("svg", { viewBox: `0 0 ${labelW + plotW + 70} ${height}`, role: "img",
      "aria-label": `Bar chart of ${names} by ${columns[x]}` });
    svg.append(el("line", { x1: labelW + scale(0), x2: labelW + scale(0), y1: 0, y2: height - 16, class: "axis" }));
    rows.forEach((r, n) => {
      const y0 = top + n * groupH;
      const label = String(r[x] ?? "null");
      svg.append(el("text", { x: labelW - 6, y: y0 + (ys.length * barH) / 2 + 4, "text-anchor": "end" },
        label.length > 24 ? `${label.slice(0, 23)}…` : label));
      ys.forEach((y, k) => {
        const v = r[y] ?? 0;
        const from = labelW + scale(Math.min(0, v)), w = Math.abs(scale(v) - scale(0));
        const bar = el("rect", { x: from, y: y0 + k * barH, width: Math.max(w, 1), height: barH - 2, fill: COLORS[k],
          class: "bar" });
        bar.append(el("title", {}, `${label} · ${columns[y]}: ${r[y] === null ? "null" : fmt(v)}`));
        svg.append(bar, el("text", { x: from + Math.max(w, 1) + 4, y: y0 + k * barH + barH - 4 }, r[y] === null ? "null" : fmt(v)));
      });
    });
    svg.append(el("text", { x: labelW, y: height - 3 }, fmt(min)), el("text", { x: labelW + plotW, y: height - 3,
      "text-anchor": "end" }, fmt(max)));
    return svg;
  }

  // Lines over the time column, in time order; the x axis is ordinal (one step a row), as rows are periods.
  function lines(columns, rows, { x, ys }) {
    const sorted = [...rows].sort((a, b) => (a[x] < b[x] ? -1 : a[x] > b[x] ? 1 : 0));
    const left = 60, plotW = 620, plotH = 240, top = 10;
    const values = sorted.flatMap((r) => ys.map((y) => r[y])).filter((v) => v !== null);
    const max = Math.max(...values), min = Math.min(0, ...values);
    const sx = (n) => left + (sorted.length === 1 ? plotW / 2 : (n / (sorted.length - 1)) * plotW);
    const sy = (v) => top + plotH - ((v - min) / (max - min || 1)) * plotH;
    const names = ys.map((y) => columns[y]).join(", ");
    const svg = el("svg", { viewBox: `0 0 ${left + plotW + 20} ${top + plotH + 40}`, role: "img",
      "aria-label": `Line chart of ${names} over ${columns[x]}` });
    svg.append(el("line", { x1: left, x2: left, y1: top, y2: top + plotH, class: "axis" }),
      el("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "axis" }));
    for (const v of [min, (min + max) / 2, max]) {
      svg.append(el("text", { x: left - 6, y: sy(v) + 4, "text-anchor": "end" }, fmt(v)));
    }
    const ticks = new Set([0, Math.floor((sorted.length - 1) / 2), sorted.length - 1]);
    for (const n of ticks) {
      svg.append(el("text", { x: sx(n), y: top + plotH + 16, "text-anchor": n === 0 ? "start" : n === sorted.length - 1 ? "end" : "middle" },
        String(sorted[n][x])));
    }
    svg.append(el("text", { x: left + plotW / 2, y: top + plotH + 34, "text-anchor": "middle" }, columns[x]));
    ys.forEach((y, k) => {
      const points = sorted.map((r, n) => (r[y] === null ? null : `${sx(n)},${sy(r[y])}`)).filter(Boolean);
      svg.append(el("polyline", { points: points.join(" "), fill: "none", stroke: COLORS[k], "stroke-width": 2, class: "line" }));
      sorted.forEach((r, n) => {
        if (r[y] === null) return;
        const dot = el("circle", { cx: sx(n), cy: sy(r[y]), r: 2.5, fill: COLORS[k] });
        dot.append(el("title", {}, `${r[x]} · ${columns[y]}: ${fmt(r[y])}`));
        svg.append(dot);
      });
    });
    return svg;
  }

  function render(container, columns, rows, fit) {
    container.replaceChildren(legend(columns, fit.ys), fit.kind === "bar" ? bars(columns, rows, fit) : lines(columns, rows, fit));
  }

  return { shape, render };
})();
