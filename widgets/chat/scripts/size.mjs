// Fails the build when the core bundle outgrows its budget (40 KB gzipped). The call
// module (widget-call.js, LiveKit inside) is loaded only when a visitor starts a call and
// is reported, not budgeted; it must not have been pulled into widget.js.
import { existsSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const path = new URL("../../../src/kefu/static/chat/widget.js", import.meta.url);
const raw = readFileSync(path);
const gz = gzipSync(raw, { level: 9 }).length;
const budget = 40 * 1024;
console.log(`widget.js: ${raw.length} bytes, ${gz} bytes gzipped (budget ${budget})`);
if (gz >= budget) {
  console.error("widget.js is over its 40 KB gzipped budget");
  process.exit(1);
}
if (/LiveKit|livekit-client/.test(raw.toString("latin1"))) {
  console.error("widget.js contains livekit-client: it must stay in the lazily loaded widget-call.js");
  process.exit(1);
}
const call = new URL("../../../src/kefu/static/chat/widget-call.js", import.meta.url);
if (existsSync(call)) {
  const c = readFileSync(call);
  console.log(`widget-call.js (lazy): ${c.length} bytes, ${gzipSync(c, { level: 9 }).length} bytes gzipped`);
}
