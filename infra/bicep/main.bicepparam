using 'main.bicep'

// Sample values; location defaults to the resource group's region.
param appName = 'autosuite'
param durableTaskHub = 'automationsuite'
param healthTimeoutMs = 3000
param maximumInstanceCount = 40
