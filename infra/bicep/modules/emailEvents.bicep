// Event Grid delivery of the email delivery reports to the function app. ACS publishes one
// Microsoft.Communication.EmailDeliveryReportReceived event per mail when it reaches a final state (Delivered,
// Bounced, Suppressed, …); the emailDeliveryReport function (functions/triggers/email.ts) records it and stops
// mailing a recipient that bounced. The event subscription calls the app's Event Grid extension webhook,
//   https://<default host name>/runtime/webhooks/eventgrid?functionName=emailDeliveryReport&code=<key>
// where <key> is the app's eventgrid_extension system key.
//
// Order of deployment, as for the blob events (modules/blobEvents.bicep): the eventgrid_extension key exists only once
// the app has started with the code deployed, and Event Grid validates the webhook when the subscription is created.
// So the subscription deploys only when deployEventSubscription is true (false on the first deployment). Until then
// mail is sent and recorded as sent, but no delivery report reaches the app and no recipient is suppressed.

@description('Name of the Event Grid system topic of the Communication Services resource.')
param systemTopicName string

@description('Tags applied to the system topic.')
param tags object = {}

@description('Name of the Communication Services resource whose events are delivered.')
param communicationServiceName string

@description('Name of the function app that receives them.')
param functionAppName string

@description('Create the event subscription. Leave false until the app code is deployed and running (the eventgrid_extension key and the webhook exist only then), then deploy again with true.')
param deployEventSubscription bool = false

@description('Delivery attempts of an event before Event Grid drops it.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps trying to deliver an event.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationServiceName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// Communication Services resources are global, and so is their system topic.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  properties: {
    source: communicationService.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

// Read only when the subscription deploys: before the first code deployment the key does not exist (a conditional
// expression evaluates only the branch it takes).
var eventGridExtensionKey = deployEventSubscription ? listKeys('${functionApp.id}/host/default', '2023-12-01').systemKeys.eventgrid_extension : ''

resource deliveryReports 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: 'email-delivery-reports'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The function name is the one registered in functions/triggers/email.ts.
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/eventgrid?functionName=emailDeliveryReport&code=${eventGridExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Communication.EmailDeliveryReportReceived'
      ]
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
}

@description('Name of the Event Grid system topic of the Communication Services resource.')
output systemTopicName string = systemTopic.name

@description('Whether the delivery report subscription was deployed.')
output eventSubscriptionDeployed bool = deployEventSubscription
