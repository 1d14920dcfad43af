// The timer view: the timers list_timers returned, their schedules, next runs in the person's time
// zone, and switches that call set_timer_enabled (idempotent: it reads first and toggles only when
// needed). The outcome EDFS gave is shown beside each switch, an unknown one (the answer was lost)
// as such: the switch then shows neither state until it is set again or the list is refreshed.
// Deleting a timer is left to the chat, where the model asks the person first.

import type { App } from "@modelcontextprotocol/ext-apps";
import { type CallToolResult, callTool, connect, count, el, isRecord, plain, rendered, resultText, structured } from "./common";

interface Timer {
  id: string;
  name: string;
  package: string;
  schedule: string;
  cron: string;
  enabled: boolean | null; // null: unknown, after a lost answer
  nextRuns: string[];
  problem: string;
  itwinId: string;
  itwinName: string;
}

interface Outcome {
  kind: "pending" | "changed" | "unchanged" | "error" | "unknown";
  text: string;
}

let app!: App;
let input: Record<string, unknown> = {};
let timers: Timer[] = [];
let listItwin = "";
let listName = "";
let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
let locale: string | undefined;
const outcomes = new Map<string, Outcome>();
const pending = new Set<string>();

const root = document.getElementById("app")!;
const heading = el("h1", { id: "title" }, "Waiting for timers…");
const status = el("p", { id: "status", role: "status" });
const problem = el("p", { id: "problem", role: "alert", class: "problem", hidden: "" });
const refresh = el("button", { id: "refresh", type: "button" }, "Refresh");
const table = el("table", { id: "timers" });
const hint = el("p", { class: "hint" }, "To delete a timer, ask in the chat.");
root.append(heading, el("div", { class: "controls" }, status, refresh), problem, el("div", { class: "scroll" }, table), hint);

const text = (value: unknown): string => (typeof value === "string" ? value : "");

function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return plain(iso, 60);
  const options: Intl.DateTimeFormatOptions = {
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  };
  try {
    return new Intl.DateTimeFormat(locale, { ...options, timeZone: zone }).format(date);
  } catch {
    zone = "UTC"; // a zone this browser does not know
    return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" }).format(date);
  }
}

function open(result: CallToolResult): void {
  const content = structured(result);
  if (result.isError || !content || !Array.isArray(content.timers)) {
    problem.textContent = resultText(result) || "No timers in this result.";
    problem.hidden = false;
    if (!timers.length) heading.textContent = "No timers";
    return;
  }
  problem.hidden = true;
  listItwin = text(content.itwin_id);
  listName = text(content.itwin_name);
  timers = content.timers.filter(isRecord).map((t) => ({
    id: text(t.id),
    name: text(t.name),
    package: text(t.package_unique_name),
    schedule: text(t.schedule),
    cron: text(t.cron),
    enabled: typeof t.enabled === "boolean" ? t.enabled : null,
    nextRuns: Array.isArray(t.next_runs) ? t.next_runs.filter((r): r is string => typeof r === "string") : [],
    problem: text(t.schedule_problem),
    itwinId: text(t.itwin_id) || listItwin,
    itwinName: text(t.itwin_name),
  }));
  draw();
}

function draw(): void {
  const byItwin = timers.some((t) => t.itwinName);
  heading.textContent = listName ? `Timers in ${plain(listName, 120)}` : "Timers";
  const enabled = timers.filter((t) => t.enabled === true).length;
  status.textContent = `${count(timers.length)} timer(s), ${count(enabled)} enabled. Next runs in ${zone}.`;
  const head = el(
    "tr",
    {},
    byItwin && el("th", { scope: "col" }, "iTwin"),
    el("th", { scope: "col" }, "Timer"),
    el("th", { scope: "col" }, "Package"),
    el("th", { scope: "col" }, "Schedule (UTC)"),
    el("th", { scope: "col" }, `Next runs (${zone})`),
    el("th", { scope: "col" }, "Enabled"),
    el("th", { scope: "col" }, "Outcome"),
  );
  const body = el(
    "tbody",
    {},
    ...timers.map((timer, index) => {
      const toggle = el("input", {
        type: "checkbox",
        role: "switch",
        class: "switch",
        "data-timer": String(index),
        "aria-label": `Enabled: ${plain(timer.name, 120)}`,
      });
      toggle.checked = timer.enabled === true;
      toggle.indeterminate = timer.enabled === null;
      toggle.disabled = pending.has(timer.id);
      const outcome = outcomes.get(timer.id);
      const runs = timer.problem
        ? el("span", { class: "problem" }, plain(timer.problem, 300))
        : timer.nextRuns.length
          ? el("ul", { class: "runs" }, ...timer.nextRuns.map((run) => el("li", {}, when(run))))
          : el("span", { class: "muted" }, timer.enabled === false ? "— (disabled)" : "—");
      return el(
        "tr",
        { "data-timer-id": plain(timer.id, 80) },
        byItwin && el("td", {}, plain(timer.itwinName, 120)),
        el("td", { class: "name" }, plain(timer.name, 200)),
        el("td", {}, plain(timer.package, 120)),
        el("td", {}, plain(timer.schedule, 200), el("div", { class: "muted" }, plain(timer.cron, 80))),
        el("td", {}, runs),
        el("td", {}, el("label", { class: "switch-label" }, toggle, timer.enabled === null ? " unknown" : timer.enabled ? " on" : " off")),
        el("td", { class: `outcome ${outcome?.kind ?? ""}` }, outcome ? plain(outcome.text, 2000) : ""),
      );
    }),
  );
  table.replaceChildren(el("thead", {}, head), body);
  rendered(app, "timers", timers.length);
}

async function setEnabled(timer: Timer, enabled: boolean): Promise<void> {
  pending.add(timer.id);
  outcomes.set(timer.id, { kind: "pending", text: enabled ? "Enabling…" : "Disabling…" });
  draw();
  const result = await callTool(app, "set_timer_enabled", { itwin_id: timer.itwinId, timer_id: timer.id, enabled });
  pending.delete(timer.id);
  const content = structured(result);
  const state = isRecord(content?.timer) ? content!.timer.enabled : undefined;
  if (!result.isError && typeof state === "boolean") {
    timer.enabled = state;
    outcomes.set(timer.id, { kind: content!.changed ? "changed" : "unchanged", text: text(content!.summary) || resultText(result) });
    draw();
    if (content!.changed) await reload(); // new next runs (or none)
    return;
  }
  const words = resultText(result) || "No answer.";
  // A lost answer: EDFS may or may not have applied it. Show neither state; setting it again is safe.
  const unknown = /may or may not/i.test(words);
  if (unknown) timer.enabled = null;
  outcomes.set(timer.id, { kind: unknown ? "unknown" : "error", text: words });
  draw();
}

async function reload(): Promise<void> {
  refresh.disabled = true;
  // The same listing the view was opened with (or, if the host did not say, this iTwin's).
  const args = Object.keys(input).length ? input : listItwin ? { itwin_id: listItwin } : {};
  const result = await callTool(app, "list_timers", args);
  refresh.disabled = false;
  open(result);
}

table.addEventListener("change", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement) || !target.hasAttribute("data-timer")) return;
  const timer = timers[Number(target.getAttribute("data-timer"))];
  if (!timer || pending.has(timer.id)) return;
  void setEnabled(timer, target.checked);
});
refresh.addEventListener("click", () => void reload());

app = connect("edfs-mcp timer view", {
  onInput: (args) => {
    input = args;
  },
  onResult: open,
  onContext: (context) => {
    if (context.timeZone) zone = context.timeZone;
    if (context.locale) locale = context.locale;
    if (timers.length) draw();
  },
});
