import type { AiClient } from '../ai/aiClient';
import { createCalls, type Calls } from '../calls';
import {
  batchStatusSchema,
  createDossiers,
  DOSSIER_DURABLE,
  DOSSIER_RUN_PREFIX,
  type Dossiers,
} from '../dossiers';
import { createEmail, type Email } from '../email';
import { createLinkedIn, LINKEDIN_DURABLE, LINKEDIN_POST_RUN_PREFIX, type LinkedIn } from '../linkedin';
import { createMailbox, type Mailbox } from '../mailbox';
import { createOps, type Ops, type OpsPorts } from '../ops';
import { httpProbe } from '../ops/health';
import { appCredential } from '../platform/identity';
import { createRedactor, type Redactor } from '../platform/redact';
import { createStorageClients, type StorageClients } from '../platform/storage';
import { APP_VERSION } from '../platform/version';
import { createSuiteAi } from './ai';
import { loadAppSettings, type AppSettings } from './settings';

/** Everything the triggers hand to the capabilities. */
export interface AppRoot {
  readonly settings: AppSettings;
  readonly redact: Redactor;
  readonly storage: StorageClients;
  readonly ai: AiClient;
  readonly dossiers: Dossiers;
  readonly email: Email;
  readonly mailbox: Mailbox;
  readonly calls: Calls;
  readonly linkedin: LinkedIn;
  readonly ops: Ops;
}

/** A value built on first use, then kept. */
function lazy<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => (value ??= { built: build() }).built;
}

/**
 * The composition root. Settings are validated now, so an invalid setting stops the app with a message
 * naming it before any function runs; clients and capabilities are built on first use, so loading the
 * app does no I/O and a function builds only what it needs.
 */
export function createAppRoot(env: NodeJS.ProcessEnv, clock: () => Date = () => new Date()): AppRoot {
  const settings = loadAppSettings(env);
  const redact = createRedactor(settings.secretValues);
  const { storage: target } = settings.host;
  const credential = () => appCredential(target.kind === 'identity' ? target.clientId : undefined);
  const storage = lazy(() => createStorageClients(target, credential));
  const ai = lazy(() => createSuiteAi(settings.ai, { storage: storage(), credential }));
  const dossiers = lazy(() =>
    createDossiers({ settings: settings.dossiers, ai: ai(), storage: storage(), clock }),
  );
  const email = lazy(() => createEmail({ settings: settings.email, storage: storage(), clock, credential }));
  const mailbox = lazy(() =>
    createMailbox({
      settings: settings.mailbox,
      storage: storage(),
      ai: ai(),
      email,
      credential,
      clock,
    }),
  );
  const calls = lazy(() =>
    createCalls({ settings: settings.calls, storage: storage(), ai: ai(), email, clock }),
  );
  const linkedin = lazy(() =>
    createLinkedIn({
      settings: settings.linkedin,
      storage: storage(),
      blocklist: settings.ai.outputBlocklist,
      email,
      ai,
      clock,
    }),
  );
  const ops = lazy(() =>
    createOps({
      settings: settings.health,
      ops: settings.ops,
      ai: settings.ai,
      email: settings.email,
      storage: storage(),
      redact,
      version: APP_VERSION,
      clock,
      // Optional services: without them the app still serves everything else.
      capabilityProbes: () => [
        ...(settings.mailbox.enabled
          ? [{ name: 'mailbox:imap', required: false, check: () => mailbox().checkImap() }]
          : []),
        ...(settings.calls.livekit ? [httpProbe('livekit:api', settings.calls.livekit.apiUrl)] : []),
      ],
      ports: lazy(() => opsPorts()),
    }),
  );
  /** What the ops workflows borrow from the other capabilities. */
  const opsPorts = (): OpsPorts => ({
    aiClient: ai(),
    sendEmail: email(),
    runKinds: [
      { kind: 'dossiers', orchestration: DOSSIER_DURABLE.batch.name, prefix: DOSSIER_RUN_PREFIX },
      { kind: 'dossier-lane', orchestration: DOSSIER_DURABLE.lane.name, prefix: DOSSIER_RUN_PREFIX },
      {
        kind: 'linkedin-post',
        orchestration: LINKEDIN_DURABLE.publish.name,
        prefix: LINKEDIN_POST_RUN_PREFIX,
      },
    ],
    ...(settings.linkedin.enabled ? { linkedinAccounts: () => linkedin().listAccounts() } : {}),
    smoke: {
      ai: ai(),
      // Offline and without storage: the smoke dossier costs no tokens and writes nothing.
      offlineDossiers: createDossiers({
        settings: settings.dossiers,
        ai: createSuiteAi({ ...settings.ai, provider: 'offline', fallback: [] }),
        clock,
      }),
      mailboxAddress: settings.mailbox.address ?? '',
      linkedin: linkedin(),
      calls: calls(),
      livekit: settings.calls.livekit,
      agentName: settings.calls.agentName,
      redact,
    },
    headlines: async ({ from, to, runs }) => ({
      dossiersGenerated: runs
        .filter((r) => r.workflow === 'dossiers')
        .reduce(
          (sum, r) => sum + (batchStatusSchema.safeParse(r.customStatus).data?.counts?.generated ?? 0),
          0,
        ),
      mailsAnswered: settings.mailbox.enabled ? await mailbox().answeredBetween(from, to) : 0,
      postsPublished: settings.linkedin.enabled
        ? (await linkedin().analytics({ from: from.toISOString(), to: to.toISOString() })).totals.published
        : 0,
      callsHandled: (await calls().metrics({ from: from.toISOString(), to: to.toISOString() })).calls,
    }),
  });
  return {
    settings,
    redact,
    get storage() {
      return storage();
    },
    get ai() {
      return ai();
    },
    get dossiers() {
      return dossiers();
    },
    get email() {
      return email();
    },
    get mailbox() {
      return mailbox();
    },
    get calls() {
      return calls();
    },
    get linkedin() {
      return linkedin();
    },
    get ops() {
      return ops();
    },
  };
}
