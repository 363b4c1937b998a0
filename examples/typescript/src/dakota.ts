// Your integration's Dakota client: typed from the OpenAPI contract (npm run generate), calls made by openapi-fetch.
import createClient from "openapi-fetch";
import { randomUUID } from "node:crypto";
import type { paths } from "./generated/dakota.js";

export type DakotaClient = ReturnType<typeof createDakotaClient>;

export function createDakotaClient(baseUrl: string, apiKey: string) {
  return createClient<paths>({ baseUrl, headers: { "x-api-key": apiKey } });
}

/** Dakota requires a UUID `x-idempotency-key` on every POST; a retry reuses its key. */
export const idempotencyKey = () => randomUUID();

/** Redeem Sumsub share tokens at Dakota: one row per token, in order. */
export async function importShareTokens(dakota: DakotaClient, tokens: string[], key = idempotencyKey()) {
  const { data, error, response } = await dakota.POST("/customers/bulk-import-sumsub-tokens", {
    params: { header: { "x-idempotency-key": key } },
    body: { tokens },
  });
  if (error || !data) throw new Error(`bulk import answered ${response.status}: ${JSON.stringify(error)}`);
  return { result: data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

/** The calls an applicant makes on its application (Step 3) authenticate with the token of its application_url. */
export function createApplicationClient(baseUrl: string, applicationUrl: string) {
  const token = new URL(applicationUrl).searchParams.get("token");
  if (!token) throw new Error(`no token in ${applicationUrl}`);
  return createClient<paths>({ baseUrl, headers: { "X-Application-Token": token } });
}
