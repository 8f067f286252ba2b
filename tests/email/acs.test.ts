import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it } from 'vitest';
import { SENDING_GRACE_MS } from '../../functions/email';
import { ACS_SCOPE } from '../../functions/email/settings';
import { ConflictError, UnavailableError } from '../../functions/platform/errors';
import {
  startAcsEmailServer,
  type AcsEmailServer,
  type AcsEmailServerOptions,
} from '../../local/servers/acsEmailServer';
import {
  closeEmails,
  manualClock,
  reply,
  testEmail,
  testSendStore,
  trustedLocalCertificate,
  type TestEmailOptions,
} from './support';

const servers: AcsEmailServer[] = [];
afterEach(async () => {
  await closeEmails();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function acsServer(options: AcsEmailServerOptions = {}): Promise<AcsEmailServer> {
  const server = await startAcsEmailServer(options);
  servers.push(server);
  return server;
}

const SENDER = 'DoNotReply@ecole.azurecomm.net';

function acsEmail(
  server: AcsEmailServer,
  options: TestEmailOptions = {},
  connectionString = server.connectionString,
) {
  return testEmail({ ACS_EMAIL_CONNECTION_STRING: connectionString, EMAIL_SENDER: SENDER }, options);
}

const sendRequests = (server: AcsEmailServer) =>
  server.requests.filter((r) => r.method === 'POST' && r.path === '/emails:send');

describe('outbound email through Azure Communication Services (the SDK against the local ACS server)', () => {
  it('sends one signed request with the sender, the one recipient and the threading headers', async () => {
    const server = await acsServer();
    const email = acsEmail(server);
    expect(email.provider).toBe('acs');
    const message = reply({ html: '<p>Bonjour</p>' });
    const record = await email.send(message);

    expect(record).toMatchObject({ key: message.key, kind: 'mailbox-reply', to: message.to, status: 'sent' });
    expect(record.providerMessageId).toBe(record.operationId);
    expect(sendRequests(server)).toEqual([
      expect.objectContaining({ status: 202, auth: 'hmac', operationId: record.operationId }),
    ]);
    expect(server.counters.unauthorized).toBe(0);
    const [sent] = server.sent;
    expect(sent?.operationId).toBe(record.operationId);
    expect(sent?.message).toMatchObject({
      senderAddress: SENDER,
      recipients: { to: [{ address: message.to }] },
      content: { subject: message.subject, plainText: message.text, html: '<p>Bonjour</p>' },
      headers: {
        'Message-ID': `<${message.messageId}>`,
        'In-Reply-To': '<question-1@parents.example.net>',
        References: '<thread-0@parents.example.net> <question-1@parents.example.net>',
        'Auto-Submitted': 'auto-replied',
        'X-Auto-Response-Suppress': 'All',
      },
    });
    expect(await email.getSend(message.key)).toEqual(record);
  });

  it('signs in with the app identity for the Communication Services scope when given an endpoint', async () => {
    const server = await acsServer({
      acceptToken: 'token-of-the-managed-identity',
      tls: trustedLocalCertificate(),
    });
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
        scopes.push(...[scope].flat());
        return Promise.resolve({
          token: 'token-of-the-managed-identity',
          expiresOnTimestamp: Date.now() + 3_600_000,
        });
      },
    };
    const email = testEmail(
      { ACS_EMAIL_ENDPOINT: server.url, EMAIL_SENDER: SENDER },
      { credential: () => credential },
    );
    const record = await email.send(reply());
    expect(server.url).toMatch(/^https:/);
    expect(record.status).toBe('sent');
    expect(scopes).toContain(ACS_SCOPE);
    expect(sendRequests(server).map((r) => r.auth)).toEqual(['bearer']);
  });

  it('records a send refused by ACS (a key ACS does not know) as failed, without the key in the error', async () => {
    const server = await acsServer();
    const wrongKey = Buffer.from('not the key of this resource, 32b').toString('base64');
    const email = acsEmail(server, {}, `endpoint=${server.url}/;accesskey=${wrongKey}`);
    const record = await email.send(reply());
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/ACS answered 401/);
    expect(JSON.stringify(record)).not.toContain(wrongKey);
    expect(server.counters.unauthorized).toBe(1);
    expect(server.sent).toEqual([]);
  });

  it('sends a key once: the same key again, or twice at once, answers the record and sends nothing', async () => {
    const server = await acsServer();
    const email = acsEmail(server);
    const message = reply();
    const first = await email.send(message);
    expect(await email.send(message)).toEqual(first);
    expect(await email.send({ ...message, subject: 'Re: changed' })).toEqual(first);

    const together = reply();
    const [a, b] = await Promise.all([email.send(together), email.send(together)]);
    expect(a).toEqual(b);
    expect(server.sent.map((s) => s.operationId)).toEqual([first.operationId, a.operationId]);
  });

  it('sends a key once when two app instances send it at the same moment', async () => {
    const server = await acsServer();
    const message = reply();
    const results = await Promise.allSettled([
      acsEmail(server).send(message),
      acsEmail(server).send(message),
    ]);
    expect(server.sent).toHaveLength(1);
    const sent = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.status);
    const refused = results.flatMap((r): unknown[] => (r.status === 'rejected' ? [r.reason] : []));
    expect(sent).toContain('sent');
    // The instance that lost the race either saw ACS had the operation, or was told to ask later.
    for (const reason of refused) expect(reason).toBeInstanceOf(ConflictError);
    expect((await acsEmail(server).getSend(message.key))?.status).toBe('sent');
  });

  it('after a send whose answer was lost, the retry finds the operation at ACS and sends nothing new', async () => {
    const server = await acsServer();
    const email = acsEmail(server);
    const message = reply();
    server.dropNext(1);
    await expect(email.send(message)).rejects.toThrow(UnavailableError);
    expect((await email.getSend(message.key))?.status).toBe('sending');
    expect(server.sent).toHaveLength(1);

    const record = await acsEmail(server).send(message);
    expect(record.status).toBe('sent');
    expect(record.operationId).toBe(server.sent[0]?.operationId);
    expect(server.sent).toHaveLength(1);
    expect(server.counters.polls).toBeGreaterThan(0);
  });

  it('after a crash before the request left, waits out the grace period, then sends under the same operation id', async () => {
    const server = await acsServer();
    const clock = manualClock();
    const message = reply();
    const at = clock.now().toISOString();
    const operationId = '3f1c7a52-1111-4a7e-9c55-0d6c2b7d9e01';
    await testSendStore().insert({
      key: message.key,
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      provider: 'acs',
      operationId,
      status: 'sending',
      createdAt: at,
      updatedAt: at,
    });
    const email = acsEmail(server, { clock: clock.now });
    // Within the grace period it may be another instance sending right now.
    await expect(email.send(message)).rejects.toThrow(ConflictError);
    expect(server.sent).toEqual([]);

    clock.advance(SENDING_GRACE_MS + 1000);
    const record = await email.send(message);
    expect(record).toMatchObject({ status: 'sent', operationId });
    expect(server.sent.map((s) => s.operationId)).toEqual([operationId]);
  });

  it('records a provider failure as failed; a later send of the key tries again and sends once', async () => {
    const server = await acsServer();
    const email = acsEmail(server);
    const message = reply();
    server.failNext(1, 503);
    const failed = await email.send(message);
    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/ACS answered 503/) as string,
    });
    expect(server.sent).toEqual([]);

    const retried = await email.send(message);
    expect(retried.status).toBe('sent');
    expect(retried.operationId).not.toBe(failed.operationId);
    expect(retried.createdAt).toBe(failed.createdAt);
    expect(server.sent.map((s) => s.operationId)).toEqual([retried.operationId]);
    expect(await email.send(message)).toEqual(retried);
    expect(sendRequests(server)).toHaveLength(2);
  });

  it('records an operation ACS ends as Failed as failed, with its error code', async () => {
    const server = await acsServer();
    const email = acsEmail(server);
    server.failOperations(1);
    const record = await email.send(reply());
    expect(record).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/EmailDroppedAllRecipientsSuppressed/) as string,
    });
  });

  it('records an unreachable ACS as failed: the request never left, so a later send may try again', async () => {
    const server = await acsServer();
    await server.close();
    const record = await acsEmail(server).send(reply());
    expect(record).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/ACS unreachable/) as string,
    });
    expect(server.sent).toEqual([]);
  });
});
