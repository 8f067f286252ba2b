import { readFileSync } from 'node:fs';
import { voice } from '@livekit/agents';
import { insuranceTools, type ToolDeps } from './tools.js';

/** The call as the dispatch describes it (the job's metadata; the chat makes its own). */
export interface CallContext {
  callId: string;
  direction: 'inbound' | 'outbound';
  /** Outbound only: why the insurer calls (said to the callee), never personal data. */
  reason?: string;
}

const PROMPTS = new URL('../prompts/', import.meta.url);

/** The agent's instructions: the prompt file of its language, and for an outbound call why it calls. */
export function instructionsFor(language: 'fr' | 'en', call: CallContext): string {
  const base = readFileSync(new URL(`instructions.${language}.md`, PROMPTS), 'utf8').trim();
  if (call.direction !== 'outbound') return base;
  const outbound =
    language === 'fr'
      ? `Cet appel est sortant : c'est toi qui appelles l'assuré, au sujet de : ${call.reason ?? 'son contrat'}. Présente-toi et dis pourquoi tu appelles.`
      : `This is an outbound call: you are calling the policy holder about: ${call.reason ?? 'their policy'}. Introduce yourself and say why you call.`;
  return `${base}\n\n${outbound}`;
}

/** The greeting the agent says first on an inbound call (a fixed text: no model call before the caller hears it). */
export function greetingFor(language: 'fr' | 'en'): string {
  return language === 'fr'
    ? 'Bonjour, Mutuelle Horizon Assurances, je suis votre assistant. Que puis-je faire pour vous ?'
    : 'Hello, Mutuelle Horizon Assurances, I am your assistant. How can I help you?';
}

export function createInsuranceAgent(
  language: 'fr' | 'en',
  call: CallContext,
  deps: Omit<ToolDeps, 'callId'>,
) {
  return new voice.Agent({
    instructions: instructionsFor(language, call),
    tools: insuranceTools({ ...deps, callId: call.callId }),
  });
}
