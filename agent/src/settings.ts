import { z } from 'zod';

/**
 * The worker's settings, from its environment (Container Apps env and Key Vault references in Azure,
 * the shell locally). Validated at start: a bad or missing one stops the worker naming it, never its value.
 */
const text = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.string().trim().optional(),
);
const url = text.pipe(z.url({ message: 'must be a URL' }).optional());
const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  text.pipe(z.enum(values, { message: `must be one of ${values.join(', ')}` }).optional());

const schema = z.object({
  LIVEKIT_URL: text.pipe(
    z
      .string()
      .regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL')
      .optional(),
  ),
  LIVEKIT_API_KEY: text,
  LIVEKIT_API_SECRET: text,
  CALLS_AGENT_NAME: text,
  AGENT_TOOLS_URL: url,
  AGENT_TOOLS_KEY: text,
  AGENT_LANGUAGE: choice(['fr', 'en']),
  AGENT_LLM: choice(['azure', 'openai', 'google']),
  AZURE_OPENAI_ENDPOINT: url,
  AZURE_OPENAI_DEPLOYMENT: text,
  AZURE_OPENAI_API_VERSION: text,
  AZURE_OPENAI_API_KEY: text,
  AZURE_CLIENT_ID: text,
  OPENAI_BASE_URL: url,
  OPENAI_API_KEY: text,
  OPENAI_MODEL: text,
  GOOGLE_API_KEY: text,
  GEMINI_MODEL: text,
  DEEPGRAM_API_KEY: text,
  AGENT_TTS: choice(['deepgram', 'elevenlabs', 'cartesia']),
  ELEVEN_API_KEY: text,
  CARTESIA_API_KEY: text,
  AGENT_TTS_VOICE: text,
  AGENT_HEALTH_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined),
    z.number({ message: 'must be a port number' }).int().min(1).max(65_535).optional(),
  ),
});

export type LlmSettings =
  | {
      kind: 'azure';
      endpoint: string;
      deployment: string;
      apiVersion: string;
      apiKey: string | undefined;
      clientId: string | undefined;
    }
  | { kind: 'openai'; baseURL: string | undefined; apiKey: string; model: string }
  | { kind: 'google'; apiKey: string; model: string };

export interface AgentSettings {
  language: 'fr' | 'en';
  agentName: string;
  tools: { url: string; key: string };
  llm: LlmSettings;
  /** Speech settings: only the worker needs them (the text chat has no audio). */
  speech: {
    deepgramApiKey: string | undefined;
    tts: 'deepgram' | 'elevenlabs' | 'cartesia';
    elevenApiKey: string | undefined;
    cartesiaApiKey: string | undefined;
    voice: string | undefined;
  };
  livekit: { url: string; apiKey: string; apiSecret: string } | undefined;
  healthPort: number;
}

export class AgentSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid agent settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AgentSettingsError';
  }
}

/** Reads the settings; `needs` adds the checks of what this run uses (the worker needs speech and LiveKit). */
export function loadAgentSettings(
  env: NodeJS.ProcessEnv,
  needs: { speech: boolean; livekit: boolean } = { speech: true, livekit: true },
): AgentSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new AgentSettingsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const s = parsed.data;
  const problems: string[] = [];
  const need = (name: keyof typeof s, why: string) => {
    if (!s[name]) problems.push(`${name}: is required ${why}`);
  };
  need('AGENT_TOOLS_URL', '(the Function App that serves the call tools)');
  need('AGENT_TOOLS_KEY', '(a function key of that app)');
  const kind = s.AGENT_LLM ?? 'azure';
  if (kind === 'azure') {
    need('AZURE_OPENAI_ENDPOINT', 'with AGENT_LLM=azure');
    need('AZURE_OPENAI_DEPLOYMENT', 'with AGENT_LLM=azure');
  } else if (kind === 'openai') {
    need('OPENAI_API_KEY', 'with AGENT_LLM=openai');
    need('OPENAI_MODEL', 'with AGENT_LLM=openai');
  } else {
    need('GOOGLE_API_KEY', 'with AGENT_LLM=google');
  }
  const tts = s.AGENT_TTS ?? 'deepgram';
  if (needs.speech) {
    need('DEEPGRAM_API_KEY', '(speech-to-text)');
    if (tts === 'elevenlabs') need('ELEVEN_API_KEY', 'with AGENT_TTS=elevenlabs');
    if (tts === 'cartesia') need('CARTESIA_API_KEY', 'with AGENT_TTS=cartesia');
  }
  if (needs.livekit) {
    need('LIVEKIT_URL', 'to connect the worker');
    need('LIVEKIT_API_KEY', 'to connect the worker');
    need('LIVEKIT_API_SECRET', 'to connect the worker');
  }
  if (problems.length) throw new AgentSettingsError(problems);

  const llm: LlmSettings =
    kind === 'azure'
      ? {
          kind,
          endpoint: s.AZURE_OPENAI_ENDPOINT ?? '',
          deployment: s.AZURE_OPENAI_DEPLOYMENT ?? '',
          apiVersion: s.AZURE_OPENAI_API_VERSION ?? '2024-10-21',
          apiKey: s.AZURE_OPENAI_API_KEY,
          clientId: s.AZURE_CLIENT_ID,
        }
      : kind === 'openai'
        ? { kind, baseURL: s.OPENAI_BASE_URL, apiKey: s.OPENAI_API_KEY ?? '', model: s.OPENAI_MODEL ?? '' }
        : { kind, apiKey: s.GOOGLE_API_KEY ?? '', model: s.GEMINI_MODEL ?? 'gemini-2.5-flash' };
  return {
    language: s.AGENT_LANGUAGE ?? 'fr',
    agentName: s.CALLS_AGENT_NAME ?? 'insurance-agent',
    tools: { url: (s.AGENT_TOOLS_URL ?? '').replace(/\/+$/, ''), key: s.AGENT_TOOLS_KEY ?? '' },
    llm,
    speech: {
      deepgramApiKey: s.DEEPGRAM_API_KEY,
      tts,
      elevenApiKey: s.ELEVEN_API_KEY,
      cartesiaApiKey: s.CARTESIA_API_KEY,
      voice: s.AGENT_TTS_VOICE,
    },
    livekit:
      s.LIVEKIT_URL && s.LIVEKIT_API_KEY && s.LIVEKIT_API_SECRET
        ? { url: s.LIVEKIT_URL, apiKey: s.LIVEKIT_API_KEY, apiSecret: s.LIVEKIT_API_SECRET }
        : undefined,
    healthPort: s.AGENT_HEALTH_PORT ?? 8081,
  };
}
