// The insurance voice agent (agent/): a LiveKit Agents worker in Azure Container Apps. It cannot run in Functions:
// it holds a WebSocket to LiveKit and a process per call. So it is always on (at least one replica), has no
// ingress (it only dials out: LiveKit, the Function App's call tools, the model providers), is probed on its
// health endpoint, and gets a long grace period: on SIGTERM (scale-in, new revision) `start` drains, taking no
// new call while those in progress finish.
//
// It runs as the suite's user-assigned identity: image pull from the registry, Key Vault references (Key Vault
// Secrets User, see keyVault.bicep) and Azure OpenAI (Cognitive Services OpenAI User, see ai.bicep). Secrets are
// Container Apps secrets that point at Key Vault (keyVaultUrl + identity); none is written in the template.

@description('Name of the Container Apps environment.')
param environmentName string

@description('Name of the container app: 2 to 32 lowercase letters, digits and hyphens.')
@minLength(2)
@maxLength(32)
param name string

@description('Azure region of the environment and the app.')
param location string

@description('Tags applied to the environment and the app.')
param tags object = {}

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of the user-assigned managed identity (AZURE_CLIENT_ID: the identity the agent takes Azure OpenAI tokens as).')
param identityClientId string

@description('Principal id of the user-assigned managed identity (for the AcrPull role assignment).')
param identityPrincipalId string

@description('Resource id of the Log Analytics workspace receiving the environment\'s console and system logs.')
param workspaceId string

@description('The agent image, e.g. <registry>.azurecr.io/insurance-agent:1 (built from agent/Dockerfile).')
param image string

@description('The registry server the image is pulled from with the identity, e.g. <registry>.azurecr.io.')
param registryServer string

@description('Name of an Azure Container Registry in this resource group: the identity gets AcrPull on it. Empty: grant AcrPull on the registry yourself before deploying.')
param acrName string = ''

@description('URI of the Key Vault the secrets are read from (https://<vault>.vault.azure.net/).')
param keyVaultUri string

@description('CPU cores of the replica, as a string (Bicep has no decimals), e.g. 1.0; with memory, a combination Container Apps offers (1.0 with 2Gi).')
param cpu string = '1.0'

@description('Memory of the replica, e.g. 2Gi.')
param memory string = '2Gi'

@description('Most replicas; above one replica, a CPU rule adds replicas before the worker reports itself full to LiveKit.')
@minValue(1)
@maxValue(30)
param maxReplicas int = 3

@description('Average CPU use, in percent, above which a replica is added.')
@minValue(10)
@maxValue(95)
param scaleCpuPercent int = 60

@description('Seconds between SIGTERM and SIGKILL when a replica stops: calls in progress have this long to finish.')
@minValue(30)
@maxValue(600)
param terminationGracePeriodSeconds int = 600

@description('Port of the worker\'s health endpoint (AGENT_HEALTH_PORT), probed at /.')
@minValue(1)
@maxValue(65535)
param healthPort int = 8081

@description('The Function App\'s base URL the agent calls its tools on (AGENT_TOOLS_URL), https://<app>.azurewebsites.net.')
param toolsUrl string

@description('LiveKit server WebSocket URL (LIVEKIT_URL).')
param livekitUrl string

@description('LiveKit API key (LIVEKIT_API_KEY).')
param livekitApiKey string

@description('Name of the Key Vault secret holding the LiveKit API secret (LIVEKIT_API_SECRET). Empty: not set.')
param livekitApiSecretSecretName string = ''

@description('The agent name LiveKit dispatches calls to (CALLS_AGENT_NAME); the Function App uses the same.')
param agentName string = 'insurance-agent'

@description('Name of the Key Vault secret holding the Function App key the tools are called with (AGENT_TOOLS_KEY). Empty: not set.')
param toolsKeySecretName string = ''

@description('Language the agent speaks (AGENT_LANGUAGE).')
@allowed([
  'fr'
  'en'
])
param language string = 'fr'

@description('LLM provider (AGENT_LLM): azure (Azure OpenAI with the managed identity), openai (any OpenAI-compatible server) or google (Gemini).')
@allowed([
  'azure'
  'openai'
  'google'
])
param llm string = 'azure'

@description('Azure OpenAI endpoint (AZURE_OPENAI_ENDPOINT).')
param azureOpenAiEndpoint string

@description('Azure OpenAI model deployment (AZURE_OPENAI_DEPLOYMENT).')
param azureOpenAiDeployment string

@description('Azure OpenAI data-plane API version (AZURE_OPENAI_API_VERSION).')
param azureOpenAiApiVersion string

@description('OpenAI-compatible API base URL (OPENAI_BASE_URL), for llm = openai. Empty: not set.')
param openAiBaseUrl string = ''

@description('OpenAI model (OPENAI_MODEL), for llm = openai. Empty: not set.')
param openAiModel string = ''

@description('Name of the Key Vault secret holding the OpenAI API key (OPENAI_API_KEY). Empty: not set.')
param openAiApiKeySecretName string = ''

@description('Gemini model (GEMINI_MODEL), for llm = google. Empty: not set.')
param geminiModel string = ''

@description('Name of the Key Vault secret holding the Google API key (GOOGLE_API_KEY). Empty: not set.')
param googleApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Deepgram API key (DEEPGRAM_API_KEY): speech-to-text, and text-to-speech with tts = deepgram. Empty: not set.')
param deepgramApiKeySecretName string = ''

@description('Text-to-speech provider (AGENT_TTS).')
@allowed([
  'deepgram'
  'elevenlabs'
  'cartesia'
])
param tts string = 'deepgram'

@description('Text-to-speech voice (AGENT_TTS_VOICE). Empty: the provider\'s default for the language.')
param ttsVoice string = ''

@description('Name of the Key Vault secret holding the ElevenLabs API key (ELEVEN_API_KEY). Empty: not set.')
param elevenApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Cartesia API key (CARTESIA_API_KEY). Empty: not set.')
param cartesiaApiKeySecretName string = ''

// Built-in role definition: AcrPull (pull images; no push, no registry management).
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

// Key Vault references by versionless URL: Container Apps fetches the latest version of each secret.
var vaultSecretsUrl = '${keyVaultUri}${endsWith(keyVaultUri, '/') ? '' : '/'}secrets/'

// The secret settings: the environment variable, its Container Apps secret, and the Key Vault secret it reads
// (empty: the variable is not set). Only these reach the container as secrets.
var secretSettings = [
  { env: 'LIVEKIT_API_SECRET', secret: 'livekit-api-secret', vaultSecret: livekitApiSecretSecretName }
  { env: 'AGENT_TOOLS_KEY', secret: 'agent-tools-key', vaultSecret: toolsKeySecretName }
  { env: 'DEEPGRAM_API_KEY', secret: 'deepgram-api-key', vaultSecret: deepgramApiKeySecretName }
  { env: 'ELEVEN_API_KEY', secret: 'eleven-api-key', vaultSecret: elevenApiKeySecretName }
  { env: 'CARTESIA_API_KEY', secret: 'cartesia-api-key', vaultSecret: cartesiaApiKeySecretName }
  { env: 'OPENAI_API_KEY', secret: 'openai-api-key', vaultSecret: openAiApiKeySecretName }
  { env: 'GOOGLE_API_KEY', secret: 'google-api-key', vaultSecret: googleApiKeySecretName }
]
var configuredSecrets = filter(secretSettings, setting => !empty(setting.vaultSecret))

// The plain settings, one per line; an empty value is left out (not set). AZURE_OPENAI_API_KEY is never set:
// the account has local authentication disabled, so the agent uses the identity (AZURE_CLIENT_ID).
var plainSettings = {
  LIVEKIT_URL: livekitUrl
  LIVEKIT_API_KEY: livekitApiKey
  CALLS_AGENT_NAME: agentName
  AGENT_TOOLS_URL: toolsUrl
  AGENT_LANGUAGE: language
  AGENT_LLM: llm
  AZURE_OPENAI_ENDPOINT: azureOpenAiEndpoint
  AZURE_OPENAI_DEPLOYMENT: azureOpenAiDeployment
  AZURE_OPENAI_API_VERSION: azureOpenAiApiVersion
  AZURE_CLIENT_ID: identityClientId
  OPENAI_BASE_URL: openAiBaseUrl
  OPENAI_MODEL: openAiModel
  GEMINI_MODEL: geminiModel
  AGENT_TTS: tts
  AGENT_TTS_VOICE: ttsVoice
  AGENT_HEALTH_PORT: string(healthPort)
}
var plainEnv = map(filter(items(plainSettings), setting => !empty(setting.value)), setting => {
  name: setting.key
  value: setting.value
})
var secretEnv = map(configuredSecrets, setting => {
  name: setting.env
  secretRef: setting.secret
})

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(acrName)) {
  name: acrName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(acrName)) {
  name: guid(resourceId('Microsoft.ContainerRegistry/registries', acrName), identityPrincipalId, acrPullRoleId)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// A workload-profiles environment running the app on the Consumption profile. Logs go through Azure Monitor
// (the diagnostic setting below) to the suite's workspace, so no workspace shared key is handed around.
resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: environment
  properties: {
    workspaceId: workspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'ContainerAppConsoleLogs'
        enabled: true
      }
      {
        category: 'ContainerAppSystemLogs'
        enabled: true
      }
    ]
  }
}

resource agentApp 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      // No ingress: nothing calls the worker. The probes reach the health port inside the environment.
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [
        for setting in configuredSecrets: {
          name: setting.secret
          keyVaultUrl: '${vaultSecretsUrl}${setting.vaultSecret}'
          identity: identityId
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'agent'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(plainEnv, secretEnv)
          // The worker answers / with 200 once registered with LiveKit, 503 while it is not connected (it
          // reconnects by itself). Startup allows for the first connection; liveness restarts a worker that
          // stays disconnected for a minute; readiness reports it meanwhile.
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/'
                port: healthPort
              }
              periodSeconds: 5
              failureThreshold: 24
              timeoutSeconds: 3
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/'
                port: healthPort
              }
              periodSeconds: 10
              failureThreshold: 6
              timeoutSeconds: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/'
                port: healthPort
              }
              periodSeconds: 10
              failureThreshold: 3
              timeoutSeconds: 3
            }
          ]
        }
      ]
      scale: {
        // Always on: LiveKit dispatches calls only to a worker holding its WebSocket.
        minReplicas: 1
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'cpu'
            custom: {
              type: 'cpu'
              metadata: {
                type: 'Utilization'
                value: string(scaleCpuPercent)
              }
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    acrPull
  ]
}

@description('Name of the container app.')
output name string = agentApp.name

@description('Name of the Container Apps environment.')
output environmentName string = environment.name
