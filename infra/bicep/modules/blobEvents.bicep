// Event Grid delivery of blob events to the function app. On Flex Consumption the blob trigger has no polling
// mode: the EventGrid-sourced blob triggers run only when Event Grid posts a BlobCreated event of their container to
// the app's blob extension webhook,
//   https://<default host name>/runtime/webhooks/blobs?functionName=Host.Functions.<function>&code=<key>
// where <key> is the app's blobs_extension system key. Two triggers are served, one event subscription each:
//   dossiersInbox   (functions/triggers/dossiers.ts): BlobCreated in dossiers-inbox, a skills-dossier batch;
//   documentsInbox  (functions/triggers/ops.ts):      BlobCreated in documents-inbox, a documents batch.
// The system topic below publishes the storage account's events; each subscription filters them by container and
// calls its function's webhook.
//
// Order of deployment: the blobs_extension key exists only once the app has started with the blob extension
// loaded, that is after the first code deployment, and Event Grid validates each webhook when its subscription
// is created, which fails until the trigger is running. So the subscriptions deploy only when
// deployEventSubscription is true (false by default):
//   1. deploy the infrastructure with deployEventSubscription = false: the system topic, no subscription;
//   2. deploy the app code, and wait until the app lists its dossiersInbox and documentsInbox functions;
//   3. deploy the infrastructure again with deployEventSubscription = true, and keep it true afterwards.
// Until step 3, files dropped in dossiers-inbox or documents-inbox start nothing; batches can still be started over
// HTTP (POST /api/dossiers/batches, POST /api/ops/documents).

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
// blobs_extension key before the first code deployment: the key is read only when the subscriptions deploy (a
// conditional expression evaluates only the branch it takes).
var blobsExtensionKey = deployEventSubscription ? listKeys('${functionApp.id}/host/default', '2023-12-01').systemKeys.blobs_extension : ''

// Deploy only after the app code exists (see the order of deployment above).
resource dossiersInboxSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
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

// The same for the documents-inbox container and the documentsInbox trigger; created after the first one, as
// concurrent writes to the subscriptions of one topic can conflict.
resource documentsInboxSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: 'documents-inbox-blob-created'
  dependsOn: [
    dossiersInboxSubscription
  ]
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // The function name is the one registered in functions/triggers/ops.ts; tests/infra checks it.
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.documentsInbox&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // CONTAINERS.documentsInbox in functions/platform/storageNames.ts; tests/infra checks it.
      subjectBeginsWith: '/blobServices/default/containers/documents-inbox/'
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

@description('Whether the event subscriptions to the dossiersInbox and documentsInbox triggers were deployed.')
output eventSubscriptionDeployed bool = deployEventSubscription
