import { fileURLToPath } from 'node:url';
import { cli, defineAgent, ServerOptions, voice, type JobContext, type JobProcess } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { SipClient } from 'livekit-server-sdk';
import { createBackend } from './backend.js';
import { callOfJob } from './call.js';
import { CallRecorder } from './callRecorder.js';
import { createInsuranceAgent, greetingFor } from './insuranceAgent.js';
import { languageModel, speechToText, textToSpeech } from './providers.js';
import { loadAgentSettings } from './settings.js';

/** Calls in progress get this long to finish on SIGTERM: inside Container Apps' 600 s grace period (agentApp.bicep), leaving time to close job processes. */
const DRAIN_MS = 8 * 60_000 + 30_000;

/** The callee's identity in an outbound room. */
const CALLEE = 'callee';

const VOICEMAIL = {
  fr: 'Bonjour, ici Mutuelle Horizon Assurances. Nous vous rappellerons prochainement au sujet de votre contrat. Bonne journée.',
  en: 'Hello, this is Mutuelle Horizon Assurances. We will call you back soon about your policy. Goodbye.',
};

/**
 * One job per call. The report is sent when the job shuts down, however the call ends (the caller hangs
 * up, the agent ends it, the dial fails, an error), so every call the backend knows gets its transcript
 * and turn metrics.
 */
export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    proc.userData.vad = await silero.VAD.load();
  },
  entry: async (ctx: JobContext) => {
    const settings = loadAgentSettings(process.env);
    const call = callOfJob(ctx.job.metadata, ctx.job.room?.name);
    const backend = createBackend(settings.tools);
    const recorder = new CallRecorder(call.callId, backend);
    ctx.addShutdownCallback(async () => {
      const sent = await recorder.send();
      if (!sent.ok)
        console.error(`Call ${call.callId}: the report was not stored (${sent.status} ${sent.code}).`);
    });

    const agent = createInsuranceAgent(settings.language, call, {
      backend,
      onToolCall: (c) => recorder.recordTool(c),
      onEnded: () => ctx.shutdown('the agent ended the call'),
    });
    const session = new voice.AgentSession({
      vad: ctx.proc.userData.vad as silero.VAD,
      stt: speechToText(settings),
      llm: languageModel(settings.llm),
      tts: textToSpeech(settings),
    });
    recorder.attach(session);
    session.on(voice.AgentSessionEventTypes.Close, () => ctx.shutdown('session closed'));
    await ctx.connect();

    if (call.dial && settings.livekit) {
      const api = settings.livekit.url.replace(/^ws(s?):\/\//, 'http$1://');
      try {
        await new SipClient(api, settings.livekit.apiKey, settings.livekit.apiSecret).createSipParticipant(
          call.dial.sipTrunkId,
          call.dial.phoneNumber,
          ctx.room.name ?? '',
          { participantIdentity: CALLEE, waitUntilAnswered: true },
        );
      } catch (error) {
        // Busy, no answer, rejected: nobody to talk to; the record says why through the webhooks.
        console.error(
          `Call ${call.callId}: the dial failed (${error instanceof Error ? error.message : String(error)}).`,
        );
        ctx.shutdown('dial failed');
        return;
      }
      await session.start({ agent, room: ctx.room });
      const verdict = await new voice.AMD(session, { participantIdentity: CALLEE }).execute();
      if (verdict.isMachine) {
        await session.say(VOICEMAIL[settings.language]).waitForPlayout();
        ctx.shutdown('voicemail');
        return;
      }
      session.generateReply({ instructions: 'Introduce yourself and say why you are calling.' });
      return;
    }
    await session.start({ agent, room: ctx.room });
    session.say(greetingFor(settings.language));
  },
});

// The worker's main module only: job processes import this file for its default export.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let settings;
  try {
    settings = loadAgentSettings(process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  cli.runApp(
    new ServerOptions({
      agent: fileURLToPath(import.meta.url),
      agentName: settings.agentName,
      port: settings.healthPort,
      drainTimeout: DRAIN_MS,
      ...(settings.livekit
        ? {
            wsURL: settings.livekit.url,
            apiKey: settings.livekit.apiKey,
            apiSecret: settings.livekit.apiSecret,
          }
        : {}),
    }),
  );
}
