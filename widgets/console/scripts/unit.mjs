// The console's logic tests (tests/*.test.ts): each is bundled with esbuild (Vite's own,
// no extra dependency) into a temporary ES module and run by node's test runner.
// `npm test`; `node scripts/unit.mjs --run tests/x.ts` bundles and runs one script (its
// output is the script's). tests/unit/test_console_logic.py runs both under pytest.
import { build } from "esbuild";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const runOne = process.argv[2] === "--run" ? resolve(process.argv[3]) : null;
const entries = runOne
  ? [runOne]
  : readdirSync(join(root, "tests"))
      .filter((f) => f.endsWith(".test.ts"))
      .map((f) => join(root, "tests", f));
const out = mkdtempSync(join(tmpdir(), "kefu-console-unit-"));
try {
  await build({
    entryPoints: entries,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node18",
    logLevel: "error",
  });
  const files = readdirSync(out).filter((f) => f.endsWith(".mjs")).map((f) => join(out, f));
  const args = runOne ? files : ["--test", ...files];
  const run = spawnSync(process.execPath, args, { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
