// The result view: a table of a cached result (a package run, an OData page, an SQL answer).
//
// It never holds a whole cached result: it shows one page at a time, read with
// read_execution_result; sorting, filtering, counting and the chart are SQL over all the result's
// rows, asked with query_execution_result. Only a result that came back whole (no result_id: it fit
// the tool result) is sorted and filtered here, since every row of it is already in the page.

import type { App } from "@modelcontextprotocol/ext-apps";
import {
  type CallToolResult,
  callTool,
  connect,
  count,
  el,
  isRecord,
  plain,
  rendered,
  resultText,
  structured,
  svg,
} from "./common";

type Row = Record<string, unknown>;
type Sort = { column: string; desc: boolean } | null;
type Filter = { column: string; text: string } | null;

const PAGE = 25;
const TOTAL = "__edfs_view_total";
const CHART_BARS = 12;
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL.*)$/i;

interface Data {
  title: string;
  columns: string[];
  types: Record<string, string>;
  resultId: string | null; // paged, sorted and filtered through the tools
  total: number | null; // rows in the whole result, when known
  local: Row[] | null; // the whole result, when it came back whole
  note: string; // e.g. why only part of a result is here
  odata: { args: Record<string, unknown>; nextSkip: number } | null;
}

let app!: App;
let input: Record<string, unknown> = {};
let data: Data | null = null;
let offset = 0;
let sort: Sort = null;
let filter: Filter = null;
let rows: Row[] = [];
let matched: number | null = null;
let sequence = 0;
let chartCategory = "";
let chartMeasure = "count";

const root = document.getElementById("app")!;
const heading = el("h1", { id: "title" });
const status = el("p", { id: "status", role: "status" });
const problem = el("p", { id: "problem", role: "alert", class: "problem", hidden: "" });
const filterColumn = el("select", { id: "filter-column", "aria-label": "Filter column" });
const filterText = el("input", { id: "filter-text", type: "search", maxlength: "200", placeholder: "contains…", "aria-label": "Filter text" });
const filterApply = el("button", { id: "filter-apply", type: "button" }, "Filter");
const filterClear = el("button", { id: "filter-clear", type: "button" }, "Clear");
const table = el("table", { id: "rows" });
const first = el("button", { id: "first", type: "button" }, "« First");
const previous = el("button", { id: "previous", type: "button" }, "‹ Previous");
const next = el("button", { id: "next", type: "button" }, "Next ›");
const odataNext = el("button", { id: "odata-next", type: "button", hidden: "" }, "Next OData page");
const chartColumn = el("select", { id: "chart-column", "aria-label": "Chart category" });
const chartOf = el("select", { id: "chart-measure", "aria-label": "Chart measure" });
const chart = el("figure", { id: "chart" });
const text = el("pre", { id: "text", hidden: "" });
const controls = el(
  "div",
  { class: "controls" },
  el("label", {}, "Filter ", filterColumn),
  filterText,
  filterApply,
  filterClear,
);
const pager = el("div", { class: "pager" }, first, previous, next, odataNext);
const chartControls = el("div", { class: "controls" }, el("label", {}, "Chart ", chartOf), el("label", {}, " per ", chartColumn));
root.append(heading, status, problem, controls, el("div", { class: "scroll" }, table), pager, chartControls, chart, text);

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const numeric = (column: string): boolean => NUMERIC.test(data?.types[column] ?? "");

function where(): string {
  if (!filter) return "";
  return ` WHERE contains(lower(CAST(${ident(filter.column)} AS VARCHAR)), lower(${literal(filter.text)}))`;
}

function showProblem(message: string | null): void {
  problem.textContent = message ?? "";
  problem.hidden = !message;
}

function busy(on: boolean): void {
  for (const control of [filterApply, filterClear, first, previous, next, odataNext, filterColumn, chartColumn, chartOf]) {
    control.disabled = on;
  }
  for (const button of table.querySelectorAll("button")) button.disabled = on;
  if (!on) updatePager();
}

// --- opening a tool result ------------------------------------------------------------------------

function open(result: CallToolResult): void {
  const content = structured(result);
  sequence += 1;
  offset = 0;
  sort = null;
  filter = null;
  matched = null;
  text.hidden = true;
  showProblem(null);
  if (result.isError || !content) {
    data = null;
    rows = [];
    heading.textContent = "No table";
    showProblem(resultText(result) || "The tool returned no table.");
    renderTable();
    status.textContent = "";
    return;
  }
  if (Array.isArray(content.entity_sets)) {
    // query_odata without entity_set: what can be queried, as a table of its own.
    const sets = content.entity_sets.filter(isRecord).map((set) => ({
      entity_set: set.name,
      columns: isRecord(set.columns) ? Object.keys(set.columns).join(", ") : "",
    }));
    data = {
      title: `Entity sets of ${plain(content.unique_name)}`,
      columns: ["entity_set", "columns"],
      types: { entity_set: "VARCHAR", columns: "VARCHAR" },
      resultId: null,
      total: sets.length,
      local: sets,
      note: "",
      odata: null,
    };
  } else {
    const types = isRecord(content.columns) ? (content.columns as Record<string, string>) : {};
    const columns = Object.keys(types).filter((name) => name !== TOTAL);
    const given = Array.isArray(content.rows) ? content.rows.filter(isRecord) : [];
    const resultId = typeof content.result_id === "string" ? content.result_id : typeof content.answer_id === "string" ? content.answer_id : null;
    const rowCount = typeof content.row_count === "number" ? content.row_count : null;
    const whole = resultId === null && (content.next_offset === null || content.next_offset === undefined);
    let title = "Result";
    if (typeof content.unique_name === "string") title = `${content.unique_name}${typeof content.entity_set === "string" ? ` / ${content.entity_set}` : ""}`;
    else if (typeof content.source === "string") title = content.source;
    else if ("answer_id" in content) title = "SQL answer";
    const nextSkip = typeof content.next_skip === "number" ? content.next_skip : null;
    data = {
      title: plain(title, 200),
      columns,
      types,
      resultId,
      total: rowCount ?? (whole || (nextSkip === null && resultId === null) ? given.length : null),
      local: resultId === null ? given : null,
      note:
        resultId === null && rowCount !== null && given.length < rowCount
          ? `Only ${count(given.length)} of ${count(rowCount)} rows came with this result (no result_id to read the rest).`
          : "",
      odata: nextSkip !== null && typeof content.entity_set === "string" ? { args: input, nextSkip } : null,
    };
    offset = typeof content.offset === "number" ? content.offset : 0;
    rows = resultId === null ? [] : given.slice(0, PAGE);
    matched = data.total;
    if (typeof content.text === "string" && content.text) {
      text.textContent = plain(content.text, 20000);
      text.hidden = false;
    }
  }
  heading.textContent = data.title;
  filterColumn.replaceChildren(...data.columns.map((name) => el("option", { value: name }, plain(name, 80))));
  filterText.value = "";
  odataNext.hidden = data.odata === null;
  setUpChart();
  if (data.local) {
    void load();
  } else {
    draw();
    if (!rows.length && (data.total ?? 0) > 0) void load();
  }
  void loadChart(true);
}

// --- loading a page ---------------------------------------------------------------------------------

function localRows(): Row[] {
  let all = data?.local ?? [];
  if (filter) {
    const needle = filter.text.toLowerCase();
    const column = filter.column;
    all = all.filter((row) => plain(row[column], Number.MAX_SAFE_INTEGER).toLowerCase().includes(needle));
  }
  if (sort) {
    const { column, desc } = sort;
    const direction = desc ? -1 : 1;
    all = [...all].sort((a, b) => {
      const x = a[column];
      const y = b[column];
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1; // nulls last
      if (y === null || y === undefined) return -1;
      if (typeof x === "number" && typeof y === "number") return (x - y) * direction;
      return plain(x).localeCompare(plain(y)) * direction;
    });
  }
  return all;
}

async function load(): Promise<void> {
  if (!data) return;
  const mine = ++sequence;
  showProblem(null);
  if (data.local) {
    const all = localRows();
    matched = all.length;
    rows = all.slice(offset, offset + PAGE);
    draw();
    return;
  }
  const resultId = data.resultId!;
  busy(true);
  let result: CallToolResult;
  const plainPage = !sort && !filter && data.total !== null;
  if (plainPage) {
    result = await callTool(app, "read_execution_result", { result_id: resultId, offset, limit: PAGE });
  } else {
    const order = sort ? ` ORDER BY ${ident(sort.column)} ${sort.desc ? "DESC" : "ASC"} NULLS LAST` : "";
    const sql = `SELECT *, count(*) OVER () AS ${ident(TOTAL)} FROM result${where()}${order} LIMIT ${PAGE} OFFSET ${offset}`;
    result = await callTool(app, "query_execution_result", { result_id: resultId, sql });
  }
  if (mine !== sequence) return; // a newer request is on its way
  busy(false);
  const content = structured(result);
  if (result.isError || !content) {
    showProblem(resultText(result) || "No answer.");
    draw();
    return;
  }
  rows = Array.isArray(content.rows) ? content.rows.filter(isRecord) : [];
  if (plainPage) {
    matched = typeof content.row_count === "number" ? content.row_count : matched;
    if (matched !== null && !filter) data.total = matched;
  } else {
    const first = rows[0];
    matched = first && typeof first[TOTAL] === "number" ? first[TOTAL] : offset === 0 ? 0 : matched;
    if (!filter && matched !== null) data.total = matched;
  }
  draw();
}

// --- drawing ----------------------------------------------------------------------------------------

function updatePager(): void {
  first.disabled = previous.disabled = offset === 0;
  next.disabled = matched === null ? rows.length < PAGE : offset + rows.length >= matched;
}

function draw(): void {
  renderTable();
  updatePager();
  if (!data) return;
  const parts: string[] = [];
  const total = data.total;
  if (rows.length) parts.push(`Rows ${count(offset + 1)}–${count(offset + rows.length)} of ${matched === null ? "?" : count(matched)}`);
  else parts.push(matched === 0 ? "No rows match" : "No rows");
  if (filter) parts.push(`where ${plain(filter.column, 80)} contains “${plain(filter.text, 80)}”${total !== null ? ` (of ${count(total)} in the result)` : ""}`);
  else if (total !== null && matched === null) parts.push(`(${count(total)} in the result)`);
  if (sort) parts.push(`sorted by ${plain(sort.column, 80)} ${sort.desc ? "descending" : "ascending"}`);
  if (rows.length && rows.length < PAGE && matched !== null && offset + rows.length < matched) parts.push("(page cut by the size budget)");
  status.textContent = parts.join(", ") + (data.note ? `. ${data.note}` : "");
  rendered(app, "table", rows.length);
}

function renderTable(): void {
  const columns = data?.columns ?? [];
  const head = el(
    "tr",
    {},
    ...columns.map((name, index) => {
      const sorted = sort?.column === name;
      const mark = sorted ? (sort!.desc ? " ▼" : " ▲") : "";
      const header = el(
        "th",
        { scope: "col", "aria-sort": sorted ? (sort!.desc ? "descending" : "ascending") : "none" },
        el("button", { type: "button", "data-column": String(index), title: `Sort by ${plain(name, 80)}` }, plain(name, 80), mark),
      );
      if (numeric(name)) header.classList.add("number");
      return header;
    }),
  );
  const body = el(
    "tbody",
    {},
    ...rows.map((row) =>
      el(
        "tr",
        {},
        ...columns.map((name) => {
          const value = row[name];
          const cell = el("td", {}, plain(value));
          if (typeof value === "number") cell.classList.add("number");
          if (value === null || value === undefined) cell.classList.add("null");
          return cell;
        }),
      ),
    ),
  );
  table.replaceChildren(el("thead", {}, head), body);
}

// --- the chart --------------------------------------------------------------------------------------

function setUpChart(): void {
  const columns = data?.columns ?? [];
  chartColumn.replaceChildren(...columns.filter((c) => !numeric(c)).map((name) => el("option", { value: name }, plain(name, 80))));
  chartOf.replaceChildren(
    el("option", { value: "count" }, "count"),
    ...columns.filter(numeric).map((name) => el("option", { value: name }, `average ${plain(name, 80)}`)),
  );
  chartCategory = "";
  chartMeasure = "count";
  chartControls.hidden = chartColumn.options.length === 0;
}

async function pickCategory(): Promise<string> {
  const candidates = Array.from(chartColumn.options, (option) => option.value).slice(0, 8);
  if (candidates.length <= 1 || !data) return candidates[0] ?? "";
  let distinct: number[];
  if (data.local) {
    distinct = candidates.map((c) => new Set(data!.local!.map((row) => plain(row[c]))).size);
  } else {
    const sql = `SELECT ${candidates.map((c, i) => `approx_count_distinct(${ident(c)}) AS "${i}"`).join(", ")} FROM result`;
    const result = await callTool(app, "query_execution_result", { result_id: data.resultId, sql });
    const row = structured(result)?.rows;
    const values = Array.isArray(row) && isRecord(row[0]) ? row[0] : {};
    distinct = candidates.map((_, i) => (typeof values[String(i)] === "number" ? (values[String(i)] as number) : Infinity));
  }
  // Fewest categories that still say something: two or more, else the first column.
  let best = 0;
  for (let i = 0; i < candidates.length; i++) {
    const better = distinct[i] >= 2 && (distinct[best] < 2 || distinct[i] < distinct[best]);
    if (better) best = i;
  }
  return candidates[best];
}

async function loadChart(choose = false): Promise<void> {
  if (!data || chartColumn.options.length === 0) {
    chart.replaceChildren();
    return;
  }
  if (choose || !chartCategory) {
    chartCategory = await pickCategory();
    chartColumn.value = chartCategory;
  }
  const category = chartCategory;
  const measure = chartMeasure;
  let bars: { label: string; value: number }[] = [];
  if (data.local) {
    const groups = new Map<string, { n: number; sum: number; seen: number }>();
    for (const row of localRows()) {
      const key = plain(row[category], 80);
      const group = groups.get(key) ?? { n: 0, sum: 0, seen: 0 };
      group.n += 1;
      const value = row[measure];
      if (typeof value === "number") {
        group.sum += value;
        group.seen += 1;
      }
      groups.set(key, group);
    }
    bars = [...groups].map(([label, g]) => ({ label, value: measure === "count" ? g.n : g.seen ? g.sum / g.seen : 0 }));
    bars.sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
    bars = bars.slice(0, CHART_BARS);
  } else {
    const of = measure === "count" ? "count(*)" : `avg(${ident(measure)})`;
    const sql = `SELECT ${ident(category)} AS "k", ${of} AS "n" FROM result${where()} GROUP BY 1 ORDER BY 2 DESC NULLS LAST, 1 LIMIT ${CHART_BARS}`;
    const result = await callTool(app, "query_execution_result", { result_id: data.resultId, sql });
    const content = structured(result);
    if (result.isError || !content) {
      chart.replaceChildren(el("figcaption", {}, `No chart: ${resultText(result, 400)}`));
      return;
    }
    const answer = Array.isArray(content.rows) ? content.rows.filter(isRecord) : [];
    bars = answer.map((row) => ({ label: plain(row.k, 80), value: typeof row.n === "number" ? row.n : 0 }));
  }
  drawChart(bars, measure === "count" ? `Rows per ${category}` : `Average ${measure} per ${category}`);
}

function drawChart(bars: { label: string; value: number }[], caption: string): void {
  const width = 560;
  const labelWidth = 170;
  const barHeight = 20;
  const gap = 6;
  const height = Math.max(1, bars.length) * (barHeight + gap) + gap;
  const max = Math.max(0, ...bars.map((b) => b.value)) || 1;
  const picture = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": plain(caption, 120) });
  bars.forEach((bar, i) => {
    const y = gap + i * (barHeight + gap);
    const length = Math.max(1, ((width - labelWidth - 90) * Math.max(0, bar.value)) / max);
    const label = bar.label.length > 24 ? `${bar.label.slice(0, 23)}…` : bar.label || "(empty)";
    picture.append(
      svg("text", { x: labelWidth - 8, y: y + barHeight * 0.72, "text-anchor": "end", class: "label" }, label),
      svg("rect", { x: labelWidth, y, width: length, height: barHeight, class: "bar" }),
      svg("text", { x: labelWidth + length + 6, y: y + barHeight * 0.72, class: "value" }, Number.isInteger(bar.value) ? count(bar.value) : bar.value.toFixed(2)),
    );
  });
  chart.replaceChildren(el("figcaption", {}, `${plain(caption, 120)} (top ${CHART_BARS}${filter ? ", filtered" : ""})`), picture);
}

// --- wiring -----------------------------------------------------------------------------------------

table.addEventListener("click", (event) => {
  const button = (event.target as Element).closest("button[data-column]");
  if (!button || !data) return;
  const column = data.columns[Number(button.getAttribute("data-column"))];
  // ascending, then descending, then the result's own order
  sort = sort?.column !== column ? { column, desc: false } : sort.desc ? null : { column, desc: true };
  offset = 0;
  void load();
});
filterApply.addEventListener("click", () => {
  const value = filterText.value.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  filter = value && filterColumn.value ? { column: filterColumn.value, text: value } : null;
  offset = 0;
  void load().then(() => loadChart());
});
filterText.addEventListener("keydown", (event) => {
  if (event.key === "Enter") filterApply.click();
});
filterClear.addEventListener("click", () => {
  filterText.value = "";
  filter = null;
  offset = 0;
  void load().then(() => loadChart());
});
first.addEventListener("click", () => {
  offset = 0;
  void load();
});
previous.addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  void load();
});
next.addEventListener("click", () => {
  offset += rows.length || PAGE;
  void load();
});
odataNext.addEventListener("click", async () => {
  if (!data?.odata) return;
  busy(true);
  const result = await callTool(app, "query_odata", { ...data.odata.args, skip: data.odata.nextSkip });
  busy(false);
  input = { ...data.odata.args, skip: data.odata.nextSkip };
  open(result);
});
chartColumn.addEventListener("change", () => {
  chartCategory = chartColumn.value;
  void loadChart();
});
chartOf.addEventListener("change", () => {
  chartMeasure = chartOf.value;
  void loadChart();
});

heading.textContent = "Waiting for a result…";
app = connect("edfs-mcp result view", {
  onInput: (args) => {
    input = args;
  },
  onResult: open,
});
