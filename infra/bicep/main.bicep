// The automation suite in one resource group: a Flex Consumption function app (Node.js 22) running as a
// user-assigned managed identity, its host storage (no shared keys), workspace-based Application Insights
// (Entra ID authentication only), Azure OpenAI (Entra ID authentication only, one gpt-4o-mini deployment) and a
// Key Vault (RBAC) for optional third-party AI keys, the mailbox password, the LiveKit API secret, the voice agent's
// keys and the LinkedIn client secret and token key, which operators add themselves (see modules/keyVault.bicep),
// Azure Communication Services Email with an Azure-managed domain (see modules/email.bicep), and Event Grid delivery
// of the dossiers-inbox and documents-inbox blob events and of the email delivery reports to the app (see
// modules/blobEvents.bicep and modules/emailEvents.bicep: deploy once with deployEventSubscription = false, deploy the
// code, then deploy again with deployEventSubscription = true); with enableAppServiceAuth = true, an Entra ID sign-in
// in front of the app (see modules/functionApp.bicep); and, with deployAgent = true, the insurance voice agent (agent/)
// as an always-on Container App running as the same identity (see modules/agentApp.bicep; push its image first).
//
//   az deployment group create -g <resource-group> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam

targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Short application name (lowercase letters, digits, hyphens); resource names derive from it.')
@minLength(3)
@maxLength(20)
param appName string

@description('Durable Functions task hub name (DURABLE_TASK_HUB): 3 to 45 letters or digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param durableTaskHub string = 'automationsuite'

@description('Timeout of each health-check probe in milliseconds (HEALTH_TIMEOUT_MS).')
@minValue(100)
@maxValue(30000)
param healthTimeoutMs int = 3000

@description('Most instances the Flex Consumption app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Capacity of the Azure OpenAI gpt-4o-mini GlobalStandard deployment, in thousands of tokens per minute (sets AI_TPM and AI_RPM).')
@minValue(1)
param aiDeploymentCapacity int = 50

@description('Azure OpenAI data-plane API version (AZURE_OPENAI_API_VERSION).')
param azureOpenAiApiVersion string = '2024-10-21'

@description('Most AI calls in flight at once per instance (AI_MAX_CONCURRENCY).')
@minValue(1)
@maxValue(1000)
param aiMaxConcurrency int = 8

@description('Timeout of one AI call attempt in milliseconds (AI_TIMEOUT_MS). AI_TIMEOUT_MS × (AI_MAX_RETRIES + 1) plus 20 s of backoff per retry must stay within 540000, or the app refuses to start.')
@minValue(100)
@maxValue(540000)
param aiTimeoutMs int = 60000

@description('Retries of a failed AI call (AI_MAX_RETRIES).')
@minValue(0)
@maxValue(10)
param aiMaxRetries int = 3

@description('Hours an AI response stays cached (AI_CACHE_TTL_HOURS); 0 disables the cache.')
@minValue(0)
@maxValue(8760)
param aiCacheTtlHours int = 168

@description('Comma-separated providers tried after azure-openai fails (AI_FALLBACK): openai, anthropic or offline. Each needs its settings (an API key secret name, or openAiBaseUrl for openai), or the app refuses to start. Empty: no fallback.')
param aiFallback string = ''

@description('JSON price table in USD per 1M tokens (AI_PRICES), e.g. {"gpt-4o-mini":{"input":0.15,"output":0.6}}. Empty: no cost estimates.')
param aiPrices string = ''

@description('Comma-separated phrases an AI output must not contain (AI_OUTPUT_BLOCKLIST). Empty: none.')
param aiOutputBlocklist string = ''

@description('OpenAI-compatible API base URL (OPENAI_BASE_URL). Empty: the app\'s default.')
param openAiBaseUrl string = ''

@description('OpenAI model (OPENAI_MODEL). Empty: the app\'s default.')
param openAiModel string = ''

@description('Anthropic model (ANTHROPIC_MODEL). Empty: the app\'s default.')
param anthropicModel string = ''

@description('Anthropic API base URL (ANTHROPIC_BASE_URL). Empty: the SDK\'s default.')
param anthropicBaseUrl string = ''

@description('Name of the Key Vault secret holding the OpenAI API key (OPENAI_API_KEY). Put the secret in the vault first. Empty: no key.')
param openAiApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Anthropic API key (ANTHROPIC_API_KEY). Put the secret in the vault first. Empty: no key.')
param anthropicApiKeySecretName string = ''

@description('Best consultants kept per job (DOSSIERS_TOP_K). Null: every consultant.')
@minValue(1)
@maxValue(10000)
param dossiersTopK int?

@description('Lowest match score, 0 to 100, a pair needs to get a dossier (DOSSIERS_MIN_SCORE). Null: no minimum.')
@minValue(0)
@maxValue(100)
param dossiersMinScore int?

@description('Language of the dossiers (DOSSIERS_LANGUAGE).')
@allowed([
  'fr'
  'en'
])
param dossiersLanguage string = 'fr'

@description('Regenerate a dossier once, with strict instructions, when it names skills the consultant lacks (DOSSIERS_REGENERATE_UNGROUNDED).')
param dossiersRegenerateUngrounded bool = false

@description('Consultant-job pairs in flight at once in a batch (DOSSIERS_CONCURRENCY).')
@minValue(1)
@maxValue(256)
param dossiersConcurrency int = 16

@description('Largest batch upload accepted over HTTP, in megabytes (DOSSIERS_MAX_UPLOAD_MB).')
@minValue(1)
@maxValue(100)
param dossiersMaxUploadMb int = 20

@description('Name of the Word template in dossiers-templates that batches fill when they name none (DOSSIERS_TEMPLATE); empty: the built-in layout.')
param dossiersTemplate string = ''

@description('Where the email services keep their data at rest (dataLocation of the Email and Communication Services resources).')
param emailDataLocation string = 'Europe'

@description('Days a recipient whose mail bounced or was suppressed is not mailed again (EMAIL_SUPPRESS_DAYS); 0 never suppresses.')
@minValue(0)
@maxValue(3650)
param emailSuppressDays int = 30

@description('IMAP server of the school mailbox (MAILBOX_IMAP_HOST), e.g. outlook.office365.com. Empty: the mailbox responder is off.')
param mailboxImapHost string = ''

@description('IMAP port (MAILBOX_IMAP_PORT).')
@minValue(1)
@maxValue(65535)
param mailboxImapPort int = 993

@description('Implicit TLS for IMAP (MAILBOX_IMAP_TLS); false: STARTTLS.')
param mailboxImapTls bool = true

@description('IMAP user name (MAILBOX_USER), often the mailbox address. Empty: not set.')
param mailboxUser string = ''

@description('How the app signs in to the mailbox (MAILBOX_AUTH): password (MAILBOX_PASSWORD), or entra (XOAUTH2 with a token of the app identity, for Microsoft 365: give the identity access to the mailbox in Exchange Online first).')
@allowed([
  'password'
  'entra'
])
param mailboxAuth string = 'password'

@description('Name of the Key Vault secret holding the mailbox password (MAILBOX_PASSWORD). Put the secret in the vault first. Empty: no password.')
param mailboxPasswordSecretName string = ''

@description('The mailbox\'s own address (MAILBOX_ADDRESS): replies come from it. Empty: not set.')
param mailboxAddress string = ''

@description('The folder polled (MAILBOX_FOLDER).')
param mailboxFolder string = 'INBOX'

@description('NCRONTAB schedule of the mailboxPoll timer (MAILBOX_POLL_SCHEDULE), six fields, UTC.')
param mailboxPollSchedule string = '0 */2 * * * *'

@description('send: answers go out; draft: every answer waits for a person (MAILBOX_REPLY_MODE).')
@allowed([
  'send'
  'draft'
])
param mailboxReplyMode string = 'send'

@description('Classification confidence, 0 to 1, under which the answer becomes a draft (MAILBOX_MIN_CONFIDENCE); a string, as Bicep has no decimals.')
param mailboxMinConfidence string = '0.7'

@description('Hours within which a sender already answered in the same thread is not answered again (MAILBOX_SENDER_COOLDOWN_HOURS).')
@minValue(0)
@maxValue(8760)
param mailboxSenderCooldownHours int = 24

@description('Replies sent per hour past which answers become drafts (MAILBOX_MAX_REPLIES_PER_HOUR).')
@minValue(1)
@maxValue(100000)
param mailboxMaxRepliesPerHour int = 100

@description('Largest mail fetched and answered, in bytes (MAILBOX_MAX_MESSAGE_BYTES); a larger one is recorded and left for a person.')
@minValue(1024)
@maxValue(52428800)
param mailboxMaxMessageBytes int = 1048576

@description('LiveKit server WebSocket URL (LIVEKIT_URL), wss://<project>.livekit.cloud. Empty: the call centre\'s token, outbound and transfer routes answer 503.')
param livekitUrl string = ''

@description('LiveKit API key (LIVEKIT_API_KEY); required with livekitUrl. Empty: not set.')
param livekitApiKey string = ''

@description('Name of the Key Vault secret holding the LiveKit API secret (LIVEKIT_API_SECRET); required with livekitUrl. Put the secret in the vault first. Empty: no secret.')
param livekitApiSecretSecretName string = ''

@description('The voice agent dispatched into every call room (CALLS_AGENT_NAME): letters, digits, - and _.')
@minLength(1)
@maxLength(64)
param callsAgentName string = 'insurance-agent'

@description('Lifetime of a caller token in minutes (CALLS_TOKEN_TTL_MINUTES).')
@minValue(1)
@maxValue(1440)
param callsTokenTtlMinutes int = 15

@description('LiveKit outbound SIP trunk id, ST_… (CALLS_SIP_TRUNK_ID). Empty: outbound calls are off.')
param callsSipTrunkId string = ''

@description('The human desk callers are transferred to (CALLS_TRANSFER_TO): tel:+33… or sip:desk@pbx.example. Empty: transfers are off.')
param callsTransferTo string = ''

@description('Failed identity checks after which a call is locked (CALLS_MAX_VERIFY_ATTEMPTS).')
@minValue(1)
@maxValue(10)
param callsMaxVerifyAttempts int = 3

@description('Client id of the LinkedIn app, Share on LinkedIn + Sign in with LinkedIn (LINKEDIN_CLIENT_ID). Empty: the LinkedIn routes answer 503 and its timers do nothing.')
param linkedinClientId string = ''

@description('Name of the Key Vault secret holding the LinkedIn app\'s client secret (LINKEDIN_CLIENT_SECRET); required with linkedinClientId. Put the secret in the vault first. Empty: not set.')
param linkedinClientSecretSecretName string = ''

@description('OAuth redirect URL registered in the LinkedIn app (LINKEDIN_REDIRECT_URI), https://<app host>/api/linkedin/callback; required with linkedinClientId. Empty: not set.')
param linkedinRedirectUri string = ''

@description('LinkedIn scopes asked for, space-separated (LINKEDIN_SCOPES). Only what the app has been granted: an extra scope fails the connection.')
param linkedinScopes string = 'openid profile w_member_social'

@description('LinkedIn-Version of every versioned call, YYYYMM (LINKEDIN_VERSION); LinkedIn serves each version about a year, then answers 426.')
@minLength(6)
@maxLength(6)
param linkedinVersion string = '202601'

@description('LinkedIn API host (LINKEDIN_API_URL).')
param linkedinApiUrl string = 'https://api.linkedin.com'

@description('LinkedIn OAuth host (LINKEDIN_AUTH_URL).')
param linkedinAuthUrl string = 'https://www.linkedin.com'

@description('Name of the Key Vault secret holding the key LinkedIn tokens are stored encrypted with (LINKEDIN_TOKEN_KEY): 32 bytes as base64 or hex, e.g. openssl rand -base64 32; required with linkedinClientId. Put the secret in the vault first. Empty: not set.')
param linkedinTokenKeySecretName string = ''

@description('IANA time zone of the LinkedIn queue slots and of times shown (LINKEDIN_TIMEZONE).')
param linkedinTimezone string = 'Europe/Paris'

@description('NCRONTAB schedule of the linkedinPublishDue timer (LINKEDIN_PUBLISH_SCHEDULE), six fields, UTC.')
param linkedinPublishSchedule string = '0 * * * * *'

@description('Timeout of each LinkedIn call in milliseconds (LINKEDIN_TIMEOUT_MS); a post create that times out becomes unconfirmed, never retried blindly.')
@minValue(1000)
@maxValue(120000)
param linkedinTimeoutMs int = 20000

@description('Who is emailed 7 days and 1 day before a LinkedIn account\'s token expires (LINKEDIN_NOTIFY_EMAIL). Empty: nobody.')
param linkedinNotifyEmail string = ''

@description('Organization page, urn:li:organization:<id> (LINKEDIN_ORG_URN): its comments reach the inbox by webhook (Community Management API). Empty: no organization page.')
param linkedinOrgUrn string = ''

@description('NCRONTAB schedule of the opsHealthTimer timer (OPS_HEALTH_SCHEDULE), six fields, UTC: it runs the health workflow and keeps its history.')
param opsHealthSchedule string = '0 */15 * * * *'

@description('Health score, 1 to 100, below which an alert email is sent (OPS_ALERT_THRESHOLD), then at most once per cooldown, and a "recovered" email when the score is back.')
@minValue(1)
@maxValue(100)
param opsAlertThreshold int = 75

@description('Who gets health alerts (OPS_ALERT_EMAIL). Empty: scores are kept and shown, no email is sent.')
param opsAlertEmail string = ''

@description('Least minutes between two alert emails while the app stays below the threshold (OPS_ALERT_COOLDOWN_MINUTES).')
@minValue(1)
@maxValue(10080)
param opsAlertCooldownMinutes int = 60

@description('Documents of a documents batch extracted and summarised at once (OPS_DOCUMENTS_CONCURRENCY).')
@minValue(1)
@maxValue(16)
param opsDocumentsConcurrency int = 3

@description('Largest document accepted, in bytes (OPS_DOCUMENT_MAX_BYTES); a larger one fails as too-large, the rest of its batch goes on.')
@minValue(1024)
@maxValue(104857600)
param opsDocumentMaxBytes int = 20971520

@description('Most pages read from a PDF (OPS_DOCUMENT_MAX_PAGES); a longer one fails as too-many-pages.')
@minValue(1)
@maxValue(5000)
param opsDocumentMaxPages int = 300

@description('Days after which the maintenance workflow removes working blobs: uploaded CSVs, dossier run plans, raw mails, run logs, dropped documents (OPS_RETENTION_DAYS).')
@minValue(1)
@maxValue(3650)
param opsRetentionDays int = 30

// App Service Authentication (Entra ID, "EasyAuth") in front of the app, for the ops console (modules/functionApp.bicep).
@description('Put App Service Authentication (Entra ID sign-in) in front of the app: the console and the routes need a signed-in user, and their function key as before; liveness, the webhooks and the voice agent\'s routes stay reachable without one (see modules/functionApp.bicep). Needs authClientId.')
param enableAppServiceAuth bool = false

@description('Application (client) id of the Entra app registration users sign in with; required with enableAppServiceAuth. Register https://<functionAppHostName>/.auth/login/aad/callback as its web redirect URI.')
param authClientId string = ''

@description('Entra tenant users sign in from. Default: the deployment\'s tenant.')
param authTenantId string = tenant().tenantId

// The voice agent (agent/): a LiveKit Agents worker in Container Apps. It shares the call centre's LiveKit settings
// (livekitUrl, livekitApiKey, livekitApiSecretSecretName, callsAgentName) and the Azure OpenAI deployment.
@description('Deploy the voice agent as a Container App (modules/agentApp.bicep). Push its image and put its secrets in the vault first.')
param deployAgent bool = false

@description('The agent image, e.g. <registry>.azurecr.io/insurance-agent:1, built from agent/Dockerfile. Required with deployAgent.')
param agentImage string = ''

@description('The registry server the image is pulled from with the managed identity, e.g. <registry>.azurecr.io. Required with deployAgent.')
param agentRegistryServer string = ''

@description('Name of an Azure Container Registry in this resource group on which the identity gets AcrPull. Empty: grant AcrPull on the registry yourself.')
param agentAcrName string = ''

@description('Name of the Key Vault secret holding the Function App key the agent calls its tools with (AGENT_TOOLS_KEY). Required with deployAgent.')
param agentToolsKeySecretName string = ''

@description('Language the agent speaks (AGENT_LANGUAGE).')
@allowed([
  'fr'
  'en'
])
param agentLanguage string = 'fr'

@description('The agent\'s LLM (AGENT_LLM): azure (the Azure OpenAI deployment, with the managed identity), openai (an OpenAI-compatible server) or google (Gemini).')
@allowed([
  'azure'
  'openai'
  'google'
])
param agentLlm string = 'azure'

@description('OpenAI-compatible API base URL for the agent (its OPENAI_BASE_URL), with agentLlm = openai. Empty: not set.')
param agentOpenAiBaseUrl string = ''

@description('OpenAI model for the agent (its OPENAI_MODEL), with agentLlm = openai. Empty: not set.')
param agentOpenAiModel string = ''

@description('Name of the Key Vault secret holding the agent\'s OpenAI API key (its OPENAI_API_KEY). Empty: not set.')
param agentOpenAiApiKeySecretName string = ''

@description('Gemini model (GEMINI_MODEL), with agentLlm = google. Empty: not set.')
param agentGeminiModel string = ''

@description('Name of the Key Vault secret holding the Google API key (GOOGLE_API_KEY), with agentLlm = google. Empty: not set.')
param agentGoogleApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Deepgram API key (DEEPGRAM_API_KEY): speech-to-text, and text-to-speech with agentTts = deepgram. Required with deployAgent.')
param deepgramApiKeySecretName string = ''

@description('The agent\'s text-to-speech provider (AGENT_TTS).')
@allowed([
  'deepgram'
  'elevenlabs'
  'cartesia'
])
param agentTts string = 'deepgram'

@description('Text-to-speech voice (AGENT_TTS_VOICE). Empty: the provider\'s default for the language.')
param agentTtsVoice string = ''

@description('Name of the Key Vault secret holding the ElevenLabs API key (ELEVEN_API_KEY), with agentTts = elevenlabs. Empty: not set.')
param elevenApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Cartesia API key (CARTESIA_API_KEY), with agentTts = cartesia. Empty: not set.')
param cartesiaApiKeySecretName string = ''

@description('CPU cores of each agent replica, as a string (e.g. 1.0); with agentMemory, a combination Container Apps offers.')
param agentCpu string = '1.0'

@description('Memory of each agent replica, e.g. 2Gi.')
param agentMemory string = '2Gi'

@description('Most agent replicas (at least one always runs).')
@minValue(1)
@maxValue(30)
param agentMaxReplicas int = 3

@description('Seconds a stopping agent replica has, after SIGTERM, for its calls in progress to finish.')
@minValue(30)
@maxValue(600)
param agentTerminationGracePeriodSeconds int = 600

// The Event Grid subscriptions need the app's blobs_extension and eventgrid_extension system keys, which exist only
// once the app code has been deployed and has started (see modules/blobEvents.bicep and modules/emailEvents.bicep).
@description('Create the Event Grid subscriptions that run the dossiersInbox blob trigger when a file lands in dossiers-inbox, the documentsInbox blob trigger when a file lands in documents-inbox, and the emailDeliveryReport function for each email delivery report. Keep false on the first deployment; after the first code deployment, deploy again with true, and keep it true.')
param deployEventSubscription bool = false

@description('Turn on Key Vault purge protection (irreversible; a deleted vault keeps its name for the retention period).')
param keyVaultEnablePurgeProtection bool = true

var suffix = uniqueString(resourceGroup().id)
var tags = {
  application: appName
}
// Storage account names allow 3 to 24 lowercase letters and digits only: 'st' + 9 + 13 (uniqueString).
var storageAccountName = 'st${take(toLower(replace(appName, '-', '')), 9)}${suffix}'
var deploymentContainerName = 'app-package'
// Key Vault names allow 3 to 24 letters, digits and hyphens: 'kv' + 9 + 13 (uniqueString).
var keyVaultName = 'kv${take(toLower(replace(appName, '-', '')), 9)}${suffix}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${appName}-${suffix}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-${appName}-${suffix}'
    appInsightsName: 'appi-${appName}-${suffix}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module ai 'modules/ai.bicep' = {
  name: 'ai'
  params: {
    name: 'oai-${appName}-${suffix}'
    location: location
    tags: tags
    capacity: aiDeploymentCapacity
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    enablePurgeProtection: keyVaultEnablePurgeProtection
    principalId: identity.outputs.principalId
  }
}

module email 'modules/email.bicep' = {
  name: 'email'
  params: {
    emailServiceName: 'ecs-${appName}-${suffix}'
    communicationServiceName: 'acs-${appName}-${suffix}'
    dataLocation: emailDataLocation
    tags: tags
    principalId: identity.outputs.principalId
  }
}

// Takes the storage, monitoring, ai, keyVault and email outputs, so it deploys after their role assignments exist.
module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    planName: 'plan-${appName}-${suffix}'
    name: 'func-${appName}-${suffix}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    durableTaskHub: durableTaskHub
    healthTimeoutMs: healthTimeoutMs
    maximumInstanceCount: maximumInstanceCount
    keyVaultName: keyVault.outputs.name
    azureOpenAiEndpoint: ai.outputs.endpoint
    azureOpenAiDeployment: ai.outputs.deploymentName
    azureOpenAiApiVersion: azureOpenAiApiVersion
    aiRpm: ai.outputs.rpm
    aiTpm: ai.outputs.tpm
    aiMaxConcurrency: aiMaxConcurrency
    aiTimeoutMs: aiTimeoutMs
    aiMaxRetries: aiMaxRetries
    aiCacheTtlHours: aiCacheTtlHours
    aiFallback: aiFallback
    aiPrices: aiPrices
    aiOutputBlocklist: aiOutputBlocklist
    openAiBaseUrl: openAiBaseUrl
    openAiModel: openAiModel
    anthropicModel: anthropicModel
    anthropicBaseUrl: anthropicBaseUrl
    openAiApiKeySecretName: openAiApiKeySecretName
    anthropicApiKeySecretName: anthropicApiKeySecretName
    dossiersTopK: dossiersTopK
    dossiersMinScore: dossiersMinScore
    dossiersLanguage: dossiersLanguage
    dossiersRegenerateUngrounded: dossiersRegenerateUngrounded
    dossiersConcurrency: dossiersConcurrency
    dossiersMaxUploadMb: dossiersMaxUploadMb
    dossiersTemplate: dossiersTemplate
    acsEmailEndpoint: email.outputs.endpoint
    emailSender: email.outputs.senderAddress
    emailSuppressDays: emailSuppressDays
    mailboxImapHost: mailboxImapHost
    mailboxImapPort: mailboxImapPort
    mailboxImapTls: mailboxImapTls
    mailboxUser: mailboxUser
    mailboxAuth: mailboxAuth
    mailboxPasswordSecretName: mailboxPasswordSecretName
    mailboxAddress: mailboxAddress
    mailboxFolder: mailboxFolder
    mailboxPollSchedule: mailboxPollSchedule
    mailboxReplyMode: mailboxReplyMode
    mailboxMinConfidence: mailboxMinConfidence
    mailboxSenderCooldownHours: mailboxSenderCooldownHours
    mailboxMaxRepliesPerHour: mailboxMaxRepliesPerHour
    mailboxMaxMessageBytes: mailboxMaxMessageBytes
    livekitUrl: livekitUrl
    livekitApiKey: livekitApiKey
    livekitApiSecretSecretName: livekitApiSecretSecretName
    callsAgentName: callsAgentName
    callsTokenTtlMinutes: callsTokenTtlMinutes
    callsSipTrunkId: callsSipTrunkId
    callsTransferTo: callsTransferTo
    callsMaxVerifyAttempts: callsMaxVerifyAttempts
    linkedinClientId: linkedinClientId
    linkedinClientSecretSecretName: linkedinClientSecretSecretName
    linkedinRedirectUri: linkedinRedirectUri
    linkedinScopes: linkedinScopes
    linkedinVersion: linkedinVersion
    linkedinApiUrl: linkedinApiUrl
    linkedinAuthUrl: linkedinAuthUrl
    linkedinTokenKeySecretName: linkedinTokenKeySecretName
    linkedinTimezone: linkedinTimezone
    linkedinPublishSchedule: linkedinPublishSchedule
    linkedinTimeoutMs: linkedinTimeoutMs
    linkedinNotifyEmail: linkedinNotifyEmail
    linkedinOrgUrn: linkedinOrgUrn
    opsHealthSchedule: opsHealthSchedule
    opsAlertThreshold: opsAlertThreshold
    opsAlertEmail: opsAlertEmail
    opsAlertCooldownMinutes: opsAlertCooldownMinutes
    opsDocumentsConcurrency: opsDocumentsConcurrency
    opsDocumentMaxBytes: opsDocumentMaxBytes
    opsDocumentMaxPages: opsDocumentMaxPages
    opsRetentionDays: opsRetentionDays
    enableAppServiceAuth: enableAppServiceAuth
    authClientId: authClientId
    authTenantId: authTenantId
  }
}

// Event Grid system topic of the storage account, and (deployEventSubscription) the subscriptions that deliver the
// dossiers-inbox and documents-inbox BlobCreated events to the app's blob extension webhook. Deploys after the
// function app.
module blobEvents 'modules/blobEvents.bicep' = {
  name: 'blobEvents'
  params: {
    systemTopicName: 'evgt-${appName}-${suffix}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    functionAppName: functionApp.outputs.name
    deployEventSubscription: deployEventSubscription
  }
}

// Event Grid system topic of the Communication Services resource, and (deployEventSubscription) the subscription that
// delivers its email delivery reports to the emailDeliveryReport function. Deploys after the function app.
module emailEvents 'modules/emailEvents.bicep' = {
  name: 'emailEvents'
  params: {
    systemTopicName: 'evgt-acs-${appName}-${suffix}'
    tags: tags
    communicationServiceName: email.outputs.communicationServiceName
    functionAppName: functionApp.outputs.name
    deployEventSubscription: deployEventSubscription
  }
}

// The voice agent. Takes the keyVault, ai and functionApp outputs, so it deploys after the identity's role
// assignments on the vault and Azure OpenAI exist, and calls the Function App's tools on its https URL.
module agentApp 'modules/agentApp.bicep' = if (deployAgent) {
  name: 'agentApp'
  params: {
    environmentName: 'cae-${appName}-${suffix}'
    name: 'ca-${appName}-agent'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    workspaceId: monitoring.outputs.workspaceId
    image: agentImage
    registryServer: agentRegistryServer
    acrName: agentAcrName
    keyVaultUri: keyVault.outputs.uri
    cpu: agentCpu
    memory: agentMemory
    maxReplicas: agentMaxReplicas
    terminationGracePeriodSeconds: agentTerminationGracePeriodSeconds
    toolsUrl: 'https://${functionApp.outputs.defaultHostname}'
    livekitUrl: livekitUrl
    livekitApiKey: livekitApiKey
    livekitApiSecretSecretName: livekitApiSecretSecretName
    agentName: callsAgentName
    toolsKeySecretName: agentToolsKeySecretName
    language: agentLanguage
    llm: agentLlm
    azureOpenAiEndpoint: ai.outputs.endpoint
    azureOpenAiDeployment: ai.outputs.deploymentName
    azureOpenAiApiVersion: azureOpenAiApiVersion
    openAiBaseUrl: agentOpenAiBaseUrl
    openAiModel: agentOpenAiModel
    openAiApiKeySecretName: agentOpenAiApiKeySecretName
    geminiModel: agentGeminiModel
    googleApiKeySecretName: agentGoogleApiKeySecretName
    deepgramApiKeySecretName: deepgramApiKeySecretName
    tts: agentTts
    ttsVoice: agentTtsVoice
    elevenApiKeySecretName: elevenApiKeySecretName
    cartesiaApiKeySecretName: cartesiaApiKeySecretName
  }
}

@description('Name of the function app.')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app.')
output functionAppHostName string = functionApp.outputs.defaultHostname

@description('Client id of the managed identity the app runs as.')
output identityClientId string = identity.outputs.clientId

@description('Principal id of the managed identity (to grant it AcrPull on a registry in another resource group).')
output identityPrincipalId string = identity.outputs.principalId

@description('Name of the Key Vault where operators put the secrets (API keys, mailbox password, LiveKit secret, agent keys, LinkedIn secrets).')
output keyVaultName string = keyVault.outputs.name

@description('Name of the Event Grid system topic of the storage account.')
output eventGridSystemTopicName string = blobEvents.outputs.systemTopicName

@description('Whether the dossiers-inbox and documents-inbox event subscriptions are deployed; false until a deployment with deployEventSubscription = true.')
output eventSubscriptionDeployed bool = blobEvents.outputs.eventSubscriptionDeployed

@description('The address outbound email is sent from (EMAIL_SENDER).')
output emailSender string = email.outputs.senderAddress

@description('Azure OpenAI endpoint the app calls.')
output azureOpenAiEndpoint string = ai.outputs.endpoint

@description('Name of the voice agent\'s container app; empty unless deployAgent.')
output agentAppName string = deployAgent ? agentApp.outputs.name : ''
