// Azure OpenAI for the suite's AI calls: one account with local (API key) authentication disabled and one
// gpt-4o-mini model deployment. The app calls it with its user-assigned managed identity, which holds
// Cognitive Services OpenAI User on the account; no key exists to store or rotate.

@description('Name of the Azure OpenAI (Cognitive Services) account.')
@minLength(2)
@maxLength(64)
param name string

@description('Globally unique subdomain of the account endpoint (https://<subdomain>.openai.azure.com/); Microsoft Entra ID authentication needs one.')
@minLength(2)
@maxLength(64)
param customSubDomainName string = name

@description('Azure region of the account. The model and the GlobalStandard deployment type must be offered there.')
param location string

@description('Tags applied to the account.')
param tags object = {}

@description('Name of the model deployment (AZURE_OPENAI_DEPLOYMENT).')
param deploymentName string = 'gpt-4o-mini'

@description('Capacity of the deployment in units of 1,000 tokens per minute; it draws on the subscription\'s regional GlobalStandard quota for gpt-4o-mini.')
@minValue(1)
param capacity int = 50

@description('Principal id of the managed identity allowed to call the deployment.')
param principalId string

// Built-in role definition: Cognitive Services OpenAI User (inference calls, no management or key access).
var openAiUserRoleId = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'

// The model is fixed here because the RPM-per-capacity ratio in the outputs below depends on it.
var model = {
  format: 'OpenAI'
  name: 'gpt-4o-mini'
  version: '2024-07-18'
}

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: customSubDomainName
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: model
    // Stay on the pinned version until it is retired, then move to the default one.
    versionUpgradeOption: 'OnceCurrentVersionExpired'
  }
}

resource openAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, openAiUserRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', openAiUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Endpoint of the account (AZURE_OPENAI_ENDPOINT).')
output endpoint string = account.properties.endpoint

@description('Name of the model deployment (AZURE_OPENAI_DEPLOYMENT).')
output deploymentName string = deployment.name

// The deployment's rate limits follow from its capacity. For gpt-4o-mini (like the other chat models before
// the o-series), one unit of capacity is 1,000 tokens per minute and 6 requests per minute; for example the
// default GlobalStandard quota of 2M TPM comes with 12K RPM. Other models use other ratios (o1-mini: 1 RPM per
// 10,000 TPM), so revisit these two outputs if the model above changes.
@description('Tokens per minute the deployment allows (AI_TPM): capacity × 1,000.')
output tpm int = capacity * 1000

@description('Requests per minute the deployment allows (AI_RPM): capacity × 6 for gpt-4o-mini.')
output rpm int = capacity * 6

@description('Resource id of the account.')
output id string = account.id
