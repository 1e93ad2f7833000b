// GitHub's official webhook signer and verifier (@octokit/webhooks-methods, installed into the
// git-ignored .tools by scripts/contract.sh), for gen_scheme_vectors.py. Reads a JSON list of
// calls on stdin and writes the list of their results: {"op": "sign", "secret", "payload"} gives
// the X-Hub-Signature-256 value; {"op": "verify", "secrets", "payload", "signature"} gives
// verifyWithFallback's verdict (a call that throws, as for an empty signature, is false).
import { readFileSync } from "node:fs";

// The package exports only an ES module for node (its pinned 6.0.0 layout).
const entry = new URL("../../.tools/node_modules/@octokit/webhooks-methods/dist-node/index.js", import.meta.url);
const { sign, verifyWithFallback } = await import(entry.href);

const calls = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const c of calls) {
  if (c.op === "sign") {
    results.push(await sign(c.secret, c.payload));
  } else {
    try {
      const [first, ...rest] = c.secrets;
      results.push(await verifyWithFallback(first, c.payload, c.signature, rest));
    } catch {
      results.push(false);
    }
  }
}
process.stdout.write(JSON.stringify(results));
