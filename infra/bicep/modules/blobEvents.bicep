// Event Grid delivery of blob events to the function app. On Flex Consumption the blob trigger has no polling
// mode: the dossiersInbox trigger (functions/triggers/dossiers.ts, source: 'EventGrid') runs only when Event Grid
// posts a BlobCreated event of the dossiers-inbox container to the app's blob extension webhook,
//   https://<default host name>/runtime/webhooks/blobs?functionName=Host.Functions.dossiersInbox&code=<key>
// where <key> is the app's blobs_extension system key. The system topic below publishes the storage account's
// events; the event subscription filters them and calls that webhook.
//
// Order of deployment: the blobs_extension key exists only once the app has started with the blob extension
// loaded, that is after the first code deployment, and Event Grid validates the webhook when the subscription
// is created, which fails until the trigger is running. So the subscription deploys only when
// deployEventSubscription is true (false by default):
//   1. deploy the infrastructure with deployEventSubscription = false: the system topic, no subscription;
//   2. deploy the app code, and wait until the app lists its dossiersInbox function;
//   3. deploy the infrastructure again with deployEventSubscription = true, and keep it true afterwards.
// Until step 3, files dropped in dossiers-inbox start nothing; batches can still be started over HTTP.

@description('Name of the Event Grid system topic of the storage account.')
param systemTopicName string

@description('Azure region of the storage account: a system topic lives in the region of its source.')
param location string

@description('Tags applied to the system topic.')
param tags object = {}

@description('Name of the storage account whose blob events are delivered.')
param storageAccountName string

@description('Name of the function app that receives them.')
param functionAppName string

@description('Create the event subscription. Leave false until the app code is deployed and running (the blobs_extension key and the webhook exist only then), then deploy again with true.')
param deployEventSubscription bool = false

@description('Delivery attempts of an event before Event Grid drops it.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps trying to deliver an event.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

// A storage account has at most one system topic.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storageAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// ARM may evaluate the list*() functions of a resource whose condition is false, and listKeys returns no
// blobs_extension key before the first code deployment: the key is read only when the subscription deploys (a
// conditional expression evaluates only the branch it takes).
var blobsExtensionKey = deployEventSubscription ? listKeys('${functionApp.id}/host/default', '2023-12-01').systemKeys.blobs_extension : ''

// Deploy only after the app code exists (see the order of deployment above).
resource inboxSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: 'dossiers-inbox-blob-created'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The function name is the one registered in functions/triggers/dossiers.ts; tests/infra checks it.
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.dossiersInbox&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // CONTAINERS.dossiersInbox in functions/platform/storageNames.ts; tests/infra checks it.
      subjectBeginsWith: '/blobServices/default/containers/dossiers-inbox/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
}

@description('Name of the Event Grid system topic.')
output systemTopicName string = systemTopic.name

@description('Whether the event subscription to the dossiersInbox trigger was deployed.')
output eventSubscriptionDeployed bool = deployEventSubscription
