import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initializeLogger, voice } from '@livekit/agents';
import { startAzurite } from '../../local/azurite.js';
import { listenHttp, type HostServer } from '../../local/httpServer.js';
import { LocalHost, readHostJson } from '../../local/localHost.js';
import {
  signWebhook,
  startLiveKitServer,
  webhookEvents,
  type LiveKitServer,
} from '../../local/servers/livekitServer.js';
import { createBackend, type Backend } from '../src/backend.js';
import { CallRecorder } from '../src/callRecorder.js';
import { createInsuranceAgent } from '../src/insuranceAgent.js';

/**
 * The backend the agent talks to in its tests: the Function App through the local host over real HTTP,
 * on its own Azurite, with the local LiveKit server and the sample insurer's policies. Nothing is mocked:
 * the agent's tools call the real routes.
 */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIVEKIT = { apiKey: 'agentkey', apiSecret: 'an-agent-test-secret-long-enough-for-hs256' };

export interface BackendWorld {
  url: string;
  key: string;
  livekit: LiveKitServer;
  /** A signed LiveKit webhook sequence: a phone caller joins the call's room (so it can be transferred). */
  phoneCallerJoins(callId: string): Promise<void>;
  getCall(callId: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startBackendWorld(): Promise<BackendWorld> {
  initializeLogger({ pretty: false, level: 'warn' });
  const [azurite, livekit] = await Promise.all([startAzurite(), startLiveKitServer(LIVEKIT)]);
  let host: LocalHost | undefined;
  let server: HostServer | undefined;
  const stop = async () => {
    await server?.close();
    await host?.stop();
    await Promise.all([azurite.stop(), livekit.stop()]);
  };
  try {
    host = await LocalHost.start({
      app: { appRoot: REPO_ROOT },
      settings: {
        AzureWebJobsStorage: azurite.connectionString,
        FUNCTIONS_WORKER_RUNTIME: 'node',
        DURABLE_TASK_HUB: 'agenttest',
        AI_PROVIDER: 'offline',
        LIVEKIT_URL: livekit.wsUrl,
        LIVEKIT_API_KEY: LIVEKIT.apiKey,
        LIVEKIT_API_SECRET: LIVEKIT.apiSecret,
        CALLS_TRANSFER_TO: 'tel:+33100000000',
      },
      hostJson: readHostJson(REPO_ROOT),
    });
    server = await listenHttp(host, { port: 0 });
  } catch (error) {
    await stop();
    throw error;
  }
  const url = server.url;
  const key = host.functionKey;
  const imported = await fetch(`${url}/api/calls/policies/import?name=policies.csv`, {
    method: 'POST',
    headers: { 'x-functions-key': key, 'content-type': 'text/csv' },
    body: readFileSync(path.join(REPO_ROOT, 'samples', 'insurer', 'policies.csv')),
  });
  if (!imported.ok) throw new Error(`The sample policies were not imported: ${imported.status}`);

  return {
    url,
    key,
    livekit,
    async phoneCallerJoins(callId) {
      const room = `call-${callId}`;
      const events = webhookEvents(room);
      const started = events.roomStarted();
      const caller = events.participantJoined({
        identity: 'sip_caller',
        kind: 'SIP',
        attributes: { 'sip.phoneNumber': '+33612345678' },
      });
      if (caller.participant) livekit.join(room, caller.participant);
      for (const event of [started, caller]) {
        const body = JSON.stringify(event);
        const response = await fetch(`${url}/api/calls/livekit-webhook`, {
          method: 'POST',
          headers: {
            'content-type': 'application/webhook+json',
            authorization: await signWebhook(body, LIVEKIT),
          },
          body,
        });
        if (!response.ok) throw new Error(`The webhook was refused: ${response.status}`);
      }
    },
    async getCall(callId) {
      const response = await fetch(`${url}/api/calls/${callId}`, { headers: { 'x-functions-key': key } });
      return (await response.json()) as Record<string, unknown>;
    },
    stop,
  };
}

/** A text session of the agent on a new call, with a fake LLM playing `script`. */
export async function agentSession(
  world: BackendWorld,
  script: voice.testing.FakeLLMResponse[],
  backend?: Backend,
) {
  const realBackend = createBackend({ url: world.url, key: world.key });
  const { callId } = await realBackend.newCall('Test caller');
  const tools = backend ?? realBackend;
  const recorder = new CallRecorder(callId, realBackend);
  const agent = createInsuranceAgent(
    'fr',
    { callId, direction: 'inbound' },
    {
      backend: tools,
      onToolCall: (c) => recorder.recordTool(c),
    },
  );
  const session = new voice.AgentSession({ llm: new voice.testing.FakeLLM(script) });
  recorder.attach(session);
  await session.start({ agent });
  return { callId, session, recorder, say: (userInput: string) => session.run({ userInput }).wait() };
}
