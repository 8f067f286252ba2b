import { DefaultAzureCredential, getBearerTokenProvider } from '@azure/identity';
import type { llm as llmTypes, stt as sttTypes, tts as ttsTypes } from '@livekit/agents';
import * as cartesia from '@livekit/agents-plugin-cartesia';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as elevenlabs from '@livekit/agents-plugin-elevenlabs';
import * as google from '@livekit/agents-plugin-google';
import * as openai from '@livekit/agents-plugin-openai';
import type { AgentSettings, LlmSettings } from './settings.js';

const AZURE_OPENAI_SCOPE = 'https://cognitiveservices.azure.com/.default';

/** The language model the settings choose: Azure OpenAI (key or managed identity), any OpenAI-compatible server, or Gemini. */
export function languageModel(settings: LlmSettings): llmTypes.LLM {
  switch (settings.kind) {
    case 'azure':
      return openai.LLM.withAzure({
        model: settings.deployment,
        azureEndpoint: settings.endpoint,
        azureDeployment: settings.deployment,
        apiVersion: settings.apiVersion,
        ...(settings.apiKey
          ? { apiKey: settings.apiKey }
          : {
              // The container's user-assigned identity: no key to store or rotate.
              azureAdTokenProvider: getBearerTokenProvider(
                new DefaultAzureCredential(
                  settings.clientId ? { managedIdentityClientId: settings.clientId } : {},
                ),
                AZURE_OPENAI_SCOPE,
              ),
            }),
      });
    case 'openai':
      return new openai.LLM({
        model: settings.model,
        apiKey: settings.apiKey,
        ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
      });
    case 'google':
      return new google.LLM({ model: settings.model, apiKey: settings.apiKey });
  }
}

export function speechToText(settings: AgentSettings): sttTypes.STT {
  return new deepgram.STT({
    apiKey: settings.speech.deepgramApiKey,
    model: 'nova-3',
    language: settings.language,
  });
}

/** Voices that speak the agent's language when AGENT_TTS_VOICE does not name one. */
const DEFAULT_VOICES = {
  deepgram: { fr: 'aura-2-agathe-fr', en: 'aura-2-thalia-en' },
} as const;

export function textToSpeech(settings: AgentSettings): ttsTypes.TTS {
  const { speech, language } = settings;
  switch (speech.tts) {
    case 'deepgram':
      return new deepgram.TTS({
        apiKey: speech.deepgramApiKey,
        model: speech.voice ?? DEFAULT_VOICES.deepgram[language],
      });
    case 'elevenlabs':
      return new elevenlabs.TTS({
        apiKey: speech.elevenApiKey,
        model: 'eleven_flash_v2_5',
        language,
        ...(speech.voice ? { voiceId: speech.voice } : {}),
      });
    case 'cartesia':
      return new cartesia.TTS({
        apiKey: speech.cartesiaApiKey,
        model: 'sonic-2',
        language,
        ...(speech.voice ? { voice: speech.voice } : {}),
      });
  }
}
