// Signs a person in to an edfs-mcp server with EDFS_MCP_HTTP_AUTH=oauth using the MCP TypeScript
// SDK's OAuth client, then calls a tool as that person. The "browser" follows redirects by hand,
// keeps cookies, approves our consent page and signs in on the sandbox's sign-in page.
// Every check prints "ok - ..." or "not ok - ..."; the last line is "N passed, M failed".
//
//   node oauth_client.mjs <MCP URL> <sandbox user> <password> <expect: allowed|forbidden>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, username, password, expect] = process.argv.slice(2);
const REDIRECT = "http://127.0.0.1:5174/ts-callback"; // the client's own; never contacted
const ITWIN = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"; // Northgate Bridge

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

const cookies = new Map();
function keepCookies(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
    if (value) cookies.set(name.trim(), value); else cookies.delete(name.trim());
  }
}
async function browse(target, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const response = await fetch(target, { ...init, headers, redirect: "manual" });
  keepCookies(response);
  return response;
}
function hiddenFields(html) {
  const fields = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]] = match[2].replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#x27;", "'");
  }
  return fields;
}
let consentPages = 0;
// From the authorization URL to the client's redirect URI; returns the code.
async function signIn(authorizationUrl) {
  let response = await browse(authorizationUrl);
  for (let step = 0; step < 20; step += 1) {
    if (response.status === 302 || response.status === 303) {
      const location = new URL(response.headers.get("location"), response.url || authorizationUrl).href;
      if (location.startsWith(REDIRECT)) return new URL(location).searchParams.get("code");
      response = await browse(location);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`${response.status} at ${response.url}: ${html.slice(0, 300)}`);
    const page = new URL(response.url);
    const fields = hiddenFields(html);
    if (page.pathname === "/consent" || html.includes("Allow access to EDFS")) {
      consentPages += 1;
      response = await browse(new URL("/consent", page).href, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...fields, action: "approve" }).toString(),
      });
    } else if (page.pathname === "/connect/authorize") {
      response = await browse(`${page.origin}${page.pathname}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...fields, username, password, action: "approve" }).toString(),
      });
    } else {
      throw new Error(`unexpected page ${response.url}`);
    }
  }
  throw new Error("too many steps");
}

let pendingAuthorization;
const store = {};
const provider = {
  get redirectUrl() { return REDIRECT; },
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK test client",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation() { return store.client; },
  saveClientInformation(info) { store.client = info; },
  tokens() { return store.tokens; },
  saveTokens(tokens) { store.tokens = tokens; },
  redirectToAuthorization(authorizationUrl) { pendingAuthorization = authorizationUrl.href; },
  saveCodeVerifier(verifier) { store.verifier = verifier; },
  codeVerifier() { return store.verifier; },
};

async function connect() {
  const client = new Client({ name: "edfs-mcp-ts-oauth", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  return client;
}

try {
  let client;
  try {
    client = await connect();
    check("[oauth] a 401 first", false, "connected without signing in");
  } catch (error) {
    check("[oauth] a 401 first, then the authorization URL", error instanceof UnauthorizedError && !!pendingAuthorization, String(error));
    const authorizeUrl = new URL(pendingAuthorization);
    check("[oauth] PKCE S256 and the resource indicator", authorizeUrl.searchParams.get("code_challenge_method") === "S256" && authorizeUrl.searchParams.get("resource") === url, authorizeUrl.search);
    const code = await signIn(pendingAuthorization);
    check("[oauth] a code after consent and sign-in", !!code && consentPages === 1, `${code} ${consentPages}`);
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    await transport.finishAuth(code);
    check("[oauth] our tokens, not Bentley's", store.tokens?.access_token?.startsWith("edfs_at_") && !JSON.stringify(store.tokens).includes("eyJ"));
    client = await connect();
  }
  const result = await client.callTool({ name: "list_timers", arguments: { itwin_id: ITWIN } });
  const text = (result.content ?? []).map((block) => block.text ?? "").join("\n");
  if (expect === "allowed") check(`[oauth] ${username} lists timers`, !result.isError, text.slice(0, 300));
  else check(`[oauth] ${username} is refused by EDFS (403)`, result.isError && text.includes("403"), text.slice(0, 300));
  await client.close();
} catch (error) {
  check("[oauth] no exception", false, error?.stack ?? String(error));
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
