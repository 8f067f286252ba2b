// Outbound email: an Email Communication Service with an Azure-managed domain (<guid>.azurecomm.net, verified by
// Azure, no DNS to set up), and a Communication Services resource linked to that domain, which the app calls with its
// user-assigned identity (no access key in the app settings). To send from the school's own domain instead, add a
// customer-managed domain to the email service, verify its DNS records, link it here and change EMAIL_SENDER.

@description('Name of the Email Communication Service.')
param emailServiceName string

@description('Name of the Communication Services resource the app sends through.')
param communicationServiceName string

@description('Where the services keep their data at rest: Africa, Asia Pacific, Australia, Brazil, Canada, Europe, France, Germany, India, Japan, Korea, Norway, Switzerland, UAE, UK or United States.')
param dataLocation string = 'Europe'

@description('Tags applied to the resources.')
param tags object = {}

@description('Principal id of the managed identity allowed to send.')
param principalId string

// Built-in role definition: Communication and Email Service Owner. It carries the actions sending with a Microsoft
// Entra token needs (Microsoft.Communication/CommunicationServices/Read and /Write, EmailServices/write); a custom
// role with just those three would be narrower.
var emailSenderRoleId = '09976791-48a7-449e-bb21-39d1a415f350'

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

// An Azure-managed domain must be named AzureManagedDomain.
resource managedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    // Replies and alerts are transactional: no tracking pixels or rewritten links.
    userEngagementTracking: 'Disabled'
  }
}

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: [
      managedDomain.id
    ]
  }
}

resource emailSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communicationService.id, principalId, emailSenderRoleId)
  scope: communicationService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', emailSenderRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Endpoint of the Communication Services resource (ACS_EMAIL_ENDPOINT).')
output endpoint string = 'https://${communicationService.properties.hostName}'

@description('The From address (EMAIL_SENDER): the managed domain\'s default DoNotReply sender.')
output senderAddress string = 'DoNotReply@${managedDomain.properties.mailFromSenderDomain}'

@description('Name of the Communication Services resource (the source of the delivery report events).')
output communicationServiceName string = communicationService.name
