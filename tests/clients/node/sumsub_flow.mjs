// The donor's side of Reusable KYC through sumsub-node-sdk, unmodified, with the SDK's own request signing:
// create an applicant, add a passport and a selfie, request a check, complete the review (the sandbox-only
// `status/testCompleted`, which the SDK has no method for, sent through the SDK's signed client), mint a share token.
//
//   node sumsub_flow.mjs [BASE_URL APP_TOKEN SECRET_KEY FOR_CLIENT_ID]
//   (or SUMSUB_BASE_URL, SUMSUB_APP_TOKEN, SUMSUB_SECRET_KEY, SUMSUB_FOR_CLIENT_ID)
//
// Prints one JSON object: what each step answered. On a failed step: {"error": {step, status, data}}, exit 1.
import { sdk } from "sumsub-node-sdk";

const [baseURL, appToken, secretKey, forClientId] = [
  process.argv[2] ?? process.env.SUMSUB_BASE_URL,
  process.argv[3] ?? process.env.SUMSUB_APP_TOKEN,
  process.argv[4] ?? process.env.SUMSUB_SECRET_KEY,
  process.argv[5] ?? process.env.SUMSUB_FOR_CLIENT_ID ?? "dakota.xyz_158913",
];
if (!baseURL || !appToken || !secretKey) {
  console.error("usage: node sumsub_flow.mjs BASE_URL APP_TOKEN SECRET_KEY [FOR_CLIENT_ID]");
  process.exit(2);
}

const sumsub = sdk({ baseURL, appToken, secretKey });
const runId = `${Date.now()}-${process.pid}`;

// Image bytes that are not text: a PNG signature, bytes invalid in UTF-8, CR LF and something like a boundary.
const image = (label) =>
  Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0d, 0x0a]),
    Buffer.from(`--${label}-${runId}\r\n`),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  ]);

async function step(name, call) {
  try {
    return await call();
  } catch (err) {
    const error = { step: name, status: err.response?.status ?? null, data: err.response?.data ?? String(err) };
    console.log(JSON.stringify({ error }));
    process.exit(1);
  }
}

const externalUserId = `node-sdk-${runId}`;
const health = await step("getStatus", () => sumsub.getStatus());
const created = await step("createApplicant", () =>
  sumsub.createApplicant(externalUserId, "basic-kyc-level", {
    email: "ada.lovelace@mail.example",
    fixedInfo: {
      firstName: "Ada",
      lastName: "Lovelace",
      dob: "1990-12-10",
      nationality: "GBR",
      addresses: [{ street: "St James's Square", buildingNumber: "12", town: "London", postCode: "SW1Y 4LB", country: "GBR" }],
    },
  }),
);
const applicantId = created.data.id;
const found = await step("getApplicantByExternalUserId", () => sumsub.getApplicantByExternalUserId(externalUserId));
const images = { passport: image("passport"), selfie: image("selfie") };
const passport = await step("addIdDocument PASSPORT", () =>
  sumsub.addIdDocument(
    applicantId,
    { idDocType: "PASSPORT", country: "GBR", firstName: "ADA", lastName: "LOVELACE", number: "107185703", dob: "1990-12-10" },
    images.passport,
  ),
);
const selfie = await step("addIdDocument SELFIE", () =>
  sumsub.addIdDocument(applicantId, { idDocType: "SELFIE", country: "GBR" }, images.selfie),
);
const steps = await step("getRequiredIdDocsStatus", () => sumsub.getRequiredIdDocsStatus(applicantId));
const check = await step("requestApplicantCheck", () => sumsub.requestApplicantCheck(applicantId, "documents uploaded"));
const pending = await step("getReviewStatus (pending)", () => sumsub.getReviewStatus(applicantId));
const reviewed = await step("status/testCompleted", () =>
  sumsub.client.post(
    `/resources/applicants/${applicantId}/status/testCompleted`,
    JSON.stringify({ reviewAnswer: "GREEN", rejectLabels: [] }),
  ),
);
const review = await step("getReviewStatus", () => sumsub.getReviewStatus(applicantId));
const shared = await step("createShareToken", () => sumsub.createShareToken(applicantId, forClientId, 1200));

console.log(
  JSON.stringify({
    health: health.data,
    applicant: { id: applicantId, externalUserId: created.data.externalUserId, foundId: found.data.id },
    documents: [
      { ...passport.data, sent: images.passport.toString("base64") },
      { ...selfie.data, sent: images.selfie.toString("base64") },
    ],
    requiredIdDocsStatus: steps.data,
    check: check.data,
    pendingStatus: pending.data.reviewStatus,
    reviewed: reviewed.data,
    review: review.data,
    shareToken: shared.data,
  }),
);
