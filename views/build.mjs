// npm --prefix views run build: bundles each view (its TypeScript, ext-apps' App and what that
// needs) with esbuild into ONE self-contained HTML file, script and style inline, shipped in the
// Python package (edfs_mcp/views/*.html); and the test host page (tests/views/host.html).
//
// Each file carries the SHA-256 of the sources (this file, package.json, package-lock.json, src/,
// test-host/) in <meta name="edfs-mcp-views-source">; tests/views/test_view_build.py computes the
// same hash from the sources and fails when a shipped file is stale. Each view's own
// Content-Security-Policy allows its inline script and style by their hashes and nothing else.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const SOURCES = ["build.mjs", "package.json", "package-lock.json", "src", "test-host"];

function filesUnder(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

/** SHA-256 over every source file: its path (from views/, with /) NUL its bytes NUL, by path. */
export function sourceHash() {
  const files = SOURCES.flatMap((name) => filesUnder(join(here, name)))
    .map((path) => relative(here, path).split(sep).join("/"))
    .sort();
  const hash = createHash("sha256");
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(here, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const sha256 = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

// zod (which ext-apps validates messages with) re-exports all its ~50 message locales; the views
// use its English messages only (zod imports those itself), so the namespace is left empty.
const englishOnly = {
  name: "zod-english-only",
  setup(plugin) {
    plugin.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`) ? { path: "zod-locales", namespace: "empty" } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

async function bundle(entry) {
  const out = await build({
    plugins: [englishOnly],
    entryPoints: [join(here, entry)],
    bundle: true,
    format: "iife",
    target: "es2020",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
  });
  const js = out.outputFiles[0].text.trim();
  if (/<\/script/i.test(js) || js.includes("<!--")) throw new Error(`${entry}: the bundle cannot be inlined as it is`);
  return js;
}

function page({ title, js, css, hash, csp }) {
  const policy = csp
    ? `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ${sha256(js)}; ` +
      `style-src ${sha256(css)}; img-src data:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'">\n`
    : "";
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n${policy}` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<meta name="edfs-mcp-views-source" content="${hash}">\n<title>${title}</title>\n` +
    `<style>${css}</style>\n</head>\n<body>\n<main id="app"></main>\n<script>${js}</script>\n</body>\n</html>\n`
  );
}

const hash = sourceHash();
const css = readFileSync(join(here, "src/style.css"), "utf8").trim();
const targets = [
  { entry: "src/result.ts", out: "edfs_mcp/views/result.html", title: "Result", css, csp: true },
  { entry: "src/timers.ts", out: "edfs_mcp/views/timers.html", title: "Timers", css, csp: true },
  { entry: "test-host/host.ts", out: "tests/views/host.html", title: "edfs-mcp test host", css: "iframe{border:1px solid #ccc;width:900px;height:600px}", csp: false },
];
for (const target of targets) {
  const js = await bundle(target.entry);
  const html = page({ ...target, js, hash });
  mkdirSync(dirname(join(root, target.out)), { recursive: true });
  writeFileSync(join(root, target.out), html);
  console.log(`${target.out}: ${Buffer.byteLength(html).toLocaleString("en")} bytes`);
}
console.log(`sources ${hash}`);
