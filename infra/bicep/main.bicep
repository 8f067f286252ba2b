// The automation suite in one resource group: a Flex Consumption function app (Node.js 22) running as a
// user-assigned managed identity, its host storage (no shared keys) and workspace-based Application Insights
// (Entra ID authentication only).
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

var suffix = uniqueString(resourceGroup().id)
var tags = {
  application: appName
}
// Storage account names allow 3 to 24 lowercase letters and digits only: 'st' + 9 + 13 (uniqueString).
var storageAccountName = 'st${take(toLower(replace(appName, '-', '')), 9)}${suffix}'
var deploymentContainerName = 'app-package'

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

// Takes the storage and monitoring outputs, so it deploys after their role assignments exist.
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
  }
}

@description('Name of the function app.')
output functionAppName string = functionApp.outputs.name

@description('Default host name of the function app.')
output functionAppHostName string = functionApp.outputs.defaultHostname

@description('Client id of the managed identity the app runs as.')
output identityClientId string = identity.outputs.clientId
