// schema.d.ts must be exactly what openapi-typescript makes of web/openapi.json, so the UI's types can
// never drift from the control plane's API by hand edits or a forgotten regeneration.
import openapiTS, { COMMENT_HEADER, astToString } from "openapi-typescript";
import { describe, expect, it } from "vitest";
import document from "../../openapi.json?raw";
import committed from "./schema.d.ts?raw";

describe("schema.d.ts", () => {
  it("is what openapi-typescript generates from web/openapi.json", async () => {
    // the same steps as the `openapi-typescript` command line that `npm run generate` runs
    const generated = `${COMMENT_HEADER}${astToString(await openapiTS(document, { silent: true }))}`;
    expect(committed, "web/src/api/schema.d.ts is stale: run `make ui` (or `cd web && npm run generate`)").toBe(
      generated,
    );
  }, 60_000);
});
