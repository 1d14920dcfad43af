// The test host: what an MCP Apps host does, built on ext-apps' AppBridge and PostMessageTransport.
// It loads a ui:// resource into a sandboxed iframe (scripts only: an opaque origin, no access to
// this page), proxies the view's tool calls to the real edfs-mcp server (through functions the test
// exposes with playwright: edfsReadResource, edfsCallTool), delivers the tool input and result, and
// records the calls and the view's "rendered" logs for the test to assert on.

import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

type Json = Record<string, unknown>;
interface HostWindow {
  edfsReadResource(uri: string): Promise<{ text: string }>;
  edfsCallTool(name: string, args: Json): Promise<Json>;
  toolCalls: { name: string; arguments: Json }[];
  renders: { rendered: string; rows: number; at: number }[];
  resultSentAt: number;
  openView(uri: string, args: Json, result: Json, context: Json): Promise<void>;
  deliver(result: Json): Promise<void>;
}

const host = window as unknown as HostWindow;
host.toolCalls = [];
host.renders = [];
let bridge: AppBridge | null = null;

host.openView = async (uri, args, result, context) => {
  const resource = await host.edfsReadResource(uri);
  const frame = document.createElement("iframe");
  frame.id = "view";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.title = uri;
  document.body.replaceChildren(frame);
  const view = frame.contentWindow!;
  bridge = new AppBridge(
    null,
    { name: "edfs-mcp test host", version: "1.0.0" },
    { serverTools: {}, logging: {} },
    { hostContext: { theme: "light", displayMode: "inline", platform: "web", ...context } },
  );
  bridge.oncalltool = async (params) => {
    const call = { name: params.name, arguments: (params.arguments ?? {}) as Json };
    host.toolCalls.push(call);
    return (await host.edfsCallTool(call.name, call.arguments)) as never;
  };
  bridge.onloggingmessage = (params) => {
    const data = params.data as Json | undefined;
    if (data && typeof data.rendered === "string") {
      host.renders.push({ rendered: data.rendered, rows: Number(data.rows), at: performance.now() });
    }
  };
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = `${Math.min(Math.ceil(height), 3000)}px`;
  };
  const initialized = new Promise<void>((resolve) => {
    bridge!.oninitialized = () => resolve();
  });
  await bridge.connect(new PostMessageTransport(view, view));
  frame.srcdoc = resource.text;
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  await host.deliver(result);
};

host.deliver = async (result) => {
  host.resultSentAt = performance.now();
  await bridge!.sendToolResult(result as never);
};
