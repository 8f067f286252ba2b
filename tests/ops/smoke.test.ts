import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiClient } from '../../functions/ai/aiClient';
import { createAiClient } from '../../functions/ai/createAiClient';
import { aiSettings } from '../../functions/ai/settings';
import { OFFLINE_GENERATORS } from '../../functions/app/ai';
import { createAppRoot, type AppRoot } from '../../functions/app/root';
import { createDossiers } from '../../functions/dossiers';
import {
  runSmokeTest,
  SMOKE_OFFLINE_GENERATORS,
  SMOKE_TESTS,
  type SmokePorts,
  type SmokeResult,
  type SmokeTestName,
} from '../../functions/ops/smoke';
import { loadFragments } from '../../functions/platform/settings';
import { CONTAINERS, TABLES } from '../../functions/platform/storageNames';
import { freePort, startAzurite, type AzuriteInstance } from '../../local/azurite';
import { startAiServer, type ChatBody, type LocalAiServer } from '../../local/servers/aiServer';
import { startLinkedInServer, type LinkedInServer } from '../../local/servers/linkedinServer';
import { startLiveKitServer, type LiveKitServer } from '../../local/servers/livekitServer';
import { startSmtpSink, type SmtpSink } from '../../local/servers/smtpSink';

const LIVEKIT = { apiKey: 'smokekey', apiSecret: 'a-smoke-test-secret-of-enough-length-for-hs256' };
const LINKEDIN = { clientId: 'smoke-client', clientSecret: 'smoke-client-secret-value' };

/** A model that does what the prompts ask: repeats the smoke word, sorts a timetable request. */
function modelReply(body: ChatBody): string {
  const user = body.messages?.find((m) => m.role === 'user')?.content;
  const text = typeof user === 'string' ? user : '';
  const word = /<data name="word">\s*(\S+)\s*<\/data>/.exec(text)?.[1];
  if (word) return word;
  if (text.startsWith('Classify this mail'))
    return JSON.stringify({ category: 'horaires', confidence: 0.93, language: 'fr', summary: 'Horaires.' });
  return 'ok';
}

let azurite: AzuriteInstance;
let ai: LocalAiServer;
let linkedin: LinkedInServer;
let livekit: LiveKitServer;
let sink: SmtpSink;
let baseEnv: Record<string, string>;

beforeAll(async () => {
  // Storage of its own: the run is checked to leave every table, container and queue as it found them.
  [azurite, ai, linkedin, livekit, sink] = await Promise.all([
    startAzurite(),
    startAiServer({ reply: modelReply }),
    startLinkedInServer(LINKEDIN),
    startLiveKitServer(LIVEKIT),
    startSmtpSink(),
  ]);
  baseEnv = {
    AzureWebJobsStorage: azurite.connectionString,
    FUNCTIONS_WORKER_RUNTIME: 'node',
    DURABLE_TASK_HUB: 'smoketest',
    AI_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${ai.url}/v1`,
    AI_MAX_RETRIES: '0',
    EMAIL_PROVIDER: 'smtp',
    EMAIL_SENDER: 'accueil@institut-horizon.example',
    SMTP_HOST: sink.host,
    SMTP_PORT: String(sink.port),
    // Configured, so a slip in the smoke test would poll, record or answer; nothing listens there.
    MAILBOX_IMAP_HOST: '127.0.0.1',
    MAILBOX_IMAP_PORT: String(await freePort()),
    MAILBOX_IMAP_TLS: 'false',
    MAILBOX_USER: 'accueil',
    MAILBOX_PASSWORD: 'mailbox-password',
    MAILBOX_ADDRESS: 'accueil@institut-horizon.example',
    LINKEDIN_CLIENT_ID: LINKEDIN.clientId,
    LINKEDIN_CLIENT_SECRET: LINKEDIN.clientSecret,
    LINKEDIN_REDIRECT_URI: 'http://127.0.0.1:7071/api/linkedin/callback',
    LINKEDIN_TOKEN_KEY: randomBytes(32).toString('base64'),
    LINKEDIN_API_URL: linkedin.url,
    LINKEDIN_AUTH_URL: linkedin.url,
    LINKEDIN_TIMEOUT_MS: '2000',
    LIVEKIT_URL: livekit.wsUrl,
    LIVEKIT_API_KEY: LIVEKIT.apiKey,
    LIVEKIT_API_SECRET: LIVEKIT.apiSecret,
  };
}, 120_000);

afterAll(async () => {
  await Promise.all([azurite?.stop(), ai?.close(), linkedin?.stop(), livekit?.stop(), sink?.close()]);
});

/** The offline AI client with the smoke generator (the root adds it to the suite's offline generators). */
function offlineAi(): AiClient {
  return createAiClient(loadFragments({ AI_PROVIDER: 'offline' }, { ai: aiSettings }).ai, {
    storage: undefined,
    credential: () => {
      throw new Error('The offline provider needs no credential.');
    },
    offlineGenerators: { ...OFFLINE_GENERATORS, ...SMOKE_OFFLINE_GENERATORS },
  });
}

/** The ports as the root builds them: its capabilities, and dossiers on the offline AI. */
function portsOf(root: AppRoot, overrides: Partial<SmokePorts> = {}): SmokePorts {
  return {
    ai: root.ai,
    offlineDossiers: createDossiers({ settings: root.settings.dossiers, ai: offlineAi() }),
    mailboxAddress: root.settings.mailbox.address,
    linkedin: root.linkedin,
    calls: root.calls,
    livekit: root.settings.calls.livekit,
    agentName: root.settings.calls.agentName,
    redact: root.redact,
    ...overrides,
  };
}

const appRoot = (env: Record<string, string> = {}) => createAppRoot({ ...baseEnv, ...env });

/** A clock that moves 250 ms each time it is read: a test reads it when it starts and when it ends. */
function counterClock(): () => number {
  let t = 1_790_000_000_000;
  return () => (t += 250);
}

async function runAll(ports: SmokePorts): Promise<Record<SmokeTestName, SmokeResult>> {
  const now = counterClock();
  const results: Partial<Record<SmokeTestName, SmokeResult>> = {};
  for (const name of SMOKE_TESTS) results[name] = await runSmokeTest(name, ports, now);
  return results as Record<SmokeTestName, SmokeResult>;
}

const outcomes = (results: Record<SmokeTestName, SmokeResult>) =>
  Object.fromEntries(Object.values(results).map((r) => [r.test, r.outcome]));

/** The member connects through LinkedIn's pages (the local server approves at once). */
async function connectLinkedIn(root: AppRoot): Promise<void> {
  const { url } = await root.linkedin.connect();
  const authorize = await fetch(url, { redirect: 'manual' });
  const back = new URL(authorize.headers.get('location') ?? '');
  const done = await root.linkedin.callback({
    code: back.searchParams.get('code') ?? '',
    state: back.searchParams.get('state') ?? '',
  });
  expect(done.status).toBe(200);
}

async function disconnectLinkedIn(root: AppRoot): Promise<void> {
  for (const account of await root.linkedin.listAccounts()) await root.linkedin.disconnect(account.id);
}

/** Rows per table, blobs per container and messages per queue, empty ones left out. */
async function storageCounts(root: AppRoot): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const table of root.storage.tables.listTables()) {
    let rows = 0;
    for await (const _ of root.storage.table(table.name ?? '').listEntities()) rows++;
    counts[`table:${table.name}`] = rows;
  }
  for await (const container of root.storage.blobs.listContainers()) {
    let blobs = 0;
    for await (const _ of root.storage.blobs.getContainerClient(container.name).listBlobsFlat()) blobs++;
    counts[`container:${container.name}`] = blobs;
  }
  for await (const queue of root.storage.queues.listQueues()) {
    const properties = await root.storage.queues.getQueueClient(queue.name).getProperties();
    counts[`queue:${queue.name}`] = properties.approximateMessagesCount ?? 0;
  }
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

/** What the AI layer keeps of every call: its usage accounting and response cache. */
const AI_RECORDS = [`table:${TABLES.aiCalls}`, `table:${TABLES.aiTotals}`, `container:${CONTAINERS.aiCache}`];
const withoutAiRecords = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([name]) => !AI_RECORDS.includes(name)));

describe('the smoke tests on a configured app', () => {
  it('all pass through the real capabilities, each timed, and leave nothing a user would see', async () => {
    const root = appRoot();
    await connectLinkedIn(root);
    const before = await storageCounts(root);
    const aiRequests = ai.counters.requests;
    const livekitRequests = livekit.requests.length;

    const results = await runAll(portsOf(root));

    expect(outcomes(results)).toEqual({
      ai: 'pass',
      dossiers: 'pass',
      mailbox: 'pass',
      linkedin: 'pass',
      'calls-token': 'pass',
      'webhook-signature': 'pass',
    });
    for (const result of Object.values(results)) expect(result.durationMs).toBe(250);
    expect(results.ai.detail).toMatch(/^openai \(.+\) repeated the word/);
    expect(results.dossiers.detail).toContain('written offline');
    expect(results.mailbox.detail).toContain('classified horaires (fr');
    expect(results.linkedin.detail).toContain(linkedin.members[0]?.name);
    // Two model calls (the ping, the classification); the dossier was written offline.
    expect(ai.counters.requests - aiRequests).toBe(2);
    // Run again, the same classification comes from the response cache; the ping never does.
    const again = await runAll(portsOf(root));
    expect(outcomes(again)).toEqual(outcomes(results));
    expect(again.mailbox.detail).toContain('by openai (from the response cache)');
    expect(ai.counters.requests - aiRequests).toBe(3);

    // Nothing sent, posted, dialled or stored: no mail, no LinkedIn post, no LiveKit room or dispatch,
    // no mailbox ledger row, no call record, no dossier blob; only the AI layer's usage accounting.
    expect(sink.messages).toHaveLength(0);
    expect(linkedin.posts).toHaveLength(0);
    expect(livekit.rooms).toHaveLength(0);
    expect(livekit.dispatches).toHaveLength(0);
    // Only reads: the token test asks LiveKit to accept the key, once per run.
    expect(livekit.requests.slice(livekitRequests).map((r) => `${r.service}/${r.method}`)).toEqual([
      'RoomService/ListRooms',
      'RoomService/ListRooms',
    ]);
    const after = await storageCounts(root);
    expect(withoutAiRecords(after)).toEqual(withoutAiRecords(before));
    expect(after[`table:${TABLES.mailboxLedger}`]).toBeUndefined();
    expect(after[`table:${TABLES.calls}`]).toBeUndefined();
  });

  it('run on the offline AI: the round trip and the classification answer with no model at all', async () => {
    const offline = offlineAi();
    const requests = ai.counters.requests;
    const now = counterClock();
    const ports = portsOf(appRoot(), { ai: offline });

    const [ping, mailbox] = [await runSmokeTest('ai', ports, now), await runSmokeTest('mailbox', ports, now)];

    expect(ping).toMatchObject({ outcome: 'pass', durationMs: 250 });
    expect(ping.detail).toMatch(/^offline \(offline\) repeated the word .* \$0\.000000\.$/);
    expect(mailbox.outcome).toBe('pass');
    expect(ai.counters.requests).toBe(requests);
  });

  it('LinkedIn: skipped with no account, passes once one connects, fails once the member revokes it', async () => {
    const root = appRoot();
    const ports = portsOf(root);
    const now = counterClock();
    await disconnectLinkedIn(root);

    expect(await runSmokeTest('linkedin', ports, now)).toEqual({
      test: 'linkedin',
      outcome: 'skipped',
      durationMs: 250,
      detail: 'No account connected.',
    });

    await connectLinkedIn(root);
    expect((await runSmokeTest('linkedin', ports, now)).outcome).toBe('pass');

    const token = linkedin.tokens.at(-1)?.accessToken ?? '';
    linkedin.revoke(token);
    const revoked = await runSmokeTest('linkedin', ports, now);
    expect(revoked.outcome).toBe('fail');
    expect(revoked.detail).toMatch(/failed its connection test: .*revoked/);
    expect(revoked.detail).not.toContain(token);
  });

  it('LinkedIn not configured: skipped', async () => {
    const result = await runSmokeTest(
      'linkedin',
      portsOf(appRoot({ LINKEDIN_CLIENT_ID: '' })),
      counterClock(),
    );
    expect(result).toMatchObject({ outcome: 'skipped', detail: 'LinkedIn is not configured.' });
  });
});

describe('the smoke tests when a dependency fails', () => {
  it('a wrong LiveKit secret fails the token test with the reason, never the secret; the others pass', async () => {
    const wrongSecret = 'not-the-secret-livekit-knows-but-long-enough';
    const root = appRoot({ LIVEKIT_API_SECRET: wrongSecret });
    await connectLinkedIn(root);

    const results = await runAll(portsOf(root));

    expect(results['calls-token'].outcome).toBe('fail');
    expect(results['calls-token'].detail).toContain(
      `LiveKit at ${root.settings.calls.livekit?.apiUrl} refused the API key and secret (401`,
    );
    // The webhook check signs and verifies with the app's own secret: it still holds together.
    expect(outcomes(results)).toMatchObject({
      ai: 'pass',
      dossiers: 'pass',
      mailbox: 'pass',
      linkedin: 'pass',
      'webhook-signature': 'pass',
    });
    for (const result of Object.values(results)) expect(result.detail).not.toContain(wrongSecret);
  });

  it('LiveKit down fails the token test saying it could not be reached; the others pass', async () => {
    const down = `ws://127.0.0.1:${await freePort()}`;
    const root = appRoot({ LIVEKIT_URL: down });
    await connectLinkedIn(root);

    const results = await runAll(portsOf(root));

    expect(results['calls-token'].outcome).toBe('fail');
    expect(results['calls-token'].detail).toMatch(/could not be reached: .*ECONNREFUSED/);
    expect(results['calls-token'].detail).not.toContain(LIVEKIT.apiSecret);
    expect(outcomes(results)).toMatchObject({
      ai: 'pass',
      dossiers: 'pass',
      mailbox: 'pass',
      linkedin: 'pass',
      'webhook-signature': 'pass',
    });
  });

  it('calls not configured: both calls tests are skipped', async () => {
    const root = appRoot({ LIVEKIT_URL: '', LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '' });
    const results = await runAll(portsOf(root));
    for (const name of ['calls-token', 'webhook-signature'] as const) {
      expect(results[name].outcome).toBe('skipped');
      expect(results[name].detail).toContain('LIVEKIT_URL');
    }
  });

  it('a model that never answers fails the AI test at the time bound, and the run goes on', async () => {
    const hung = await startAiServer({ fault: () => 'hang' });
    try {
      const root = appRoot({ OPENAI_BASE_URL: `${hung.url}/v1`, AI_TIMEOUT_MS: '60000' });
      const now = counterClock();
      const ports = portsOf(root, { timeoutMs: 300 });

      expect(await runSmokeTest('ai', ports, now)).toEqual({
        test: 'ai',
        outcome: 'fail',
        durationMs: 250,
        detail: 'no result within 300 ms',
      });
      expect((await runSmokeTest('dossiers', ports, now)).outcome).toBe('pass');
    } finally {
      await hung.close();
    }
  });

  it('a model that answers something else fails the round trip and the classification, with what it said', async () => {
    const wrong = await startAiServer({ reply: () => 'Bonjour ! Comment puis-je vous aider ?' });
    try {
      // Another model: the response cache holds nothing of it.
      const ports = portsOf(appRoot({ OPENAI_BASE_URL: `${wrong.url}/v1`, OPENAI_MODEL: 'chatty-model' }));
      const now = counterClock();
      const ping = await runSmokeTest('ai', ports, now);
      expect(ping.outcome).toBe('fail');
      expect(ping.detail).toContain('answered without the word it was asked to repeat: "Bonjour !');
      const mailbox = await runSmokeTest('mailbox', ports, now);
      expect(mailbox.outcome).toBe('fail');
      expect(mailbox.detail).toContain('mailbox-classify');
    } finally {
      await wrong.close();
    }
  });
});
