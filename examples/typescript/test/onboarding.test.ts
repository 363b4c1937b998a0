// An integrator's tests of Sumsub token sharing into Dakota, run against kyc-sandbox (SANDBOX_URL).
import { Buffer } from "node:buffer";
import { beforeEach, expect, test } from "vitest";
import { createApplicationClient, createDakotaClient, idempotencyKey, importShareTokens } from "../src/dakota.js";
import {
  DAKOTA_ADMIN_KEY,
  SANDBOX_URL,
  advanceClock,
  mintShareToken,
  reset,
  sandboxNow,
  webhookPublicKeyPem,
} from "../src/sandbox.js";
import { startReceiver, verifyDakotaSignature } from "../src/webhooks.js";

const dakota = createDakotaClient(SANDBOX_URL, DAKOTA_ADMIN_KEY);

beforeEach(async () => {
  await reset();
});

test("a shared customer is imported, completes Step 3 and is approved", async () => {
  const { result } = await importShareTokens(dakota, [await mintShareToken("gb-passport")]);
  expect(result).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
  const row = result.results[0];
  if (!row.success) throw new Error(row.error);
  const { customer_id, application_id } = row;
  expect(row.name).toMatch(/ \(from Sumsub\)$/);

  const customer = await dakota.GET("/customers/{customer_id}", { params: { path: { customer_id } } });
  const applicant = createApplicationClient(SANDBOX_URL, customer.data!.application_url!);
  const application = await applicant.GET("/applications/{application_id}", {
    params: { path: { application_id }, query: { include: "entities" } },
  });
  expect(application.data?.application_status).toBe("pending");
  const individual = application.data!.entities!.primary_individual!;

  // Step 3: what Sumsub did not provide, sent with the imported details.
  const details = await applicant.PUT("/applications/{application_id}/individual-details", {
    params: { path: { application_id } },
    body: {
      roles: ["individual"],
      name: { first: individual.first_name, last: individual.last_name },
      date_of_birth: individual.date_of_birth,
      nationalities: individual.nationalities,
      address: individual.address,
      email_address: individual.email_address,
      employment_status: "employed",
      purpose_of_account: ["investing"],
      source_of_wealth: ["employment"],
    },
  });
  expect(details.error).toBeUndefined();
  const document = await applicant.POST("/applications/{application_id}/associated-individuals/{individual_id}/documents", {
    params: { path: { application_id, individual_id: individual.id }, header: { "x-idempotency-key": idempotencyKey() } },
    body: {
      type: "source_of_wealth",
      file_type: "pdf",
      country: individual.address.country,
      file_content: Buffer.from("%PDF-1.4 payslip").toString("base64"),
    },
  });
  expect(document.error).toBeUndefined();
  const now = Math.floor(await sandboxNow());
  const attestations = ["e_sign", "terms_of_service", "privacy_policy", "information_accuracy"] as const;
  for (const [i, attestation_type] of attestations.entries()) {
    const attested = await applicant.POST("/applications/{application_id}/attestations", {
      params: { path: { application_id }, header: { "x-idempotency-key": idempotencyKey() } },
      body: { attestation_type, timestamp: now - 10 + i, applicant_id: individual.id },
    });
    expect(attested.error).toBeUndefined();
  }
  const submitted = await applicant.POST("/applications/{application_id}/submissions", {
    params: { path: { application_id }, header: { "x-idempotency-key": idempotencyKey() } },
  });
  expect(submitted.data?.application_status).toBe("submitted");

  // Dakota's sandbox simulator stands in for its compliance team.
  await dakota.POST("/sandbox/simulate/onboarding", {
    params: { header: { "x-idempotency-key": idempotencyKey() } },
    body: { type: "kyc_approve", applicant_id: application_id, simulation_id: "ts-example-1" },
  });
  const approved = await dakota.GET("/customers/{customer_id}", { params: { path: { customer_id } } });
  expect(approved.data?.kyc_status).toBe("approved");
});

test("webhooks are signed with Ed25519 over the timestamp and the raw body", async () => {
  const receiver = await startReceiver();
  try {
    const target = await dakota.POST("/webhooks/targets", {
      params: { header: { "x-idempotency-key": idempotencyKey() } },
      body: { url: receiver.url, global: true },
    });
    expect(target.error).toBeUndefined();
    await importShareTokens(dakota, [await mintShareToken()]);

    const delivery = await receiver.next("customer.created");
    const key = await webhookPublicKeyPem();
    const timestamp = String(delivery.headers["x-webhook-timestamp"]);
    const signature = String(delivery.headers["x-webhook-signature"]);
    expect(verifyDakotaSignature(key, timestamp, delivery.rawBody, signature)).toBe(true);
    expect(verifyDakotaSignature(key, timestamp, Buffer.from(`${delivery.rawBody} `), signature)).toBe(false);
    const event = JSON.parse(delivery.rawBody.toString("utf8"));
    expect(event.id).toBe(delivery.headers["x-dakota-event-id"]);
  } finally {
    await receiver.close();
  }
});

test("an expired share token fails its row and creates nothing", async () => {
  const token = await mintShareToken(); // 20-minute TTL on the sandbox's clock
  await advanceClock(21 * 60); // no waiting
  const { result } = await importShareTokens(dakota, [token]);
  expect(result.results[0]).toMatchObject({
    success: false,
    error: "Failed to redeem share token: Share token expired",
  });
  const customers = await dakota.GET("/customers");
  expect(customers.data?.meta.total_count).toBe(0);
});

test("a share token is single-use; a retry with the same idempotency key replays the first answer", async () => {
  const token = await mintShareToken();
  const key = idempotencyKey();
  const first = await importShareTokens(dakota, [token], key);
  expect(first.result.succeeded).toBe(1);

  const retry = await importShareTokens(dakota, [token], key);
  expect(retry.replayed).toBe(true);
  expect(retry.result).toEqual(first.result);

  const again = await importShareTokens(dakota, [token]); // a new request: the token was spent
  const row = again.result.results[0];
  expect(row.success).toBe(false);
  expect(row.success ? "" : row.error).toContain("Tokens are single-use");
});
