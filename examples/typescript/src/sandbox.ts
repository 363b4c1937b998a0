// The sandbox's address and its control plane (`/_sandbox/*`): reset, mint share tokens, move the clock.
// Your production code never calls these; your tests use them to set up what Sumsub and time would.

export const SANDBOX_URL = (process.env.SANDBOX_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
// The sandbox's well-known Dakota admin key (sandbox-only; GET /_sandbox/credentials lists every credential).
export const DAKOTA_ADMIN_KEY = "dk_sandbox_admin_4KLkSmzQbL6Xs8xnUjssdGHX7PfhHpAb";
export const DAKOTA_CLIENT_ID = "dakota.xyz_158913";

async function control<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  // A sandbox reachable beyond loopback requires its control token; sending it is harmless otherwise.
  if (process.env.SANDBOX_CONTROL_TOKEN) headers["X-Sandbox-Token"] = process.env.SANDBOX_CONTROL_TOKEN;
  const resp = await fetch(`${SANDBOX_URL}/_sandbox${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw new Error(`${method} /_sandbox${path} answered ${resp.status}: ${await resp.text()}`);
  return (await resp.json()) as T;
}

export const reset = () => control<unknown>("POST", "/reset", {});

/** A verified donor applicant from a fixture profile, and a share token it minted for Dakota. */
export async function mintShareToken(profile = "gb-passport"): Promise<string> {
  const donor = await control<{ share_token: { token: string } }>("POST", "/donors", {
    profile,
    share_with: DAKOTA_CLIENT_ID,
  });
  return donor.share_token.token;
}

export const advanceClock = (seconds: number) => control<unknown>("POST", "/clock/advance", { seconds });

/** The sandbox's simulated time, in epoch seconds (attestation timestamps must be close to it). */
export const sandboxNow = async () => (await control<{ epoch: number }>("GET", "/clock")).epoch;

/** The Ed25519 key Dakota webhooks from this sandbox are signed with. */
export const webhookPublicKeyPem = async () =>
  (await control<{ public_key_pem: string }>("GET", "/webhooks/public-key")).public_key_pem;
