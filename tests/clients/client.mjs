// Drives `edfs-mcp serve --sandbox` with the MCP TypeScript SDK's client, over stdio and over
// streamable HTTP. Every check prints "ok - ..." or "not ok - ..."; the last line is
// "N passed, M failed" and the exit code is 1 when anything failed.
//
//   node client.mjs            (edfs-mcp must be on PATH)
import { spawn } from "node:child_process";
import net from "node:net";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const COMMAND = "edfs-mcp";
const ITWIN = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"; // Northgate Bridge, in the sandbox seed
const TIMER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01";
const PACKAGE = "SAP_WORK_ORDERS";
const MUST_HAVE_TOOLS = [
  "find_itwins",
  "list_integration_packages",
  "get_integration_package",
  "execute_integration_package",
  "list_timers",
  "set_timer_enabled",
];

let passed = 0;
let failed = 0;

function check(label, condition, detail) {
  if (condition) {
    passed += 1;
    console.log(`ok - ${label}`);
  } else {
    failed += 1;
    console.log(`not ok - ${label}${detail === undefined ? "" : `: ${detail}`}`);
  }
}

function textOf(result) {
  return (result.content ?? [])
    .filter((block) => block.type === "text")
    .map((block) => block.text)
    .join("\n");
}

// The server's environment: ours, minus any EDFS_MCP_* settings (--sandbox decides everything).
function serverEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EDFS_MCP_")));
}

async function scenario(name, client) {
  const server = client.getServerVersion();
  check(`[${name}] initialize: server is edfs-mcp`, server?.name === COMMAND, JSON.stringify(server));
  check(
    `[${name}] initialize: instructions say SANDBOX`,
    (client.getInstructions() ?? "").includes("SANDBOX"),
  );

  const { tools } = await client.listTools();
  const names = new Set(tools.map((tool) => tool.name));
  const missing = MUST_HAVE_TOOLS.filter((tool) => !names.has(tool));
  check(`[${name}] tools/list has the core tools`, missing.length === 0, `missing ${missing}`);
  const badSchemas = tools.filter((tool) => tool.inputSchema?.type !== "object").map((tool) => tool.name);
  check(`[${name}] every tool has an object input schema`, badSchemas.length === 0, `${badSchemas}`);

  const run = await client.callTool({
    name: "execute_integration_package",
    arguments: { itwin_id: ITWIN, unique_name: PACKAGE },
  });
  const rows = run.structuredContent?.row_count;
  check(`[${name}] execute_integration_package succeeds`, run.isError !== true, textOf(run));
  check(
    `[${name}] execute_integration_package returns rows`,
    run.structuredContent?.unique_name === PACKAGE && Number.isInteger(rows) && rows > 0,
    JSON.stringify(run.structuredContent)?.slice(0, 300),
  );

  const states = [];
  for (const enabled of [false, true]) {
    const set = await client.callTool({
      name: "set_timer_enabled",
      arguments: { itwin_id: ITWIN, timer_id: TIMER, enabled },
    });
    const change = set.structuredContent;
    check(
      `[${name}] set_timer_enabled ${enabled} reaches that state`,
      set.isError !== true &&
        change?.timer?.id === TIMER &&
        change?.timer?.enabled === enabled &&
        typeof change?.was_enabled === "boolean" &&
        change.changed === (change.was_enabled !== enabled),
      textOf(set),
    );
    states.push(change?.timer?.enabled);
  }
  check(
    `[${name}] set_timer_enabled false then true leaves it enabled`,
    states[0] === false && states[1] === true,
    JSON.stringify(states),
  );

  const missingPackage = await client.callTool({
    name: "get_integration_package",
    arguments: { unique_name: "NO_SUCH_PACKAGE" },
  });
  check(
    `[${name}] an unknown package is a tool error naming the next step`,
    missingPackage.isError === true && textOf(missingPackage).includes("list_integration_packages"),
    `isError=${missingPackage.isError} text=${textOf(missingPackage)}`,
  );
}

async function overStdio() {
  const transport = new StdioClientTransport({
    command: COMMAND,
    args: ["serve", "--sandbox"],
    env: serverEnv(),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const client = new Client({ name: "edfs-mcp-client-test", version: "0.0.0" });
  try {
    await client.connect(transport);
    await scenario("stdio", client);
  } catch (error) {
    check("[stdio] session", false, `${error?.stack ?? error}\n--- server stderr ---\n${stderr}`);
  } finally {
    await client.close();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${seconds}s`);
}

async function overHttp() {
  const port = await freePort();
  const child = spawn(
    COMMAND,
    ["serve", "--sandbox", "--transport", "streamable-http", "--host", "127.0.0.1", "--port", String(port)],
    { env: serverEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const spawned = new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const client = new Client({ name: "edfs-mcp-client-test", version: "0.0.0" });
  try {
    await spawned;
    await waitForPort(port, child, 30);
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    await scenario("http", client);
  } catch (error) {
    check("[http] session", false, `${error?.stack ?? error}\n--- server output ---\n${output}`);
  } finally {
    await client.close();
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill("SIGTERM");
      await exited;
    }
  }
}

await overStdio();
await overHttp();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
