// The Key Vault holding the suite's secrets. Access is by Azure RBAC only: the managed identity holds Key Vault
// Secrets User and reads the secrets through Key Vault references, in the function app's settings
// (@Microsoft.KeyVault(VaultName=...;SecretName=...)) and in the voice agent's Container Apps secrets
// (keyVaultUrl + identity, see agentApp.bicep). A role assignment on the vault covers both.
//
// This template creates no secrets: a secret in a template is a secret in the deployment history. Operators
// put them in the vault themselves (with a role such as Key Vault Secrets Officer on the vault), e.g.
//   az keyvault secret set --vault-name <vault> --name <secret-name> --file <file-with-the-value>
// then pass each secret's name to the deployment (main.bicep parameter in brackets); each is optional:
//   function app:  OpenAI API key (openAiApiKeySecretName), Anthropic API key (anthropicApiKeySecretName),
//                  mailbox password (mailboxPasswordSecretName),
//                  LiveKit API secret (livekitApiSecretSecretName, also read by the voice agent),
//                  LinkedIn client secret (linkedinClientSecretSecretName) and the key LinkedIn tokens are
//                  stored encrypted with (linkedinTokenKeySecretName; openssl rand -base64 32);
//   voice agent:   a function key of the app for its tools (agentToolsKeySecretName), Deepgram API key
//                  (deepgramApiKeySecretName), and as the providers chosen need them: ElevenLabs
//                  (elevenApiKeySecretName), Cartesia (cartesiaApiKeySecretName), OpenAI-compatible server
//                  (agentOpenAiApiKeySecretName), Google Gemini (agentGoogleApiKeySecretName).

@description('Globally unique Key Vault name: 3 to 24 letters, digits and hyphens, starting with a letter.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Tags applied to the vault.')
param tags object = {}

@description('Days a deleted vault, or a deleted secret, can be recovered.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Forbid purging deleted secrets and the deleted vault before the retention ends. Once enabled it cannot be turned off, and a deleted vault keeps its name reserved until the retention ends.')
param enablePurgeProtection bool = true

@description('Principal id of the managed identity allowed to read secrets.')
param principalId string

// Built-in role definition: Key Vault Secrets User (read secret values; no list of keys or certificates).
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    // Ignored under RBAC authorization; an empty list satisfies API versions that expect the property.
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The service rejects false once purge protection is on, so leave the property out instead of sending false.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the vault, used in Key Vault references.')
output name string = vault.name

@description('URI of the vault.')
output uri string = vault.properties.vaultUri

@description('Resource id of the vault.')
output id string = vault.id
