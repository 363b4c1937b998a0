// The committed client types are what `npm run generate` makes from the sandbox's Dakota contract.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

test("src/generated/dakota.ts is up to date with contracts/openapi/dakota.yaml (else: npm run generate)", () => {
  const fresh = join(mkdtempSync(join(tmpdir(), "dakota-types-")), "dakota.ts");
  const cli = here("../node_modules/openapi-typescript/bin/cli.js");
  execFileSync(process.execPath, [cli, here("../../../contracts/openapi/dakota.yaml"), "--output", fresh], {
    stdio: "pipe",
  });
  expect(readFileSync(fresh, "utf8")).toBe(readFileSync(here("../src/generated/dakota.ts"), "utf8"));
});
