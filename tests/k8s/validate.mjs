// Validates a v1 List of manifests (from `parasol job render -o json`) with kubernetes-models,
// which checks each object against the Kubernetes OpenAPI schema of its kind.
// Usage: node validate.mjs LIST.json   Exit 0 when every item is valid.
import { readFileSync } from "node:fs";
import { Service } from "kubernetes-models/v1";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";

const kinds = { Service, StatefulSet, Job };
const list = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failed = 0;
for (const item of list.items) {
  const name = `${item.kind}/${item.metadata?.name}`;
  const Kind = kinds[item.kind];
  if (!Kind) {
    console.error(`FAIL ${name}: no validator for kind ${item.kind}`);
    failed++;
    continue;
  }
  try {
    new Kind(item).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.error(`FAIL ${name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed === 0 && list.items.length > 0 ? 0 : 1);
