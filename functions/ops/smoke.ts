import { createHash, randomBytes } from 'node:crypto';
import { AccessToken, RoomServiceClient, TokenVerifier, TwirpError } from 'livekit-server-sdk';
import { z } from 'zod';
import type { AiClient } from '../ai/aiClient';
import type { OfflineGenerator } from '../ai/providers/offlineProvider';
import type { Calls } from '../calls';
import { liveKitAdapter } from '../calls/livekit';
import type { LiveKitTarget } from '../calls/settings';
import type { Dossiers } from '../dossiers';
import type { DossierOutputStore } from '../dossiers/outputs';
import { planBatch } from '../dossiers/plan';
import type { LinkedIn } from '../linkedin';
import { classifyVariables, MAILBOX_CLASSIFY_TASK, parseClassification } from '../mailbox/classification';
import { parseMail } from '../mailbox/message';
import { ourIdentity } from '../mailbox/process';
import { whyNotAnswer } from '../mailbox/rules';
import { errorSummary, UnauthenticatedError } from '../platform/errors';

/**
 * The `smoke` workflow's tests: each capability's dry run through its own code, with nothing a user
 * would see (no mail sent, no post, no call record, no dossier in the app's containers).
 */
export const SMOKE_TESTS = [
  'ai',
  'dossiers',
  'mailbox',
  'linkedin',
  'calls-token',
  'webhook-signature',
] as const;
export type SmokeTestName = (typeof SMOKE_TESTS)[number];

export const smokeResultSchema = z.object({
  test: z.enum(SMOKE_TESTS),
  outcome: z.enum(['pass', 'fail', 'skipped']),
  durationMs: z.number(),
  detail: z.string(),
});
export type SmokeResult = z.infer<typeof smokeResultSchema>;

/** What the tests need of the app, built by the composition root from the capabilities and settings. */
export interface SmokePorts {
  /** The suite's AI client: the app's provider, fallbacks and usage accounting. */
  ai: Pick<AiClient, 'complete'>;
  /** Dossiers on an offline AI client, so the smoke dossier costs no tokens. */
  offlineDossiers: Pick<Dossiers, 'generatePair' | 'templateHash' | 'defaults'>;
  /** MAILBOX_ADDRESS; empty when the responder is off (the classification runs all the same). */
  mailboxAddress: string;
  linkedin: Pick<LinkedIn, 'enabled' | 'listAccounts' | 'testAccount'>;
  calls: Pick<Calls, 'receiveWebhook'>;
  /** LiveKit as the calls settings give it; undefined when calls are not configured. */
  livekit: LiveKitTarget | undefined;
  /** CALLS_AGENT_NAME: the agent a caller token dispatches. */
  agentName: string;
  /** Removes secrets from a detail (the app's redactor). */
  redact: (text: string) => string;
  /** The bound of each test; default 30 s. */
  timeoutMs?: number;
}

type Verdict = Pick<SmokeResult, 'outcome' | 'detail'>;
type SmokeTest = (ports: SmokePorts, startedAt: number) => Promise<Verdict>;

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_DETAIL_CHARS = 500;

/** Runs one test within its time bound. Never throws: any failure is a `fail` with its (redacted) reason. */
export async function runSmokeTest(
  name: SmokeTestName,
  ports: SmokePorts,
  now: () => number,
): Promise<SmokeResult> {
  const startedAt = now();
  const timeoutMs = ports.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms`)), timeoutMs);
  });
  let verdict: Verdict;
  try {
    verdict = await Promise.race([TESTS[name](ports, startedAt), timeout]);
  } catch (error) {
    verdict = { outcome: 'fail', detail: errorSummary(error) };
  } finally {
    clearTimeout(timer);
  }
  return {
    test: name,
    outcome: verdict.outcome,
    durationMs: now() - startedAt,
    detail: clip(ports.redact(verdict.detail), MAX_DETAIL_CHARS),
  };
}

const pass = (detail: string): Verdict => ({ outcome: 'pass', detail });
const fail = (detail: string): Verdict => ({ outcome: 'fail', detail });
const skipped = (detail: string): Verdict => ({ outcome: 'skipped', detail });

// --- ai ------------------------------------------------------------------------------------------

/** The AI task of the round trip: repeat one word (prompts/smoke-ping.*), a few tokens each way. */
const SMOKE_PING_TASK = 'smoke-ping';
const pingVariablesSchema = z.object({ word: z.string() });

/** The offline answer: the word itself. The root adds it to the suite's offline generators. */
export const SMOKE_OFFLINE_GENERATORS: Readonly<Record<string, OfflineGenerator>> = {
  [SMOKE_PING_TASK]: (variables) => pingVariablesSchema.parse(variables).word,
};

const aiTest: SmokeTest = async ({ ai }) => {
  // A new word each run: a cached answer would prove nothing about the provider.
  const word = `smoke${randomBytes(4).toString('hex')}`;
  const result = await ai.complete({ task: SMOKE_PING_TASK, variables: { word } });
  const who = `${result.provider} (${result.model})`;
  if (
    !result.text
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .includes(word)
  )
    return fail(`${who} answered without the word it was asked to repeat: "${clip(result.text, 80)}".`);
  const { promptTokens, completionTokens, costUsd } = result.usage;
  return pass(
    `${who} repeated the word after ${result.attempts} attempt(s): ${promptTokens} + ${completionTokens} tokens, $${costUsd.toFixed(6)}.`,
  );
};

// --- dossiers ------------------------------------------------------------------------------------

const SMOKE_CONSULTANTS = [
  "Matricule;Prénom;Nom;Titre;Années d'expérience;Compétences;Expériences;Langues",
  'SMOKE-C1;Camille;Test;Data engineer;7;"Python; SQL; Azure Data Factory; Spark";"2022-2025 : migration d\'un entrepôt vers un lakehouse (pipelines Azure Data Factory, Spark)";Français, anglais',
].join('\r\n');
const SMOKE_JOBS = [
  'Référence;Intitulé du poste;Client;Description du poste;Compétences requises',
  'SMOKE-J1;Data engineer Azure;Client test;Industrialiser les pipelines d\'ingestion;"Python; Spark; Azure Data Factory"',
].join('\r\n');

/** Outputs kept in memory: the smoke dossier reaches no container. */
class MemoryDossierOutputs implements DossierOutputStore {
  readonly files = new Map<string, Buffer>();

  existingHashes(): Promise<Map<string, string>> {
    return Promise.resolve(new Map<string, string>());
  }

  dossierFiles(jobId: string, consultantId: string): string[] {
    return [`${jobId}/${consultantId}.md`, `${jobId}/${consultantId}.docx`];
  }

  writeDossier(jobId: string, consultantId: string, markdown: string, docx: Buffer): Promise<string[]> {
    const [md, word] = this.dossierFiles(jobId, consultantId) as [string, string];
    this.files.set(md, Buffer.from(markdown));
    this.files.set(word, docx);
    return Promise.resolve([md, word]);
  }

  writeReport(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

const dossiersTest: SmokeTest = async ({ offlineDossiers: dossiers }) => {
  const plan = planBatch({
    batchId: 'smoke',
    consultants: { name: 'consultants.csv', bytes: Buffer.from(SMOKE_CONSULTANTS) },
    jobs: { name: 'jobs.csv', bytes: Buffer.from(SMOKE_JOBS) },
    // Every pair selected, whatever the app's top K and minimum score.
    options: { language: dossiers.defaults.language, regenerateUngrounded: true },
    templateHash: dossiers.templateHash(),
    existingHashes: new Map(),
  });
  const pair = plan.pairs[plan.selected[0] ?? -1];
  if (!pair || plan.pairs.length !== 1)
    return fail(`The sample files planned ${plan.pairs.length} pair(s), not 1.`);
  const outputs = new MemoryDossierOutputs();
  const outcome = await dossiers.generatePair(plan, pair, outputs);
  const [mdName, docxName] = outputs.dossierFiles(pair.jobId, pair.consultantId) as [string, string];
  const markdown = outputs.files.get(mdName)?.toString('utf8') ?? '';
  const docx = outputs.files.get(docxName);
  if (outcome.status !== 'generated') return fail(`The pair was ${outcome.status}, not generated.`);
  if (!markdown.includes('Camille')) return fail('The dossier does not name the consultant.');
  // A DOCX is a zip: "PK" first.
  if (docx?.subarray(0, 2).toString('latin1') !== 'PK') return fail('The DOCX rendering is not a DOCX file.');
  if (outcome.unsupportedSkills.length > 0)
    return fail(`The dossier names skills the consultant lacks: ${outcome.unsupportedSkills.join(', ')}.`);
  return pass(
    `One pair (score ${pair.score}) written offline: ${markdown.length} characters of Markdown, a ${docx.length}-byte DOCX, kept in memory.`,
  );
};

// --- mailbox -------------------------------------------------------------------------------------

/** A French timetable request: a real mailbox would answer it from the `horaires` documents. */
const SMOKE_MAIL = (to: string) =>
  Buffer.from(
    [
      'Return-Path: <lea.martin@example.com>',
      'From: =?UTF-8?Q?L=C3=A9a_Martin?= <lea.martin@example.com>',
      `To: <${to}>`,
      "Subject: Horaires d'ouverture de l'accueil",
      'Date: Mon, 16 Nov 2026 09:12:00 +0100',
      'Message-ID: <smoke-test@mail.example.com>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Bonjour,',
      '',
      "Je dois passer à l'accueil pour déposer des documents. Quels sont vos horaires d'ouverture le samedi ?",
      '',
      "Merci d'avance,",
      'Léa Martin',
      '',
    ].join('\r\n'),
  );

const mailboxTest: SmokeTest = async ({ ai, mailboxAddress }) => {
  const address = mailboxAddress || 'accueil@ecole.example';
  const mail = await parseMail(SMOKE_MAIL(address));
  const skip = whyNotAnswer(mail, ourIdentity(address));
  if (skip) return fail(`The sample mail would not be answered (${skip}).`);
  const answer = await ai.complete({ task: MAILBOX_CLASSIFY_TASK, variables: classifyVariables(mail) });
  const classified = parseClassification(answer.text);
  const found = `${classified.category} (${classified.language}, confidence ${classified.confidence})`;
  if (classified.category !== 'horaires' || classified.language !== 'fr')
    return fail(`The French timetable request was classified ${found}, not horaires (fr).`);
  // A cached answer is the same model's answer to the same prompt: proof enough, at no cost.
  const by = `${answer.provider}${answer.cached ? ' (from the response cache)' : ''}`;
  return pass(`The French timetable request was classified ${found} by ${by}; nothing sent or recorded.`);
};

// --- linkedin ------------------------------------------------------------------------------------

const linkedinTest: SmokeTest = async ({ linkedin }) => {
  if (!linkedin.enabled) return skipped('LinkedIn is not configured.');
  const accounts = await linkedin.listAccounts();
  if (accounts.length === 0) return skipped('No account connected.');
  const account = accounts.find((a) => a.status !== 'reconnect-required');
  if (!account) return fail(`Every connected account (${accounts.length}) must be reconnected.`);
  const tested = await linkedin.testAccount(account.id);
  if (!tested.ok) return fail(`The account ${account.name} failed its connection test: ${tested.error}.`);
  return pass(
    `The account ${account.name} (${account.status}, expires ${account.expiresAt.slice(0, 10)}) answered introspection and userinfo.`,
  );
};

// --- calls ---------------------------------------------------------------------------------------

const CALLS_OFF = 'Calls are not configured (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET).';
const TOKEN_TTL_SECONDS = 60;

/** The claims a caller token must carry: one room, talk and listen, the agent dispatched. */
const callerClaimsSchema = z.object({
  sub: z.string(),
  nbf: z.number(),
  exp: z.number(),
  video: z.object({
    roomJoin: z.literal(true),
    room: z.string(),
    canPublish: z.literal(true),
    canSubscribe: z.literal(true),
    roomAdmin: z.never({ message: 'a caller must not administer rooms' }).optional(),
    roomList: z.never({ message: 'a caller must not list rooms' }).optional(),
    roomRecord: z.never({ message: 'a caller must not record' }).optional(),
  }),
  roomConfig: z.object({ agents: z.array(z.object({ agentName: z.string() })).length(1) }),
});

const callsTokenTest: SmokeTest = async ({ livekit, agentName }) => {
  if (!livekit) return skipped(CALLS_OFF);
  // A room no call uses and nobody joins: minting creates nothing, on LiveKit or in the call records.
  const room = `smoke-${randomBytes(6).toString('hex')}`;
  const identity = `smoke-${randomBytes(4).toString('hex')}`;
  const token = await liveKitAdapter(livekit).mintCallerToken({
    room,
    identity,
    name: undefined,
    metadata: undefined,
    ttlSeconds: TOKEN_TTL_SECONDS,
    agentName,
    dispatchMetadata: JSON.stringify({ smoke: true }),
  });
  const parsed = callerClaimsSchema.safeParse(
    await new TokenVerifier(livekit.apiKey, livekit.apiSecret).verify(token),
  );
  if (!parsed.success)
    return fail(
      `The caller token's claims are wrong: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}.`,
    );
  const claims = parsed.data;
  const wrong = [
    claims.sub !== identity && 'identity',
    claims.video.room !== room && 'room',
    claims.exp - claims.nbf !== TOKEN_TTL_SECONDS && 'lifetime',
    claims.roomConfig.agents[0]?.agentName !== agentName && 'agent',
  ].filter(Boolean);
  if (wrong.length > 0) return fail(`The caller token carries the wrong ${wrong.join(', ')}.`);
  // The same key and secret sign the server API calls: LiveKit must accept them (a read, no room made).
  try {
    await new RoomServiceClient(livekit.apiUrl, livekit.apiKey, livekit.apiSecret).listRooms([room]);
  } catch (error) {
    if (error instanceof TwirpError && error.status === 401)
      return fail(`LiveKit at ${livekit.apiUrl} refused the API key and secret (401 ${error.message}).`);
    return fail(`LiveKit at ${livekit.apiUrl} could not be reached: ${errorSummary(error)}.`);
  }
  return pass(
    `A caller token for one room (join, publish, subscribe; agent ${agentName}) verified, and LiveKit accepted the key.`,
  );
};

/** The `Authorization` LiveKit sends with a webhook: a JWT whose `sha256` claim is the body's hash. */
async function signWebhook(body: string, { apiKey, apiSecret }: LiveKitTarget): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

const webhookTest: SmokeTest = async ({ livekit, calls }, startedAt) => {
  if (!livekit) return skipped(CALLS_OFF);
  const seconds = Math.floor(startedAt / 1000);
  const room = `smoke-${randomBytes(6).toString('hex')}`;
  const event = {
    event: 'room_started',
    id: `EV_smoke${randomBytes(6).toString('hex')}`,
    createdAt: String(seconds),
    room: { sid: `RM_smoke${randomBytes(6).toString('hex')}`, name: room, creationTime: String(seconds) },
  };
  const body = JSON.stringify(event);
  const authorization = await signWebhook(body, livekit);
  // Not a call room: verified, then left alone (no call record is touched).
  const received = await calls.receiveWebhook(body, authorization);
  if (received.event !== 'room_started' || received.applied)
    return fail(
      `The signed event was read as ${received.event ?? 'nothing'} (applied: ${received.applied}).`,
    );
  const altered = body.replace('room_started', 'room_finished');
  try {
    await calls.receiveWebhook(altered, authorization);
    return fail('A body altered after signing was accepted.');
  } catch (error) {
    if (!(error instanceof UnauthenticatedError)) throw error;
  }
  return pass('A signed room_started event verified; the same signature on an altered body was refused.');
};

const TESTS: Record<SmokeTestName, SmokeTest> = {
  ai: aiTest,
  dossiers: dossiersTest,
  mailbox: mailboxTest,
  linkedin: linkedinTest,
  'calls-token': callsTokenTest,
  'webhook-signature': webhookTest,
};

// --- helpers -------------------------------------------------------------------------------------

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
