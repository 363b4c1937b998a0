// Receiving Dakota webhooks: a local HTTP receiver, and the Ed25519 signature check your handler must make.
import { createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * X-Webhook-Signature is the base64 Ed25519 signature of the X-Webhook-Timestamp header's value followed by the raw
 * request body (no separator), made with the key `GET /_sandbox/webhooks/public-key` publishes.
 */
export function verifyDakotaSignature(publicKeyPem: string, timestamp: string, rawBody: Buffer, signature: string) {
  const message = Buffer.concat([Buffer.from(timestamp, "utf8"), rawBody]);
  return verify(null, message, createPublicKey(publicKeyPem), Buffer.from(signature, "base64"));
}

export interface Delivery {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

/** An HTTP server that answers 200 to every POST and keeps what it received. */
export async function startReceiver(host = process.env.RECEIVER_HOST ?? "127.0.0.1") {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, rawBody: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  // The name the sandbox reaches this machine by (another one when the sandbox runs in a container).
  const publicHost = process.env.RECEIVER_PUBLIC_HOST ?? host;
  return {
    url: `http://${publicHost}:${port}/hooks`,
    deliveries,
    /** The first delivery of `eventType`, waiting up to `timeoutMs` for it. */
    async next(eventType: string, timeoutMs = 10_000): Promise<Delivery> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = deliveries.find((d) => d.headers["x-dakota-event-type"] === eventType);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${eventType} webhook within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
