// Fails the build when the core bundle outgrows its budget (40 KB gzipped).
import { readFileSync } from "node:fs";
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
