using 'main.bicep'

// Sample values; location defaults to the resource group's region.
param appName = 'autosuite'
param durableTaskHub = 'automationsuite'
param healthTimeoutMs = 3000
param maximumInstanceCount = 40

// Azure OpenAI: 50 × 1,000 TPM (gpt-4o-mini GlobalStandard), so AI_TPM = 50000 and AI_RPM = 300.
param aiDeploymentCapacity = 50
param azureOpenAiApiVersion = '2024-10-21'
param aiMaxConcurrency = 8
param aiTimeoutMs = 60000
param aiMaxRetries = 3
param aiCacheTtlHours = 168
// No fallback provider, price table or output blocklist by default. To fall back to Anthropic, put its key in
// the vault (output keyVaultName), then set e.g. aiFallback = 'anthropic' and anthropicApiKeySecretName = 'anthropic-api-key'.
param aiFallback = ''
param aiPrices = ''
param aiOutputBlocklist = ''
param openAiBaseUrl = ''
param openAiModel = ''
param anthropicModel = ''
param anthropicBaseUrl = ''
param openAiApiKeySecretName = ''
param anthropicApiKeySecretName = ''
param keyVaultEnablePurgeProtection = true
// Skills dossiers. null leaves DOSSIERS_TOP_K / DOSSIERS_MIN_SCORE empty: every consultant, no minimum score.
param dossiersTopK = null
param dossiersMinScore = null
param dossiersLanguage = 'fr'
param dossiersRegenerateUngrounded = false
param dossiersConcurrency = 16
param dossiersMaxUploadMb = 20
param dossiersTemplate = ''
// Outbound email (ACS Email, Azure-managed domain): data at rest in Europe; a bounced recipient rests 30 days.
param emailDataLocation = 'Europe'
param emailSuppressDays = 30
// Mailbox responder: off while mailboxImapHost is empty. For Microsoft 365: mailboxImapHost =
// 'outlook.office365.com', mailboxAuth = 'entra' (give the app identity access to the mailbox in Exchange Online).
// With mailboxAuth = 'password', put the password in the vault and name its secret in mailboxPasswordSecretName.
param mailboxImapHost = ''
param mailboxImapPort = 993
param mailboxImapTls = true
param mailboxUser = ''
param mailboxAuth = 'password'
param mailboxPasswordSecretName = ''
param mailboxAddress = ''
param mailboxFolder = 'INBOX'
param mailboxPollSchedule = '0 */2 * * * *'
param mailboxReplyMode = 'send'
param mailboxMinConfidence = '0.7'
param mailboxSenderCooldownHours = 24
param mailboxMaxRepliesPerHour = 100
param mailboxMaxMessageBytes = 1048576
// Call centre: off while livekitUrl is empty. With LiveKit Cloud: livekitUrl = 'wss://<project>.livekit.cloud',
// livekitApiKey = 'API…', and the API secret put in the vault, its secret name in livekitApiSecretSecretName.
param livekitUrl = ''
param livekitApiKey = ''
param livekitApiSecretSecretName = ''
param callsAgentName = 'insurance-agent'
param callsTokenTtlMinutes = 15
param callsSipTrunkId = ''
param callsTransferTo = ''
param callsMaxVerifyAttempts = 3
// LinkedIn: off while linkedinClientId is empty. Create a LinkedIn app (products Share on LinkedIn and Sign in with
// LinkedIn), register https://<functionAppHostName>/api/linkedin/callback as its redirect URL, put its client secret
// and a token key (openssl rand -base64 32) in the vault, and name those secrets in linkedinClientSecretSecretName
// and linkedinTokenKeySecretName.
param linkedinClientId = ''
param linkedinClientSecretSecretName = ''
param linkedinRedirectUri = ''
param linkedinScopes = 'openid profile w_member_social'
param linkedinVersion = '202601'
param linkedinApiUrl = 'https://api.linkedin.com'
param linkedinAuthUrl = 'https://www.linkedin.com'
param linkedinTokenKeySecretName = ''
param linkedinTimezone = 'Europe/Paris'
param linkedinPublishSchedule = '0 * * * * *'
param linkedinTimeoutMs = 20000
param linkedinNotifyEmail = ''
param linkedinOrgUrn = ''
// Ops console: the health workflow runs every 15 minutes; name opsAlertEmail to be mailed when the score drops below
// opsAlertThreshold (and when it recovers).
param opsHealthSchedule = '0 */15 * * * *'
param opsAlertThreshold = 75
param opsAlertEmail = ''
param opsAlertCooldownMinutes = 60
param opsDocumentsConcurrency = 3
param opsDocumentMaxBytes = 20971520
param opsDocumentMaxPages = 300
param opsRetentionDays = 30
// App Service Authentication (Entra ID) for the console: off by default. To turn it on, register an app in Entra ID
// with the web redirect URI https://<functionAppHostName>/.auth/login/aad/callback and ID tokens enabled, then set
// enableAppServiceAuth = true and authClientId = '<its application (client) id>'. authTenantId defaults to the
// deployment's tenant.
param enableAppServiceAuth = false
param authClientId = ''
// Voice agent (agent/): off until deployAgent = true. It uses the LiveKit settings above and the Azure OpenAI
// deployment. Before deploying it: push the image (az acr build --registry <registry> --image insurance-agent:1 agent),
// put its secrets in the vault (a function key of the app as agentToolsKeySecretName, the Deepgram key, and the
// LiveKit API secret), and set agentImage = '<registry>.azurecr.io/insurance-agent:1',
// agentRegistryServer = '<registry>.azurecr.io', agentAcrName = '<registry>' (a registry in this resource group;
// else grant the identity AcrPull yourself), agentToolsKeySecretName = 'agent-tools-key',
// deepgramApiKeySecretName = 'deepgram-api-key'.
param deployAgent = false
param agentImage = ''
param agentRegistryServer = ''
param agentAcrName = ''
param agentToolsKeySecretName = ''
param agentLanguage = 'fr'
param agentLlm = 'azure'
param agentOpenAiBaseUrl = ''
param agentOpenAiModel = ''
param agentOpenAiApiKeySecretName = ''
param agentGeminiModel = ''
param agentGoogleApiKeySecretName = ''
param deepgramApiKeySecretName = ''
param agentTts = 'deepgram'
param agentTtsVoice = ''
param elevenApiKeySecretName = ''
param cartesiaApiKeySecretName = ''
param agentCpu = '1.0'
param agentMemory = '2Gi'
param agentMaxReplicas = 3
param agentTerminationGracePeriodSeconds = 600
// Event Grid delivery to the dossiersInbox and documentsInbox blob triggers and the emailDeliveryReport function. Keep
// false on the first deployment: the subscriptions need the app's blobs_extension and eventgrid_extension keys, which
// exist only after the first code deployment. Then set true, deploy again, and keep it true.
param deployEventSubscription = false
