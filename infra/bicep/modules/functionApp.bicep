// The Flex Consumption plan and the function app. On Flex Consumption the language runtime and its version
// are set in functionAppConfig.runtime; the FUNCTIONS_WORKER_RUNTIME and WEBSITE_NODE_DEFAULT_VERSION app settings
// are deprecated on this plan and not set here. Storage, telemetry and Azure OpenAI use the user-assigned
// identity, with no keys; the only keys (optional third-party AI providers, the mailbox password, the LiveKit API
// secret, the LinkedIn client secret and token key) stay in Key Vault and reach the app as Key Vault references.
// With enableAppServiceAuth, App Service Authentication (Entra ID) asks browsers to sign in (see authSettings).

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app (also its default host name prefix).')
param name string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object = {}

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Name of the host storage account (AzureWebJobsStorage).')
param storageAccountName string

@description('URL of the blob container holding the deployment package.')
param deploymentContainerUrl string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Durable Functions task hub name (DURABLE_TASK_HUB): 3 to 45 letters or digits, starting with a letter.')
@minLength(3)
@maxLength(45)
param durableTaskHub string

@description('Timeout of each health-check probe in milliseconds (HEALTH_TIMEOUT_MS).')
@minValue(100)
@maxValue(30000)
param healthTimeoutMs int

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Name of the Key Vault the Key Vault references point to.')
param keyVaultName string

@description('Azure OpenAI endpoint (AZURE_OPENAI_ENDPOINT).')
param azureOpenAiEndpoint string

@description('Azure OpenAI model deployment name (AZURE_OPENAI_DEPLOYMENT).')
param azureOpenAiDeployment string

@description('Azure OpenAI data-plane API version (AZURE_OPENAI_API_VERSION).')
param azureOpenAiApiVersion string = '2024-10-21'

@description('Requests per minute the app paces AI calls to (AI_RPM): the Azure OpenAI deployment\'s limit.')
@minValue(1)
param aiRpm int

@description('Tokens per minute the app paces AI calls to (AI_TPM): the Azure OpenAI deployment\'s limit.')
@minValue(1)
param aiTpm int

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

@description('Comma-separated providers tried after azure-openai fails (AI_FALLBACK): openai, anthropic or offline. Each needs its settings (an API key secret name, or OPENAI_BASE_URL for openai), or the app refuses to start. Empty: no fallback.')
param aiFallback string = ''

@description('JSON price table in USD per 1M tokens (AI_PRICES), e.g. {"gpt-4o-mini":{"input":0.15,"output":0.6}}. Empty: no cost estimates.')
param aiPrices string = ''

@description('Comma-separated phrases an AI output must not contain (AI_OUTPUT_BLOCKLIST). Empty: none.')
param aiOutputBlocklist string = ''

@description('OpenAI-compatible API base URL (OPENAI_BASE_URL). Empty: the app\'s default, https://api.openai.com/v1.')
param openAiBaseUrl string = ''

@description('OpenAI model (OPENAI_MODEL). Empty: the app\'s default.')
param openAiModel string = ''

@description('Anthropic model (ANTHROPIC_MODEL). Empty: the app\'s default.')
param anthropicModel string = ''

@description('Anthropic API base URL (ANTHROPIC_BASE_URL). Empty: the SDK\'s default.')
param anthropicBaseUrl string = ''

@description('Name of the Key Vault secret holding the OpenAI API key (OPENAI_API_KEY). Empty: the setting stays empty.')
param openAiApiKeySecretName string = ''

@description('Name of the Key Vault secret holding the Anthropic API key (ANTHROPIC_API_KEY). Empty: the setting stays empty.')
param anthropicApiKeySecretName string = ''

// Skills dossiers. A nullable parameter left out (null) deploys an empty setting, which the app reads as "not set".
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

// Outbound email through Azure Communication Services, with the app's identity.
@description('Endpoint of the Communication Services resource (ACS_EMAIL_ENDPOINT).')
param acsEmailEndpoint string

@description('The From address of outbound email (EMAIL_SENDER), of a domain linked to the Communication Services resource.')
param emailSender string

@description('Days a recipient whose mail bounced or was suppressed is not mailed again (EMAIL_SUPPRESS_DAYS).')
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

@description('Name of the Key Vault secret holding the LiveKit API secret (LIVEKIT_API_SECRET); required with livekitUrl. Empty: the setting stays empty.')
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

@description('Name of the Key Vault secret holding the LinkedIn app\'s client secret (LINKEDIN_CLIENT_SECRET); required with linkedinClientId. Empty: not set.')
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

@description('Name of the Key Vault secret holding the key LinkedIn tokens are stored encrypted with (LINKEDIN_TOKEN_KEY): 32 bytes as base64 or hex, e.g. openssl rand -base64 32; required with linkedinClientId. Empty: not set.')
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

@description('Put App Service Authentication (Entra ID sign-in, "EasyAuth") in front of the app: a browser without a session is sent to the Microsoft sign-in page. Needs authClientId.')
param enableAppServiceAuth bool = false

@description('Application (client) id of the Entra app registration users sign in with; required with enableAppServiceAuth. Its redirect URI: https://<app host>/.auth/login/aad/callback.')
param authClientId string = ''

@description('Entra tenant users sign in from (its issuer is https://login.microsoftonline.com/<tenant>/v2.0).')
param authTenantId string = tenant().tenantId

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Node.js version of the Functions runtime.')
param nodeVersion string = '22'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the default would be a system-assigned one).
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Identity-based host storage: replaces the AzureWebJobsStorage connection string.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccountName
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // Telemetry authenticated with the same identity (App Insights local auth is disabled).
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        {
          name: 'DURABLE_TASK_HUB'
          value: durableTaskHub
        }
        {
          name: 'HEALTH_TIMEOUT_MS'
          value: string(healthTimeoutMs)
        }
        // AI providers. An empty value means "not set" to the app; every setting it reads is listed here.
        {
          name: 'AI_PROVIDER'
          value: 'azure-openai'
        }
        {
          name: 'AZURE_OPENAI_ENDPOINT'
          value: azureOpenAiEndpoint
        }
        {
          name: 'AZURE_OPENAI_DEPLOYMENT'
          value: azureOpenAiDeployment
        }
        {
          name: 'AZURE_OPENAI_API_VERSION'
          value: azureOpenAiApiVersion
        }
        // Always empty: the app reaches Azure OpenAI with its managed identity (Cognitive Services OpenAI User),
        // and the account has local authentication disabled, so no API key exists.
        {
          name: 'AZURE_OPENAI_API_KEY'
          value: ''
        }
        {
          name: 'AI_RPM'
          value: string(aiRpm)
        }
        {
          name: 'AI_TPM'
          value: string(aiTpm)
        }
        {
          name: 'AI_MAX_CONCURRENCY'
          value: string(aiMaxConcurrency)
        }
        {
          name: 'AI_TIMEOUT_MS'
          value: string(aiTimeoutMs)
        }
        {
          name: 'AI_MAX_RETRIES'
          value: string(aiMaxRetries)
        }
        {
          name: 'AI_CACHE_TTL_HOURS'
          value: string(aiCacheTtlHours)
        }
        {
          name: 'AI_FALLBACK'
          value: aiFallback
        }
        {
          name: 'AI_PRICES'
          value: aiPrices
        }
        {
          name: 'AI_OUTPUT_BLOCKLIST'
          value: aiOutputBlocklist
        }
        {
          name: 'OPENAI_BASE_URL'
          value: openAiBaseUrl
        }
        {
          name: 'OPENAI_MODEL'
          value: openAiModel
        }
        {
          name: 'ANTHROPIC_MODEL'
          value: anthropicModel
        }
        {
          name: 'ANTHROPIC_BASE_URL'
          value: anthropicBaseUrl
        }
        // Skills dossiers.
        {
          name: 'DOSSIERS_TOP_K'
          value: dossiersTopK == null ? '' : string(dossiersTopK)
        }
        {
          name: 'DOSSIERS_MIN_SCORE'
          value: dossiersMinScore == null ? '' : string(dossiersMinScore)
        }
        {
          name: 'DOSSIERS_LANGUAGE'
          value: dossiersLanguage
        }
        {
          name: 'DOSSIERS_REGENERATE_UNGROUNDED'
          value: dossiersRegenerateUngrounded ? 'true' : 'false'
        }
        {
          name: 'DOSSIERS_CONCURRENCY'
          value: string(dossiersConcurrency)
        }
        {
          name: 'DOSSIERS_MAX_UPLOAD_MB'
          value: string(dossiersMaxUploadMb)
        }
        {
          name: 'DOSSIERS_TEMPLATE'
          value: dossiersTemplate
        }
        // Outbound email: ACS with the managed identity (Communication and Email Service Owner on the resource). The
        // connection string and the SMTP settings stay empty (not set): they are the alternatives for running elsewhere.
        {
          name: 'EMAIL_PROVIDER'
          value: 'acs'
        }
        {
          name: 'EMAIL_SENDER'
          value: emailSender
        }
        {
          name: 'ACS_EMAIL_ENDPOINT'
          value: acsEmailEndpoint
        }
        {
          name: 'ACS_EMAIL_CONNECTION_STRING'
          value: ''
        }
        {
          name: 'SMTP_HOST'
          value: ''
        }
        {
          name: 'SMTP_PORT'
          value: ''
        }
        {
          name: 'SMTP_SECURE'
          value: ''
        }
        {
          name: 'SMTP_USER'
          value: ''
        }
        {
          name: 'SMTP_PASSWORD'
          value: ''
        }
        {
          name: 'EMAIL_SUPPRESS_DAYS'
          value: string(emailSuppressDays)
        }
        // Mailbox responder: off while MAILBOX_IMAP_HOST is empty.
        {
          name: 'MAILBOX_IMAP_HOST'
          value: mailboxImapHost
        }
        {
          name: 'MAILBOX_IMAP_PORT'
          value: string(mailboxImapPort)
        }
        {
          name: 'MAILBOX_IMAP_TLS'
          value: mailboxImapTls ? 'true' : 'false'
        }
        {
          name: 'MAILBOX_USER'
          value: mailboxUser
        }
        {
          name: 'MAILBOX_AUTH'
          value: mailboxAuth
        }
        {
          name: 'MAILBOX_PASSWORD'
          value: empty(mailboxPasswordSecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${mailboxPasswordSecretName})'
        }
        {
          name: 'MAILBOX_ADDRESS'
          value: mailboxAddress
        }
        {
          name: 'MAILBOX_FOLDER'
          value: mailboxFolder
        }
        {
          name: 'MAILBOX_POLL_SCHEDULE'
          value: mailboxPollSchedule
        }
        {
          name: 'MAILBOX_REPLY_MODE'
          value: mailboxReplyMode
        }
        {
          name: 'MAILBOX_MIN_CONFIDENCE'
          value: mailboxMinConfidence
        }
        {
          name: 'MAILBOX_SENDER_COOLDOWN_HOURS'
          value: string(mailboxSenderCooldownHours)
        }
        {
          name: 'MAILBOX_MAX_REPLIES_PER_HOUR'
          value: string(mailboxMaxRepliesPerHour)
        }
        {
          name: 'MAILBOX_MAX_MESSAGE_BYTES'
          value: string(mailboxMaxMessageBytes)
        }
        // Call centre: token, outbound and transfer routes answer 503 while LIVEKIT_URL is empty.
        {
          name: 'LIVEKIT_URL'
          value: livekitUrl
        }
        {
          name: 'LIVEKIT_API_KEY'
          value: livekitApiKey
        }
        {
          name: 'LIVEKIT_API_SECRET'
          value: empty(livekitApiSecretSecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${livekitApiSecretSecretName})'
        }
        {
          name: 'CALLS_AGENT_NAME'
          value: callsAgentName
        }
        {
          name: 'CALLS_TOKEN_TTL_MINUTES'
          value: string(callsTokenTtlMinutes)
        }
        {
          name: 'CALLS_SIP_TRUNK_ID'
          value: callsSipTrunkId
        }
        {
          name: 'CALLS_TRANSFER_TO'
          value: callsTransferTo
        }
        {
          name: 'CALLS_MAX_VERIFY_ATTEMPTS'
          value: string(callsMaxVerifyAttempts)
        }
        // LinkedIn: routes answer 503 and the timers do nothing while LINKEDIN_CLIENT_ID is empty.
        {
          name: 'LINKEDIN_CLIENT_ID'
          value: linkedinClientId
        }
        {
          name: 'LINKEDIN_CLIENT_SECRET'
          value: empty(linkedinClientSecretSecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${linkedinClientSecretSecretName})'
        }
        {
          name: 'LINKEDIN_REDIRECT_URI'
          value: linkedinRedirectUri
        }
        {
          name: 'LINKEDIN_SCOPES'
          value: linkedinScopes
        }
        {
          name: 'LINKEDIN_VERSION'
          value: linkedinVersion
        }
        {
          name: 'LINKEDIN_API_URL'
          value: linkedinApiUrl
        }
        {
          name: 'LINKEDIN_AUTH_URL'
          value: linkedinAuthUrl
        }
        {
          name: 'LINKEDIN_TOKEN_KEY'
          value: empty(linkedinTokenKeySecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${linkedinTokenKeySecretName})'
        }
        {
          name: 'LINKEDIN_TIMEZONE'
          value: linkedinTimezone
        }
        {
          name: 'LINKEDIN_PUBLISH_SCHEDULE'
          value: linkedinPublishSchedule
        }
        {
          name: 'LINKEDIN_TIMEOUT_MS'
          value: string(linkedinTimeoutMs)
        }
        {
          name: 'LINKEDIN_NOTIFY_EMAIL'
          value: linkedinNotifyEmail
        }
        {
          name: 'LINKEDIN_ORG_URN'
          value: linkedinOrgUrn
        }
        // Ops console: the health timer and its alerts, the documents workflow, the maintenance workflow's retention.
        {
          name: 'OPS_HEALTH_SCHEDULE'
          value: opsHealthSchedule
        }
        {
          name: 'OPS_ALERT_THRESHOLD'
          value: string(opsAlertThreshold)
        }
        {
          name: 'OPS_ALERT_EMAIL'
          value: opsAlertEmail
        }
        {
          name: 'OPS_ALERT_COOLDOWN_MINUTES'
          value: string(opsAlertCooldownMinutes)
        }
        {
          name: 'OPS_DOCUMENTS_CONCURRENCY'
          value: string(opsDocumentsConcurrency)
        }
        {
          name: 'OPS_DOCUMENT_MAX_BYTES'
          value: string(opsDocumentMaxBytes)
        }
        {
          name: 'OPS_DOCUMENT_MAX_PAGES'
          value: string(opsDocumentMaxPages)
        }
        {
          name: 'OPS_RETENTION_DAYS'
          value: string(opsRetentionDays)
        }
        // Third-party keys: a Key Vault reference when a secret name is given, else empty (not set).
        {
          name: 'OPENAI_API_KEY'
          value: empty(openAiApiKeySecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${openAiApiKeySecretName})'
        }
        {
          name: 'ANTHROPIC_API_KEY'
          value: empty(anthropicApiKeySecretName) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${anthropicApiKeySecretName})'
        }
      ]
    }
  }
}

// Paths App Service Authentication lets through without a sign-in. Each keeps its own check: a signature, a one-time
// state, a function key or a system key.
var anonymousPaths = [
  // Liveness: uptime checks and load balancers call it with no identity (functions/triggers/ops.ts).
  '/api/health'
  // The call centre's machine callers (functions/triggers/calls.ts): LiveKit's webhook (signed body), and the voice
  // agent's token, tools and report routes (function key). The other calls routes still need their function key.
  '/api/calls/*'
  // LinkedIn sends the member's browser back with a one-time state; its organization webhook is signed
  // (functions/triggers/linkedin.ts).
  '/api/linkedin/callback'
  '/api/linkedin/webhook'
  // Event Grid's deliveries of blob drops and email delivery reports (modules/blobEvents.bicep,
  // modules/emailEvents.bicep), authenticated by the extensions' system keys.
  '/runtime/webhooks/blobs'
  '/runtime/webhooks/eventgrid'
  // The Durable HTTP API (system key), which the ops routes call on the app's own public host name
  // (functions/platform/durable.ts).
  '/runtime/webhooks/durabletask/*'
]

// App Service Authentication with Entra ID, for the ops console (/api/console): it runs in front of the Functions
// host and adds a sign-in, it replaces nothing. Function keys still apply on top: a signed-in user still needs the
// function key for every route with authLevel 'function' (the console asks for it once), and a caller with the key but
// no session is sent to sign in, except on the paths above.
resource authSettings 'Microsoft.Web/sites/config@2023-12-01' = if (enableAppServiceAuth) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      // A browser is sent to the sign-in page rather than shown a bare 401.
      unauthenticatedClientAction: 'RedirectToLoginPage'
      excludedPaths: anonymousPaths
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: 'https://login.microsoftonline.com/${authTenantId}/v2.0'
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

@description('Name of the function app.')
output name string = functionApp.name

@description('Default host name of the function app.')
output defaultHostname string = functionApp.properties.defaultHostName
