// Validates AsyncAPI documents with AsyncAPI's official parser (@asyncapi/parser, installed by `npm ci`).
// Reads a JSON object {name: document} on stdin; prints {name: [diagnostics]} and exits 1 when any has an error.
import { Parser } from "@asyncapi/parser";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const documents = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const parser = new Parser();
const report = {};
let failed = false;
for (const [name, document] of Object.entries(documents)) {
  const { diagnostics } = await parser.parse(JSON.stringify(document));
  // Severity 0 is an error; 1-3 (warning, information, hint) are advice.
  report[name] = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  failed ||= diagnostics.some((d) => d.severity === 0);
}
process.stdout.write(JSON.stringify(report, null, 1));
process.exit(failed ? 1 : 0);
