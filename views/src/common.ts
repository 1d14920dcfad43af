// What both views share: the App connection, safe text, small DOM helpers.
//
// Everything shown comes from EDFS and the systems behind it (rows, column names, timer names,
// error texts): it is untrusted. It only ever reaches the page as text (textContent, or an SVG
// <text> node's textContent), never as markup, and hidden characters are made visible first.

import {
  App,
  applyDocumentTheme,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps";
import type { CallToolResult } from "@modelcontextprotocol/client";

export type { CallToolResult };

// Control characters, bidi overrides and isolates, zero-width characters, BOM, line/paragraph
// separators: shown as U+FFFD so nothing reorders, hides or breaks the text around it.
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
// The longest text one cell shows (the whole value stays in the result, for SQL and the model).
export const CELL_CHARS = 300;

/** Any value as one line of plain text, hidden characters replaced, cut to ``max`` characters. */
export function plain(value: unknown, max = CELL_CHARS): string {
  let text: string;
  if (value === null || value === undefined) text = "";
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean") text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? "";
    } catch {
      text = String(value);
    }
  }
  const length = text.length;
  if (length > max) text = text.slice(0, max);
  text = text.replace(/[\t\n\r]/g, " ").replace(HIDDEN, "\ufffd");
  return length > max ? `${text}… (${length.toLocaleString("en")} characters)` : text;
}

type Child = Node | string | null | undefined | false;

/** An element with attributes (never ``on*`` nor ``style``: none is needed) and text children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attributes: Record<string, string | number> = {}, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The text of a tool result (what the model reads), hidden characters made visible. */
export function resultText(result: CallToolResult, max = 4000): string {
  const text = (result.content ?? [])
    .map((block) => (block.type === "text" ? block.text : ""))
    .filter(Boolean)
    .join("\n");
  return text.replace(HIDDEN, (c) => (c === "\n" ? c : "\ufffd")).slice(0, max);
}

export function structured(result: CallToolResult): Record<string, unknown> | null {
  const content = result.structuredContent;
  return content && typeof content === "object" ? (content as Record<string, unknown>) : null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const count = (n: number): string => n.toLocaleString("en");

function applyContext(context: McpUiHostContext | undefined): void {
  if (!context) return;
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
}

export interface ViewHooks {
  onInput?: (args: Record<string, unknown>) => void;
  onResult: (result: CallToolResult) => void;
  onContext?: (context: McpUiHostContext) => void;
}

/** The view's App, connecting to the host (ext-apps' App over postMessage to the parent window).
 * Returned at once, so the hooks can use it; the handlers are set before the handshake. */
export function connect(name: string, hooks: ViewHooks): App {
  const app = new App({ name, version: "1.0.0" }, {}, { autoResize: true });
  app.ontoolinput = (params) => hooks.onInput?.(isRecord(params.arguments) ? params.arguments : {});
  app.ontoolresult = (params) => hooks.onResult(params as CallToolResult);
  app.onhostcontextchanged = (params) => {
    applyContext(params);
    hooks.onContext?.(params);
  };
  void app.connect().then(() => {
    const context = app.getHostContext();
    applyContext(context);
    if (context) hooks.onContext?.(context);
  });
  return app;
}

/** Call a server tool through the host; a failure to reach it becomes an error result. */
export async function callTool(app: App, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  try {
    return await app.callServerTool({ name, arguments: args });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { isError: true, content: [{ type: "text", text: `The host could not call ${name}: ${message}` }] };
  }
}

/** Tell the test host (and anyone listening) that something was drawn: a log, never data. */
export function rendered(app: App, what: string, rows: number): void {
  void app.sendLog({ level: "debug", logger: "edfs-mcp-view", data: { rendered: what, rows } }).catch(() => {});
}
